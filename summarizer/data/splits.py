"""The rows of a split as the trainer takes them: a caller's own rows checked, and any rows
turned into model inputs (from the cache when an earlier run tokenized the same texts)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pandas as pd
from datasets import Dataset
from transformers import PreTrainedTokenizerBase

from summarizer.causal.features import build_causal_dataset
from summarizer.causal.prompt import PromptFormat
from summarizer.data.cache import (
    cached_dataset,
    fingerprint,
    texts_fingerprint,
    tokenizer_fingerprint,
)
from summarizer.data.features import build_dataset
from summarizer.data.module import SHOWN_ROWS, SummarizationData
from summarizer.errors import SummarizerError


def build_split(frame: pd.DataFrame, split: str, data: SummarizationData,
                tokenizer: PreTrainedTokenizerBase, cache_dir: str | None = None,
                prompt: PromptFormat | None = None) -> Dataset:
    """A split's model inputs, from `cache_dir` when an earlier run tokenized the same texts
    with the same tokenizer, lengths and prompt.

    Without `prompt`, seq2seq sources and labels (`build_dataset`); with it, causal-LM
    sequences of the prompt and the summary, the prompt masked in the labels
    (`build_causal_dataset`).
    """
    key = fingerprint(split, texts_fingerprint(frame, [data.text_column, data.summary_column]),
                      tokenizer_fingerprint(tokenizer), data.max_source_length,
                      data.max_target_length, *([] if prompt is None else [asdict(prompt)]))
    if prompt is not None:
        return cached_dataset(cache_dir, key, lambda notes, path: build_causal_dataset(
            frame, tokenizer, prompt, data.text_column, data.summary_column,
            data.max_source_length, data.max_target_length, split=split, notes=notes, path=path))
    return cached_dataset(cache_dir, key, lambda notes, path: build_dataset(
        frame, tokenizer, data.text_column, data.summary_column, data.max_source_length,
        data.max_target_length, split=split, notes=notes, path=path))


def given_rows(rows: Any, argument: str, data: SummarizationData) -> pd.DataFrame:
    """A caller's `train_dataset` or `eval_dataset` (`argument`) as a DataFrame of texts.

    Rows come as text, the way the data files hold them: the trainer tokenizes them with the
    run's tokenizer and lengths, and scores ROUGE against the raw summaries, which tokenized
    rows no longer carry. They are used as given: `data.max_*_samples` and `data.empty_rows`
    apply to the files `data.dir` names, not to these.
    """
    columns = [data.text_column, data.summary_column]
    wanted = (f"a pandas DataFrame (or a datasets.Dataset) with a {columns[0]!r} and a "
              f"{columns[1]!r} column, as the data files have them (data.text_column, "
              "data.summary_column)")
    if isinstance(rows, Dataset):
        if not set(columns) <= set(rows.column_names) and "input_ids" in rows.column_names:
            raise SummarizerError(
                f"{argument} is already tokenized (columns {', '.join(rows.column_names)}). "
                f"Give {wanted}: the trainer tokenizes the texts itself and scores ROUGE "
                "against the raw summaries, which tokenized rows no longer hold.")
        rows = rows.to_pandas()
    if not isinstance(rows, pd.DataFrame):
        raise SummarizerError(f"{argument} is a {type(rows).__name__}; give {wanted}.")
    missing = [column for column in columns if column not in rows.columns]
    if missing:
        raise SummarizerError(
            f"{argument} has no {' or '.join(map(repr, missing))} column; its columns are: "
            f"{', '.join(map(str, rows.columns)) or 'none'}. Rename the columns, or set "
            "data.text_column and data.summary_column to the names it uses.")
    if rows.empty:
        raise SummarizerError(f"{argument} has no rows; give {wanted}.")
    rows = rows.reset_index(drop=True)
    for column in columns:
        bad = rows.index[~rows[column].map(lambda value: isinstance(value, str)
                                           and bool(value.strip()))]
        if len(bad):
            listed = ", ".join(str(row + 1) for row in bad[:SHOWN_ROWS])
            more = f" and {len(bad) - SHOWN_ROWS} more" if len(bad) > SHOWN_ROWS else ""
            raise SummarizerError(
                f"{argument} has {len(bad)} rows whose {column!r} is empty or not text (rows "
                f"{listed}{more}, counted from 1). Fill them in or drop these rows.")
    return rows
