"""The data option of a run: where its splits are and which columns hold what."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from summarizer.data.io import read_table, require_columns
from summarizer.errors import SummarizerError

SPLITS = ("train", "dev", "test")


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

    def path(self, split: str) -> Path:
        return Path(self.dir) / getattr(self, f"{split}_file")

    def load(self, split: str, with_summary: bool = True) -> pd.DataFrame:
        """One split as a DataFrame with validated columns, cut to `max_<split>_samples`."""
        path = self.path(split)
        frame = read_table(path, key=f"data.{split}_file")
        columns = {"data.id_column": self.id_column, "data.text_column": self.text_column}
        if with_summary:
            columns["data.summary_column"] = self.summary_column
        require_columns(frame, path, columns)
        if frame.empty:
            raise SummarizerError(f"{path} has a header but no rows (set by data.{split}_file).")
        limit = getattr(self, f"max_{split}_samples")
        if limit is not None:
            frame = frame.iloc[:limit]
        return frame.reset_index(drop=True)


@dataclass
class SampleData(SummarizationData):
    """The bundled Korean sample: generated into `dir` on first use, byte-identical every time."""

    def load(self, split: str, with_summary: bool = True) -> pd.DataFrame:
        from summarizer.data import sample

        sample.ensure(self.dir)
        return super().load(split, with_summary)
