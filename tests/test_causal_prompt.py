"""The prompt around a dialogue, for chat templates, plain templates and templates that refuse."""

from __future__ import annotations

import pytest
from tokenizers.processors import TemplateProcessing

from summarizer.causal.prompt import prompt_format
from summarizer.causal.prompt_config import DEFAULT_PLAIN_TEMPLATE, PromptConfig
from summarizer.errors import SummarizerError
from tests.causal_like import qwen_like_tokenizer, tiny_tokenizer

# Qwen3-style: an answer starts with an empty reasoning block when thinking is off.
THINKING_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['role'] == 'assistant' -%}{{- '<think>\\n\\n</think>\\n\\n' -}}{%- endif -%}"
    "{{- message['content'] + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
)
NO_SYSTEM_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' -%}{{ raise_exception('System role not supported') }}"
    "{%- endif -%}"
    "{%- for message in messages -%}<{{ message['role'] }}>{{ message['content'] }}</s>"
    "{%- endfor -%}"
)


@pytest.fixture
def qwen(frame):
    return qwen_like_tokenizer(frame)


def test_tiny_template_uses_the_control_tokens(frame):
    prompt = prompt_format(tiny_tokenizer(frame), PromptConfig(system="요약 도우미"))
    assert prompt.head == "<sys>요약 도우미</s><usr>다음 대화를 요약하세요.\n\n"
    assert prompt.tail == "</s><s>"
    assert prompt.prompt("#Person1#: 네.") == prompt.head + "#Person1#: 네." + prompt.tail


def test_chatml_closes_with_im_end_and_stops_on_it(qwen):
    prompt = prompt_format(qwen, PromptConfig(instruction="요약:", user_template="{dialogue}\n\n"
                                              "{instruction}"))
    assert prompt.head.endswith("<|im_start|>user\n")
    assert prompt.tail == "\n\n요약:<|im_end|>\n<|im_start|>assistant\n"
    assert prompt.closing_ids == prompt.stop_ids == (qwen.convert_tokens_to_ids("<|im_end|>"),)


def test_eos_is_added_when_the_template_closes_with_another_token(qwen):
    qwen.eos_token = "<|endoftext|>"
    prompt = prompt_format(qwen, PromptConfig())
    im_end, eos = qwen.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    assert prompt.closing_ids == (im_end, eos)
    assert set(prompt.stop_ids) == {im_end, eos}


def test_the_start_of_an_answer_belongs_to_the_prompt(qwen):
    qwen.chat_template = THINKING_TEMPLATE
    prompt = prompt_format(qwen, PromptConfig())
    assert prompt.tail == "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"


def test_plain_template_without_a_chat_template(qwen):
    qwen.chat_template = None
    prompt = prompt_format(qwen, PromptConfig())
    head, tail = DEFAULT_PLAIN_TEMPLATE.replace("{instruction}", "다음 대화를 요약하세요.").split(
        "{dialogue}")
    assert (prompt.head, prompt.tail) == (head, tail)
    assert prompt.closing_ids == (qwen.eos_token_id,)


def test_a_plain_template_overrides_the_chat_template_and_keeps_braces(qwen):
    prompt = prompt_format(qwen, PromptConfig(template='{"task": "{instruction}"}\n{dialogue}\n=>'))
    assert prompt.head == '{"task": "다음 대화를 요약하세요."}\n'
    assert prompt.tail == "\n=>"


def test_bos_starts_a_plain_prompt_only_when_the_tokenizer_adds_it(frame):
    tokenizer = qwen_like_tokenizer(frame)
    tokenizer.chat_template = None
    tokenizer.bos_token = "<|endoftext|>"
    assert prompt_format(tokenizer, PromptConfig()).head.startswith("###")
    tokenizer._tokenizer.post_processor = TemplateProcessing(
        single="<|endoftext|> $A", special_tokens=[("<|endoftext|>", tokenizer.bos_token_id)])
    assert prompt_format(tokenizer, PromptConfig()).head.startswith("<|endoftext|>###")


@pytest.mark.parametrize("config, key", [
    (PromptConfig(template="{instruction} only"), "prompt.template"),
    (PromptConfig(user_template="{instruction}"), "prompt.user_template"),
])
def test_a_template_without_the_dialogue_is_refused(qwen, config, key):
    with pytest.raises(SummarizerError, match=key):
        prompt_format(qwen, config)


def test_a_template_refusing_the_system_turn_names_the_fix(qwen):
    qwen.chat_template = NO_SYSTEM_TEMPLATE
    with pytest.raises(SummarizerError, match="prompt.system=null"):
        prompt_format(qwen, PromptConfig(system="도우미"))
    assert prompt_format(qwen, PromptConfig()).tail == "</s><assistant>"


def test_a_tokenizer_without_eos_is_refused(qwen):
    qwen.eos_token = None
    with pytest.raises(SummarizerError, match="no EOS token"):
        prompt_format(qwen, PromptConfig())
