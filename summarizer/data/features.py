"""Turning a split into model inputs: `<s> dialogue </s>` sources and `summary </s>` labels."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from datasets import Dataset, Features, List, Value
from datasets.fingerprint import generate_random_fingerprint
from datasets.table import InMemoryTable
from transformers import PreTrainedTokenizerBase

from summarizer.tokenization import adds_bos_eos, adds_special_tokens

log = logging.getLogger(__name__)
T = TypeVar("T")

# Rows handled at a time: the texts as Python strings, the tokenizer's output and the id lists
# exist for one chunk only, so memory does not grow with the rows of a split. 10,000 rows of
# DialogSum-length English through KoBART's tokenizer took 600 MiB; 1,000 are as fast.
CHUNK_ROWS = 1_000
# The types `Dataset.from_dict` infers for these columns, fixed so that every chunk agrees.
FEATURES = Features({"input_ids": List(Value("int32")), "attention_mask": List(Value("int8")),
                     "labels": List(Value("int64"))})


def column_chunks(frame: pd.DataFrame, column: str) -> Iterator[list[str]]:
    """The values of `column` as strings, `CHUNK_ROWS` rows at a time."""
    for start in range(0, len(frame), CHUNK_ROWS):
        yield frame[column].iloc[start:start + CHUNK_ROWS].astype(str).tolist()


def iter_texts(frame: pd.DataFrame, columns: Sequence[str]) -> Iterator[str]:
    """The texts of `columns`, one column after the other, without a list of them all."""
    for column in columns:
        for chunk in column_chunks(frame, column):
            yield from chunk


def encode_texts(
    tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int, bos: bool,
    what: str | None = None, split: str | None = None, notes: list[str] | None = None,
) -> list[list[int]]:
    """Token ids with EOS (and BOS when asked) whether or not the tokenizer adds them itself.

    KoBART's tokenizer adds neither, BART's and a saved `final_model/`'s add both: they are
    added here, never by the tokenizer, so every one of them gives the same ids and lengths.
    Texts longer than `max_length` are cut; given `what` they are ("dialogues"), one log line says
    how many were, prefixed by `split` when given; `notes`, when given, gets the line too.
    """
    ids, truncated = _encode(tokenizer, texts, max_length, bos)
    if what is not None:
        _note_truncated(truncated, len(texts), what, max_length, split, notes)
    return ids


def _encode(tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int,
            bos: bool) -> tuple[list[list[int]], int]:
    """`encode_texts`' ids and how many of the texts were cut."""
    if adds_special_tokens(tokenizer) and not adds_bos_eos(tokenizer):
        # Another template: the tokenizer's own tokens, the first one taken for BOS.
        full = tokenizer(texts)["input_ids"]
        truncated = sum(len(seq) > max_length for seq in full)
        if truncated:
            full = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
        return [seq if bos else seq[1:] for seq in full], truncated
    room = max_length - (2 if bos else 1)
    # One token beyond the room tells which texts were cut, without encoding long texts whole.
    ids = tokenizer(texts, add_special_tokens=False, truncation=True,
                    max_length=room + 1)["input_ids"]
    truncated = sum(len(seq) > room for seq in ids)
    head = [tokenizer.bos_token_id] if bos else []
    return [head + seq[:room] + [tokenizer.eos_token_id] for seq in ids], truncated


def _note_truncated(truncated: int, total: int, what: str, max_length: int, split: str | None,
                    notes: list[str] | None) -> None:
    if not truncated:
        return
    note = (f"{f'{split}: ' if split else ''}{truncated} of {total} {what} longer than "
            f"{max_length} tokens were truncated")
    log.info("%s", note)
    if notes is not None:
        notes.append(note)


def build_dataset(
    frame: pd.DataFrame,
    tokenizer: PreTrainedTokenizerBase,
    text_column: str,
    summary_column: str | None,
    max_source_length: int,
    max_target_length: int,
    split: str | None = None,
    notes: list[str] | None = None,
    path: str | Path | None = None,
) -> Dataset:
    """Inputs and labels of one split; `split` names it in the truncation counts of the log,
    which `notes` collects when given.

    The rows are tokenized `CHUNK_ROWS` at a time and appended to the Arrow file `path`, which
    the dataset then maps from disk, or without `path` kept in memory as Arrow arrays.
    """
    names = ["input_ids", "attention_mask"] + (["labels"] if summary_column is not None else [])
    schema = Features({name: FEATURES[name] for name in names}).arrow_schema
    cut = {"dialogues": 0, "summaries": 0}

    def batches() -> Iterator[pa.RecordBatch]:
        for start in range(0, len(frame), CHUNK_ROWS):
            rows = frame.iloc[start:start + CHUNK_ROWS]
            sources, count = _encode(tokenizer, rows[text_column].tolist(), max_source_length,
                                     bos=True)
            cut["dialogues"] += count
            columns = {"input_ids": sources, "attention_mask": [[1] * len(s) for s in sources]}
            if summary_column is not None:
                columns["labels"], count = _encode(tokenizer, rows[summary_column].tolist(),
                                                   max_target_length, bos=False)
                cut["summaries"] += count
            yield pa.RecordBatch.from_pydict(columns, schema=schema)

    dataset = arrow_dataset(batches(), schema, path)
    _note_truncated(cut["dialogues"], len(frame), "dialogues", max_source_length, split, notes)
    if summary_column is not None:
        _note_truncated(cut["summaries"], len(frame), "summaries", max_target_length, split,
                        notes)
    return dataset


def arrow_dataset(batches: Iterator[pa.RecordBatch], schema: pa.Schema,
                  path: str | Path | None) -> Dataset:
    """The record `batches` as a dataset: appended to the Arrow file `path`, which the dataset
    then maps from disk, or without `path` kept in memory."""
    if path is None:
        # A fingerprint of its own: `datasets` would serialise the whole table to hash it.
        return Dataset(InMemoryTable(pa.Table.from_batches(batches, schema)),
                       fingerprint=generate_random_fingerprint())
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return Dataset.from_file(str(path))


def token_lengths(dataset: Dataset, column: str = "input_ids") -> list[int]:
    """The number of tokens in `column` of every row, counted by Arrow in one call (reading the
    rows one by one takes 0.3 s for DialogSum's 12,460 training rows)."""
    return pc.list_value_length(dataset.with_format("arrow")[column]).to_pylist()


def sort_by_length(dataset: Dataset) -> tuple[Dataset, list[int]]:
    """The rows longest source first, and `order`: row k of the result is row `order[k]` of
    `dataset` (ties keep their order).

    Generation over length-sorted batches pads little and decodes no beams over padding; the
    longest batch comes first, so a batch size that does not fit fails at once.
    """
    lengths = token_lengths(dataset)
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return dataset.select(order).flatten_indices(), order


def restore_order(items: Sequence[T], order: Sequence[int]) -> list[T]:
    """`items` of a dataset sorted by `sort_by_length` put back in the original row order."""
    if len(items) != len(order):
        raise ValueError(f"{len(items)} items for {len(order)} rows")
    restored: list = [None] * len(order)
    for item, row in zip(items, order, strict=True):
        restored[row] = item
    return restored
