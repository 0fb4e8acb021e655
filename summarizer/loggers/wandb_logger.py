"""`logger=wandb`: transformers' WandB integration in a run this logger starts, and a table of
sample predictions at each evaluation."""

from __future__ import annotations

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

from summarizer.errors import SummarizerError
from summarizer.loggers.base import NoLogger
from summarizer.loggers.samples import COLUMNS, PredictionSamples
from summarizer.secrets import redact_argument

log = logging.getLogger(__name__)


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
                 group: str | None = None, tags: list[str] | None = None, mode: str = "auto",
                 prediction_rows: int = 8):
        self.project = project
        self.entity = entity
        self.run_name = run_name
        self.group = group
        self.tags = list(tags or [])
        self.mode = mode
        self.prediction_rows = prediction_rows

    def callbacks(self, run_dir: Path,
                  samples: PredictionSamples | None = None) -> list[TrainerCallback]:
        if samples is None or not self.prediction_rows:
            return []
        return [WandbPredictionTable(samples, self.prediction_rows)]

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


class WandbPredictionTable(TrainerCallback):
    """Logs `eval/predictions`, a table of the first `rows` dev rows (dialogue excerpt,
    reference, prediction, per-row ROUGE), after each evaluation, at its global step."""

    def __init__(self, samples: PredictionSamples, rows: int):
        self.samples = samples
        self.rows = rows

    def on_evaluate(self, args, state, control, **kwargs):
        import wandb  # optional: installed for logger=wandb only

        if wandb.run is None or not state.is_world_process_zero:
            return
        table = wandb.Table(columns=list(COLUMNS), data=self.samples.table(self.rows))
        # transformers' WandB callback plots every metric against `train/global_step`.
        wandb.run.log({"eval/predictions": table, "train/global_step": state.global_step})
