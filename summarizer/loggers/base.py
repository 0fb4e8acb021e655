"""The logger every other one extends, and TensorBoard's, which transformers runs itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from transformers import TrainerCallback

from summarizer.loggers.samples import PredictionSamples


class NoLogger:
    """Logs to the console and the run's log file only."""

    # transformers' own integrations to switch on (`TrainingArguments.report_to`).
    report_to: list[str] = []

    def callbacks(self, run_dir: Path,
                  samples: PredictionSamples | None = None) -> list[TrainerCallback]:
        """The trainer callbacks that log; `samples`: what each evaluation predicted."""
        return []

    @contextmanager
    def run(self, run_dir: Path, config: dict) -> Iterator[None]:
        """The logger's run around the training; `config`: the composed config, secrets
        masked."""
        yield

    def summarize(self, metrics: dict, best_checkpoint: str | None) -> None:
        """Record the run's final metrics where the logger keeps them."""


class TensorBoardLogger(NoLogger):
    """transformers' TensorBoard integration; event files land in `<run dir>/runs/`."""

    report_to = ["tensorboard"]
