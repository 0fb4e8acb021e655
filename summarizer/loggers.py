"""Experiment loggers: each option of the `logger` group builds one of these."""

from __future__ import annotations

import csv
import io
import logging
import netrc
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from transformers import TrainerCallback

from summarizer.atomic_files import write_text_atomic
from summarizer.data.io import read_csv
from summarizer.errors import SummarizerError
from summarizer.secrets import redact_argument

log = logging.getLogger(__name__)


class NoLogger:
    """Logs to the console and the run's log file only."""

    report_to: list[str] = []

    def callbacks(self, run_dir: Path) -> list[TrainerCallback]:
        return []

    @contextmanager
    def run(self, run_dir: Path, config: dict) -> Iterator[None]:
        yield

    def summarize(self, metrics: dict, best_checkpoint: str | None) -> None:
        """Record the run's final metrics where the logger keeps them."""


class TensorBoardLogger(NoLogger):
    """transformers' TensorBoard integration; event files land in `<run dir>/runs/`."""

    report_to = ["tensorboard"]


class CSVLogger(NoLogger):
    def __init__(self, filename: str = "log.csv"):
        self.filename = filename

    def callbacks(self, run_dir: Path) -> list[TrainerCallback]:
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


WANDB_MODES = ("auto", "online", "offline", "disabled")


def _wandb_host() -> str:
    return urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or ""


def wandb_api_key_configured() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators(_wandb_host()) is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def wandb_reachable(timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((_wandb_host(), 443), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_wandb_mode(mode: str) -> str:
    """Decide the mode before training, so `online` never fails after a long network timeout."""
    if mode not in WANDB_MODES:
        raise SummarizerError(f"logger.mode={mode!r} is not one of {', '.join(WANDB_MODES)}.")
    if mode in ("offline", "disabled"):
        return mode
    has_key = wandb_api_key_configured()
    if mode == "online":
        if not has_key:
            raise SummarizerError(
                "logger.mode=online but no WandB API key is configured. Run `wandb login` or set "
                "WANDB_API_KEY, or use logger.mode=offline (sync later with `wandb sync`)."
            )
        if not wandb_reachable():
            raise SummarizerError(
                f"logger.mode=online but {_wandb_host()} cannot be reached. Use "
                "logger.mode=offline and `wandb sync <run dir>/wandb/offline-run-*` later."
            )
        return "online"
    if has_key and wandb_reachable():
        return "online"
    log.info("WandB: %s; logging offline into the run directory (upload later with `wandb sync`).",
             "no API key configured" if not has_key else f"{_wandb_host()} unreachable")
    return "offline"


class WandbLogger(NoLogger):
    report_to = ["wandb"]

    def __init__(self, project: str, entity: str | None = None, run_name: str | None = None,
                 group: str | None = None, tags: list[str] | None = None, mode: str = "auto"):
        self.project = project
        self.entity = entity
        self.run_name = run_name
        self.group = group
        self.tags = list(tags or [])
        self.mode = mode

    @contextmanager
    def run(self, run_dir: Path, config: dict) -> Iterator[None]:
        mode = resolve_wandb_mode(self.mode)
        import wandb  # optional: installed for logger=wandb only

        # transformers' WandbCallback reuses an active run instead of starting its own.
        # WandB records the command line with the run: show it the masked one.
        argv, sys.argv = sys.argv, [sys.argv[0], *map(redact_argument, sys.argv[1:])]
        try:
            run = wandb.init(project=self.project, entity=self.entity, name=self.run_name,
                             group=self.group, tags=self.tags, config=config, dir=str(run_dir),
                             mode=mode)
        finally:
            sys.argv = argv
        try:
            yield
        except BaseException:
            run.finish(exit_code=1)
            raise
        run.finish()

    def summarize(self, metrics: dict, best_checkpoint: str | None) -> None:
        import wandb  # optional: installed for logger=wandb only

        if wandb.run is not None:
            wandb.run.summary.update({**metrics, "best_checkpoint": best_checkpoint})
