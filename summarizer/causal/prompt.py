"""The text around a dialogue: found once per tokenizer by rendering its template with marks.

Rendering a template with a mark where the dialogue and the summary go gives the exact text
before the dialogue (`head`), between dialogue and summary (`tail`) and after the summary
(`closing`) for any chat template, without knowing its markup. The dialogue is then cut in
tokens between `head` and `tail` (`summarizer.causal.features`), and generation starts from
`head + dialogue + tail`: exactly what preceded the summary in training, including what a
template puts at the start of an answer (Qwen3's empty `<think>` block).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from jinja2 import TemplateError
from transformers import PreTrainedTokenizerBase

from summarizer.causal.prompt_config import DEFAULT_PLAIN_TEMPLATE, PromptConfig
from summarizer.errors import SummarizerError

log = logging.getLogger(__name__)

# Invisible separators around a word: text no dialogue or summary contains, which no template
# changes (templates may trim a message's outer whitespace, never its inside).
DIALOGUE_MARK = "\u2063DIALOGUE\u2063"
SUMMARY_MARK = "\u2063SUMMARY\u2063"


@dataclass(frozen=True)
class PromptFormat:
    """The rendered template of one tokenizer and prompt config.

    Attributes:
        head: The text before the dialogue (BOS, system turn, start of the user turn, the
            instruction).
        tail: The text between the dialogue and the summary (end of the user turn, start of the
            assistant turn).
        closing_ids: The tokens trained after the summary: the template's end of the answer
            (`<|im_end|>`, `</s>`), then EOS unless that is among them already.
        stop_ids: The tokens that end generation: EOS and the special tokens of `closing_ids`.
    """

    head: str
    tail: str
    closing_ids: tuple[int, ...]
    stop_ids: tuple[int, ...]

    def prompt(self, dialogue: str) -> str:
        """The text generation starts from."""
        return self.head + dialogue + self.tail


def prompt_format(tokenizer: PreTrainedTokenizerBase, config: PromptConfig) -> PromptFormat:
    """`config` rendered for `tokenizer`: its chat template, or `config.template` (plain text)."""
    if tokenizer.eos_token_id is None:
        raise SummarizerError(
            f"The tokenizer {tokenizer.name_or_path!r} has no EOS token, so a trained model "
            "could not end its summary. Use a tokenizer that declares eos_token.")
    template = config.template
    if template is None and not tokenizer.chat_template:
        log.info("The tokenizer has no chat template: prompts use prompt.template's default")
        template = DEFAULT_PLAIN_TEMPLATE
    if template is not None:
        head, tail, closing = _render_plain(tokenizer, template, config.instruction)
    else:
        head, tail, closing = _render_chat(tokenizer, config)
    closing_ids = tokenizer(closing.rstrip(), add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id not in closing_ids:
        closing_ids.append(tokenizer.eos_token_id)
    # Turn markers like `<|im_end|>` are special added tokens without being declared EOS.
    special = set(tokenizer.all_special_ids) | {
        token for token, added in tokenizer.added_tokens_decoder.items() if added.special}
    stop_ids = dict.fromkeys([tokenizer.eos_token_id]
                             + [token for token in closing_ids if token in special])
    return PromptFormat(head, tail, tuple(closing_ids), tuple(stop_ids))


def _render_plain(tokenizer: PreTrainedTokenizerBase, template: str,
                  instruction: str) -> tuple[str, str, str]:
    if template.count("{dialogue}") != 1:
        raise SummarizerError(
            f"prompt.template must contain {{dialogue}} exactly once (where the dialogue goes); "
            f"it is {template!r}.")
    text = template.replace("{instruction}", instruction).replace("{dialogue}", DIALOGUE_MARK)
    # Llama-style tokenizers put BOS before every text they encode: their models saw it first.
    encoded = tokenizer("a")["input_ids"]
    if tokenizer.bos_token is not None and encoded[:1] == [tokenizer.bos_token_id]:
        text = tokenizer.bos_token + text
    head, tail = text.split(DIALOGUE_MARK)
    return head, tail, ""


def _render_chat(tokenizer: PreTrainedTokenizerBase,
                 config: PromptConfig) -> tuple[str, str, str]:
    user = config.user_template.replace("{instruction}", config.instruction)
    if user.count("{dialogue}") != 1:
        raise SummarizerError(
            f"prompt.user_template must contain {{dialogue}} exactly once; it is "
            f"{config.user_template!r}.")
    messages = [] if config.system is None else [{"role": "system", "content": config.system}]
    messages += [{"role": "user", "content": user.replace("{dialogue}", DIALOGUE_MARK)},
                 {"role": "assistant", "content": SUMMARY_MARK}]
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False,
                                             **config.chat_template_kwargs)
    except TemplateError as err:
        raise SummarizerError(
            f"The chat template of {tokenizer.name_or_path!r} failed on a system/user/assistant "
            f"conversation: {err}. Set prompt.system=null if it takes no system turn, or give a "
            "plain prompt.template.") from None
    if text.count(DIALOGUE_MARK) != 1 or text.count(SUMMARY_MARK) != 1 or (
            text.index(DIALOGUE_MARK) > text.index(SUMMARY_MARK)):
        raise SummarizerError(
            f"The chat template of {tokenizer.name_or_path!r} does not render the user's and the "
            "assistant's messages as given, so the dialogue and the summary cannot be placed in "
            "it. Give a plain prompt.template instead.")
    head, rest = text.split(DIALOGUE_MARK)
    tail, closing = rest.split(SUMMARY_MARK)
    return head, tail, closing
