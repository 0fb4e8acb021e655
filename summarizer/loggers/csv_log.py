"""`logger=csv`: every logged value in one CSV file of the run directory."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from transformers import TrainerCallback

from summarizer.atomic_files import write_text_atomic
from summarizer.data.io import read_csv
from summarizer.loggers.base import NoLogger
from summarizer.loggers.samples import PredictionSamples


class CSVLogger(NoLogger):
    def __init__(self, filename: str = "log.csv"):
        self.filename = filename

    def callbacks(self, run_dir: Path,
                  samples: PredictionSamples | None = None) -> list[TrainerCallback]:
        return [CSVLogCallback(run_dir / self.filename)]


class CSVLogCallback(TrainerCallback):
    """Appends every logged dict as a row; a new key rewrites the file with the wider header."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: list[dict] = []

    def on_train_begin(self, args, state, control, **kwargs):
        # A run resumed in its own directory keeps the rows logged up to its checkpoint; rows
        # an interrupted run logged after it, and its end-of-training summary, are logged again.
        if state.global_step > 0 and self.path.is_file():
            self.rows = [row for row in read_csv(self.path).to_dict("records")
                         if int(row["step"]) <= state.global_step and not row.get("train_runtime")]

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        self.rows.append({"step": state.global_step, "epoch": state.epoch, **logs})
        fields = list(dict.fromkeys(k for row in self.rows for k in row))
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=fields)
        writer.writeheader()
        writer.writerows(self.rows)
        write_text_atomic(table.getvalue(), self.path)
