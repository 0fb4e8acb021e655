"""The offline causal preset: a data-trained tokenizer with the project's chat template and a
small random decoder in Llama or Qwen2 layout that saves, reloads and learns."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, Qwen2Config

from summarizer.causal.collator import CausalLMCollator
from summarizer.causal.features import build_causal_dataset
from summarizer.causal.prompt import prompt_format
from summarizer.causal.prompt_config import PromptConfig
from summarizer.causal.tiny import TINY_CHAT_TEMPLATE, from_config
from tests.causal_like import tiny_tokenizer

LAYOUTS = {
    "llama": LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=512, tie_word_embeddings=True),
    "qwen2": Qwen2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=512, tie_word_embeddings=True),
}


@pytest.fixture(scope="module")
def tokenizer(frame):
    return tiny_tokenizer(frame)


def test_the_saved_tokenizer_keeps_its_template_and_round_trips(tokenizer, frame, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded.chat_template == TINY_CHAT_TEMPLATE
    prompt = prompt_format(loaded, PromptConfig())
    assert prompt == prompt_format(tokenizer, PromptConfig())
    dialogue = frame["dialogue"].iloc[3]
    ids = loaded(prompt.prompt(dialogue), add_special_tokens=False)["input_ids"]
    assert loaded.decode(ids, skip_special_tokens=True) == "다음 대화를 요약하세요.\n\n" + dialogue


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_random_decoder_matches_the_tokenizer_and_reloads(layout, tokenizer, tmp_path):
    torch.manual_seed(0)
    model = from_config(LAYOUTS[layout].__class__(**LAYOUTS[layout].to_dict()), tokenizer).eval()
    assert model.config.vocab_size == len(tokenizer)
    assert (model.config.pad_token_id, model.config.eos_token_id) == (
        tokenizer.pad_token_id, tokenizer.eos_token_id)
    model.save_pretrained(tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    ids = torch.tensor([[tokenizer.bos_token_id, 10, 11, 12]])
    with torch.no_grad():
        assert torch.equal(model(ids).logits, reloaded(ids).logits)


def test_a_few_steps_lower_the_loss(tokenizer, frame):
    torch.manual_seed(0)
    model = from_config(Qwen2Config(**LAYOUTS["qwen2"].to_dict()), tokenizer)
    prompt = prompt_format(tokenizer, PromptConfig())
    rows = list(build_causal_dataset(frame.head(8), tokenizer, prompt, "dialogue", "summary",
                                     512, 64))
    batch = CausalLMCollator(tokenizer, with_prompts=False)(rows)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(8):
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]
