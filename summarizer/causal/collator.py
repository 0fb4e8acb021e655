"""Batches of causal-LM examples: right-padded for the loss, left-padded prompts to generate from.

Training reads `input_ids` / `labels` right-padded (positions and the loss ignore the padding).
Generation appends new tokens at the end of each row, so every prompt must end at the last column:
evaluation gets the same rows' prompts left-padded as `prompt_input_ids` /
`prompt_attention_mask`. The prompt of a training row is its masked head (`prompt_length`), so
it needs no column of its own: the trainer drops columns the model's `forward` does not take
before batches are collated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from summarizer.causal.features import IGNORE_INDEX, prompt_length


def pad_token_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The id padding uses: the tokenizer's pad token, or EOS for models without one (Llama);
    padded positions are masked, so which id fills them does not matter."""
    if tokenizer.pad_token_id is not None:
        return tokenizer.pad_token_id
    if tokenizer.eos_token_id is None:
        raise ValueError(f"The tokenizer {tokenizer.name_or_path!r} has neither pad nor EOS token")
    return tokenizer.eos_token_id


def padded_length(longest: int, multiple: int | None) -> int:
    """`longest` rounded up to a multiple of `multiple` (tensor cores like multiples of 8)."""
    return longest if not multiple else -(-longest // multiple) * multiple


def pad(rows: Sequence[Sequence[int]], value: int, left: bool = False,
        multiple: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """`rows` as one tensor padded with `value` on the right (or the left), and its attention
    mask (1 on the rows' own tokens)."""
    width = padded_length(max(len(row) for row in rows), multiple)
    ids = torch.full((len(rows), width), value, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        span = slice(width - len(row), width) if left else slice(0, len(row))
        ids[index, span] = torch.as_tensor(list(row), dtype=torch.long)
        mask[index, span] = 1
    return ids, mask


@dataclass
class CausalLMCollator:
    """The trainer's `data_collator` for causal-LM examples (`build_causal_dataset`).

    Args:
        tokenizer: Gives the padding id (`pad_token_id`).
        pad_to_multiple_of: Round the padded width up to a multiple of this; None: the longest
            row's width.
        label_pad_token_id: The label of padded positions, ignored by the loss.
        with_prompts: Add `prompt_input_ids` / `prompt_attention_mask` (left-padded) for
            generation; the trainer's prediction step must take them out before the model's
            `forward`.
    """

    tokenizer: PreTrainedTokenizerBase
    pad_to_multiple_of: int | None = None
    label_pad_token_id: int = IGNORE_INDEX
    with_prompts: bool = True

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        pad_id = pad_token_id(self.tokenizer)
        rows = [list(feature["input_ids"]) for feature in features]
        batch = dict(zip(("input_ids", "attention_mask"),
                         pad(rows, pad_id, multiple=self.pad_to_multiple_of), strict=True))
        labels = [list(feature["labels"]) for feature in features if "labels" in feature]
        if labels:
            batch["labels"] = pad(labels, self.label_pad_token_id,
                                  multiple=self.pad_to_multiple_of)[0]
        if self.with_prompts:
            # Rows without labels (a test split) are prompts already.
            prompts = ([row[:prompt_length(label)] for row, label in zip(rows, labels, strict=True)]
                       if labels else rows)
            batch["prompt_input_ids"], batch["prompt_attention_mask"] = pad(
                prompts, pad_id, left=True, multiple=self.pad_to_multiple_of)
        return batch
