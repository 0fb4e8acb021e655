"""The data option of a run: where its splits are and which columns hold what."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from summarizer.data import sample
from summarizer.data.folds import FOLD_SEED, fold_numbers
from summarizer.data.io import read_table, require_columns
from summarizer.errors import SummarizerError
from summarizer.rouge import DEFAULT_TOKENIZER, TOKENIZER_MODES

log = logging.getLogger(__name__)

EMPTY_ROWS = ("drop", "fail")
# The splits `data.folds` pools and splits again into K folds.
FOLD_SPLITS = ("train", "dev")
# How many offending rows a message names; the count says how many there are in all.
SHOWN_ROWS = 5


@dataclass
class SummarizationData:
    name: str
    dir: str
    train_file: str
    dev_file: str
    test_file: str
    id_column: str
    text_column: str
    summary_column: str
    max_source_length: int
    max_target_length: int
    max_train_samples: int | None = None
    max_dev_samples: int | None = None
    max_test_samples: int | None = None
    special_tokens: list[str] = field(default_factory=list)
    # Training splits: `drop` rows with an empty dialogue or summary (logged), or `fail` on them.
    empty_rows: str = "drop"
    # The ROUGE mode of training's evaluations and of `predict` (docs/rouge.md): the data's
    # language decides it, so it lives here.
    rouge_tokenizer: str = DEFAULT_TOKENIZER
    # k-fold (docs/data.md): train and dev pooled into `folds` folds, dev is fold `fold`.
    folds: int | None = None
    fold: int | None = None
    fold_seed: int = FOLD_SEED

    def path(self, split: str) -> Path:
        return Path(self.dir) / getattr(self, f"{split}_file")

    def load(self, split: str, for_prediction: bool = False) -> pd.DataFrame:
        """One split as a DataFrame with validated columns and rows, cut to `max_<split>_samples`.

        A training split needs a summary column; rows with an empty dialogue or summary are
        dropped or stop the run (`empty_rows`). A split to predict needs no summaries, but every
        dialogue filled and every id unique: a submission has one summary per id. With
        `folds`, train and dev are the pooled rows of both files outside and inside fold
        `fold`; `max_<split>_samples` then cuts these.
        """
        self._check_options()
        if self.folds is not None and split in FOLD_SPLITS:
            frame = self._fold_rows(split, for_prediction)
        else:
            frame = self._checked(self._read(split, for_prediction), split, for_prediction)
        limit = getattr(self, f"max_{split}_samples")
        if limit is not None:
            frame = frame.iloc[:limit]
        return frame.reset_index(drop=True)

    def _read(self, split: str, for_prediction: bool) -> pd.DataFrame:
        """A split's file with the columns it needs, rows not yet checked."""
        path, key = self.path(split), f"data.{split}_file"
        frame = read_table(path, key=key)
        if frame.empty:
            header = " (only a header)" if len(frame.columns) else ""
            raise SummarizerError(f"{path} has no rows{header} (set by {key}). Add rows or point "
                                  f"{key} at another file.")
        columns = {"data.id_column": self.id_column, "data.text_column": self.text_column}
        if not for_prediction:
            columns["data.summary_column"] = self.summary_column
        require_columns(frame, path, columns)
        return frame

    def _checked(self, frame: pd.DataFrame, split: str, for_prediction: bool) -> pd.DataFrame:
        """`frame`, rows of the split's file with their row numbers as index, checked."""
        if for_prediction:
            self._check_prediction_rows(frame, self.path(split))
            return frame
        return self._without_empty_rows(frame, self.path(split), split)

    def _fold_rows(self, split: str, for_prediction: bool) -> pd.DataFrame:
        """The rows of train and dev in fold `fold` (dev) or in the other folds (train).

        Folds are assigned to the rows as read, before empty rows are dropped, so that the
        assignment depends on the files alone; each file's part is then checked as that file
        would be, its rows named by their number in it.
        """
        files = {name: self._read(name, for_prediction) for name in FOLD_SPLITS}
        pooled = pd.concat(files.values(), ignore_index=True)
        if len(pooled) < self.folds:
            raise SummarizerError(
                f"data.folds={self.folds} is more than the {len(pooled)} rows of "
                f"{self.path('train')} and {self.path('dev')} together: every fold needs rows. "
                "Lower data.folds.")
        numbers = fold_numbers(pooled[self.id_column], pooled[self.text_column], self.folds,
                               self.fold_seed)
        chosen = (numbers == self.fold) if split == "dev" else (numbers != self.fold)
        parts, start = [], 0
        for name, frame in files.items():
            keep = chosen[start:start + len(frame)]
            start += len(frame)
            if keep.any():
                parts.append(self._checked(frame[keep], name, for_prediction))
        frame = pd.concat(parts)
        log.info("%s: fold %d of data.folds=%d (data.fold_seed=%d), %d rows of %s and %s",
                 split, self.fold, self.folds, self.fold_seed, len(frame), self.path("train"),
                 self.path("dev"))
        return frame

    def _check_options(self) -> None:
        """Options checked before any file is read, so a typo costs no loading time."""
        if self.empty_rows not in EMPTY_ROWS:
            raise SummarizerError(f"data.empty_rows={self.empty_rows} is invalid: use "
                                  f"{' or '.join(EMPTY_ROWS)}.")
        if self.rouge_tokenizer not in TOKENIZER_MODES:
            raise SummarizerError(
                f"data.rouge_tokenizer={self.rouge_tokenizer} is invalid: use one of "
                f"{', '.join(TOKENIZER_MODES)} (docs/rouge.md): whitespace, char or morpheme for "
                "Korean, english or english_stem for English."
            )
        self._check_folds()

    def _check_folds(self) -> None:
        if self.folds is None:
            if self.fold is not None:
                raise SummarizerError(
                    f"data.fold={self.fold} needs data.folds=<K> (the number of folds, 2 or "
                    "more) to pick from: set data.folds, or drop data.fold.")
            return
        if self.folds < 2:
            raise SummarizerError(f"data.folds={self.folds} is invalid: k-fold needs 2 folds or "
                                  "more. Set data.folds=5, say, or data.folds=null for no folds.")
        if self.fold is None or not 0 <= self.fold < self.folds:
            given = " is not set" if self.fold is None else f"={self.fold} is out of range"
            raise SummarizerError(
                f"data.fold{given}: with data.folds={self.folds} it must be 0 to "
                f"{self.folds - 1}, the fold that is this run's dev. Set data.fold=0, or train "
                f"them all: --multirun data.fold={','.join(map(str, range(self.folds)))}.")

    def _without_empty_rows(self, frame: pd.DataFrame, path: Path, split: str) -> pd.DataFrame:
        columns = [self.text_column, self.summary_column]
        empty = {c: _blank(frame[c]) for c in columns}
        rows = empty[self.text_column] | empty[self.summary_column]
        if not rows.any():
            return frame
        which = " or ".join(repr(c) for c in columns if empty[c].any())
        listed = self._describe(frame, rows[rows].index)
        if self.empty_rows == "fail":
            raise SummarizerError(
                f"{path} has {rows.sum()} rows with an empty {which}: {listed}. Fill in or delete "
                "these rows, or set data.empty_rows=drop to skip them."
            )
        if rows.all():
            raise SummarizerError(f"{path}: every row has an empty {which}. Fill them in.")
        log.warning("%s: dropped %d of %d rows of %s with an empty %s: %s. Set "
                    "data.empty_rows=fail to stop on them instead.", split, rows.sum(),
                    len(frame), path, which, listed)
        return frame[~rows]

    def _check_prediction_rows(self, frame: pd.DataFrame, path: Path) -> None:
        empty = _blank(frame[self.text_column])
        if empty.any():
            raise SummarizerError(
                f"{path} has {empty.sum()} rows with an empty {self.text_column!r} (set by "
                f"data.text_column): {self._describe(frame, empty[empty].index)}. A submission "
                "needs a summary for every row: fill in these dialogues."
            )
        ids = frame[self.id_column]
        duplicated = ids[ids.duplicated(keep=False)]
        if not duplicated.empty:
            names = list(dict.fromkeys(duplicated))
            listed = [f"{name!r} (rows {', '.join(str(i + 1) for i in ids.index[ids == name])})"
                      for name in names[:SHOWN_ROWS]]
            more = f" and {len(names) - SHOWN_ROWS} more" if len(names) > SHOWN_ROWS else ""
            raise SummarizerError(
                f"{path} has duplicate {self.id_column!r} values (set by data.id_column): "
                f"{', '.join(listed)}{more}. A submission needs one row per id: remove or rename "
                "the duplicates."
            )

    def _describe(self, frame: pd.DataFrame, index: pd.Index) -> str:
        """`'t1' (row 2), ...`: ids and 1-based data rows (not CSV lines: dialogues span lines)."""
        named = [f"{frame.at[i, self.id_column]!r} (row {i + 1})" for i in index[:SHOWN_ROWS]]
        more = f" and {len(index) - SHOWN_ROWS} more" if len(index) > SHOWN_ROWS else ""
        return ", ".join(named) + more


def _blank(values: pd.Series) -> pd.Series:
    """Which values are empty or only whitespace: `values.str.strip() == ""` without a stripped
    copy of the whole column."""
    return (values == "") | values.str.isspace()


@dataclass
class SampleData(SummarizationData):
    """The bundled Korean sample: generated into `dir` on first use, byte-identical every time."""

    def load(self, split: str, for_prediction: bool = False) -> pd.DataFrame:
        sample.ensure(self.dir)
        return super().load(split, for_prediction)
