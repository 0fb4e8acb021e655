"""Turning a split into model inputs: `<s> dialogue </s>` sources and `summary </s>` labels."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeVar

import pandas as pd
from datasets import Dataset
from transformers import PreTrainedTokenizerBase

from summarizer.tokenization import adds_special_tokens

log = logging.getLogger(__name__)
T = TypeVar("T")


def encode_texts(
    tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int, bos: bool,
    what: str | None = None, split: str | None = None, notes: list[str] | None = None,
) -> list[list[int]]:
    """Token ids with EOS (and BOS when asked) whether or not the tokenizer adds them itself.

    KoBART's tokenizer adds neither, BART's adds both: handling it here keeps one format.
    Texts longer than `max_length` are cut; given `what` they are ("dialogues"), one log line says
    how many were, prefixed by `split` when given; `notes`, when given, gets the line too.
    """
    if adds_special_tokens(tokenizer):
        full = tokenizer(texts)["input_ids"]
        truncated = sum(len(seq) > max_length for seq in full)
        if truncated:
            full = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
        ids = [seq if bos else seq[1:] for seq in full]
    else:
        room = max_length - (2 if bos else 1)
        # One token beyond the room tells which texts were cut, without encoding long texts whole.
        ids = tokenizer(texts, add_special_tokens=False, truncation=True,
                        max_length=room + 1)["input_ids"]
        truncated = sum(len(seq) > room for seq in ids)
        head = [tokenizer.bos_token_id] if bos else []
        ids = [head + seq[:room] + [tokenizer.eos_token_id] for seq in ids]
    if what is not None and truncated:
        note = (f"{f'{split}: ' if split else ''}{truncated} of {len(texts)} {what} longer than "
                f"{max_length} tokens were truncated")
        log.info("%s", note)
        if notes is not None:
            notes.append(note)
    return ids


def build_dataset(
    frame: pd.DataFrame,
    tokenizer: PreTrainedTokenizerBase,
    text_column: str,
    summary_column: str | None,
    max_source_length: int,
    max_target_length: int,
    split: str | None = None,
    notes: list[str] | None = None,
) -> Dataset:
    """Inputs and labels of one split; `split` names it in the truncation counts of the log,
    which `notes` collects when given."""
    sources = encode_texts(tokenizer, frame[text_column].tolist(), max_source_length, bos=True,
                           what="dialogues", split=split, notes=notes)
    columns = {"input_ids": sources, "attention_mask": [[1] * len(s) for s in sources]}
    if summary_column is not None:
        columns["labels"] = encode_texts(tokenizer, frame[summary_column].tolist(),
                                         max_target_length, bos=False, what="summaries",
                                         split=split, notes=notes)
    return Dataset.from_dict(columns)


def sort_by_length(dataset: Dataset) -> tuple[Dataset, list[int]]:
    """The rows longest source first, and `order`: row k of the result is row `order[k]` of
    `dataset` (ties keep their order).

    Generation over length-sorted batches pads little and decodes no beams over padding; the
    longest batch comes first, so a batch size that does not fit fails at once.
    """
    lengths = [len(ids) for ids in dataset["input_ids"]]
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return dataset.select(order).flatten_indices(), order


def restore_order(items: Sequence[T], order: Sequence[int]) -> list[T]:
    """`items` of a dataset sorted by `sort_by_length` put back in the original row order."""
    if len(items) != len(order):
        raise ValueError(f"{len(items)} items for {len(order)} rows")
    restored: list = [None] * len(order)
    for item, row in zip(items, order):
        restored[row] = item
    return restored
