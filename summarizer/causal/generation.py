"""Summaries from a causal LM: left-padded prompts in, only the new tokens out.

A decoder-only model returns its prompt followed by what it wrote; the prompt (instruction and
dialogue) must never reach a prediction or ROUGE, so the prompt's columns are cut off before
decoding. That is exact only when every prompt ends at the same column: left padding.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from summarizer.causal.collator import pad, pad_token_id
from summarizer.causal.features import encode_prompts
from summarizer.causal.prompt import PromptFormat
from summarizer.errors import SummarizerError
from summarizer.tokenization import decode

log = logging.getLogger(__name__)


def generation_settings(tokenizer: PreTrainedTokenizerBase, prompt: PromptFormat,
                        **settings: Any) -> dict[str, Any]:
    """`settings` (None values dropped) with the ids that end an answer and pad a finished row,
    unless given: the answer's stop tokens (`<|im_end|>` and EOS), the padding id."""
    given = {key: value for key, value in settings.items() if value is not None}
    return {"eos_token_id": list(prompt.stop_ids), "pad_token_id": pad_token_id(tokenizer),
            **given}


def generate_new_tokens(model: PreTrainedModel, input_ids: torch.Tensor,
                        attention_mask: torch.Tensor, **settings: Any) -> torch.Tensor:
    """The tokens `model.generate` adds after left-padded prompts, without the prompts.

    Args:
        model: A causal LM (or a PEFT model around one).
        input_ids: Prompts, left-padded (`CausalLMCollator`'s `prompt_input_ids`).
        attention_mask: Their mask; its last column must be all ones.
        settings: `generate`'s keyword arguments (`generation_settings`).
    """
    if not bool(attention_mask[:, -1].all()):
        raise ValueError("Prompts must be left-padded: generation appends to the last column")
    try:
        output = model.generate(input_ids=input_ids, attention_mask=attention_mask, **settings)
    except ValueError as err:  # transformers checks the settings against each other and the model
        reason = " ".join(str(err).split())
        raise SummarizerError(
            f"transformers refused the generation settings {settings}: {reason} Change the "
            "generation.* keys on the command line.") from None
    return output[:, input_ids.shape[1]:]


def summarize(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt: PromptFormat,
              dialogues: Sequence[str], max_source_length: int, batch_size: int = 8,
              max_new_tokens: int = 100, **settings: Any) -> list[str]:
    """Summaries in the order of `dialogues`.

    Args:
        model: The causal LM, on its device, in eval mode.
        tokenizer: Its tokenizer.
        prompt: The prompt format it was trained with.
        dialogues: The texts to summarize.
        max_source_length: The prompt's length limit in tokens (the dialogue is cut to fit).
        batch_size: Prompts generated from at once; batches are cut from prompts sorted by
            length, longest first, so padding stays small and a batch too large fails at once.
        max_new_tokens: The longest summary in tokens.
        settings: More of `generate`'s keyword arguments (num_beams, no_repeat_ngram_size, ...).
    """
    return [texts[0] for texts in summary_candidates(
        model, tokenizer, prompt, dialogues, max_source_length, batch_size, max_new_tokens,
        **settings)]


def summary_candidates(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                       prompt: PromptFormat, dialogues: Sequence[str], max_source_length: int,
                       batch_size: int = 8, max_new_tokens: int = 100,
                       **settings: Any) -> list[list[str]]:
    """`summarize`, with every sequence `generate` returns per dialogue (`num_return_sequences`
    of them, best first): an ensemble's candidates."""
    prompts = encode(tokenizer, prompt, dialogues, max_source_length)
    return prompt_candidates(model, tokenizer, prompt, prompts, batch_size, max_new_tokens,
                             **settings)


def encode(tokenizer: PreTrainedTokenizerBase, prompt: PromptFormat, dialogues: Sequence[str],
           max_source_length: int) -> list[list[int]]:
    """The prompt ids of `dialogues` (`prompt_candidates`' input), counting the cut ones in the
    log."""
    prompts, cut = encode_prompts(tokenizer, prompt, dialogues, max_source_length)
    if cut:
        log.info("%d of %d prompts longer than %d tokens had their dialogue cut", cut,
                 len(prompts), max_source_length)
    return prompts


def prompt_candidates(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                      prompt: PromptFormat, prompts: Sequence[list[int]], batch_size: int = 8,
                      max_new_tokens: int = 100, **settings: Any) -> list[list[str]]:
    """`summary_candidates` for prompts already encoded (`encode`): a decoding search encodes
    once and generates under many settings."""
    order = sorted(range(len(prompts)), key=lambda row: len(prompts[row]), reverse=True)
    settings = generation_settings(tokenizer, prompt, max_new_tokens=max_new_tokens, **settings)
    per_row = settings.get("num_return_sequences") or 1
    pad_id = pad_token_id(tokenizer)
    results: list[list[str]] = [[] for _ in prompts]
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        ids, mask = pad([prompts[row] for row in rows], pad_id, left=True)
        with torch.inference_mode():
            new = generate_new_tokens(model, ids.to(model.device), mask.to(model.device),
                                      **settings)
        texts = decode(tokenizer, new.cpu())
        for position, row in enumerate(rows):
            results[row] = texts[position * per_row:(position + 1) * per_row]
    return results
