"""The offline causal preset's pieces: a tokenizer trained on the data with a chat template the
project sets, and a small randomly initialised decoder whose vocabulary matches it.

The tokenizer is the tiny seq2seq preset's (`summarizer.tokenization.train_tokenizer`: exact
round trip, tags as never-split tokens); its control tokens mark the turns, so the template adds
no tokens: `<sys>` and `<usr>` open the system and user turns, `<s>` the answer, `</s>` ends each
turn and is the EOS the answer is trained to close with.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from transformers import (
    AutoModelForCausalLM,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

from summarizer.tokenization import train_tokenizer

log = logging.getLogger(__name__)

TINY_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}<sys>"
    "{%- elif message['role'] == 'user' -%}<usr>"
    "{%- else -%}<s>{%- endif -%}"
    "{{ message['content'] }}</s>"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}<s>{%- endif -%}"
)


def train_chat_tokenizer(
    texts: Iterable[str],
    special_tokens: Sequence[str],
    vocab_size: int = 2000,
    min_frequency: int = 2,
    chat_template: str = TINY_CHAT_TEMPLATE,
) -> PreTrainedTokenizerFast:
    """`train_tokenizer` with `chat_template` set (saved with the tokenizer).

    Args:
        texts: The training texts (dialogues and summaries).
        special_tokens: The data's `#...#` tags, kept whole and never skipped on decode.
        vocab_size: The BPE vocabulary size, control tokens and tags included.
        min_frequency: How often a pair must occur to be merged.
        chat_template: The Jinja template `apply_chat_template` renders; the default uses the
            tokenizer's own control tokens.
    """
    tokenizer = train_tokenizer(texts, special_tokens, vocab_size=vocab_size,
                                min_frequency=min_frequency)
    tokenizer.chat_template = chat_template
    return tokenizer


def from_config(config: PretrainedConfig, tokenizer: PreTrainedTokenizerFast) -> PreTrainedModel:
    """A randomly initialised decoder (e.g. from a `LlamaConfig` or `Qwen2Config`) whose
    vocabulary and special ids match `tokenizer`.

    Args:
        config: The architecture; its vocabulary size and special ids are overwritten.
        tokenizer: The tokenizer the model reads and writes.
    """
    config.vocab_size = len(tokenizer)
    config.pad_token_id = tokenizer.pad_token_id
    config.bos_token_id = tokenizer.bos_token_id
    config.eos_token_id = tokenizer.eos_token_id
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    log.info("Built %s from config: %.2fM parameters", type(model).__name__,
             model.num_parameters() / 1e6)
    return model
