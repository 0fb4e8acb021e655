"""What a run leaves in its directory besides checkpoints: the final model's folder, the
mark of a failed run, and paths recorded relative to the run."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from summarizer.atomic_files import write_text_atomic
from summarizer.errors import user_error
from summarizer.secrets import MASK, secret_env_values

log = logging.getLogger(__name__)

FINAL_MODEL = "final_model"
# Written into a run directory whose run ended with an error; holds the error.
FAILED_FILE = "FAILED"


def mark_failed(run_dir: Path, error: BaseException) -> None:
    """Leave `FAILED` (the error, and when) in a run directory whose run stopped with an error,
    so that neither a person listing the runs nor a tool takes it for a finished run."""
    found = user_error(error) or error
    what = str(found) or type(found).__name__
    for secret in secret_env_values():
        what = what.replace(secret, MASK)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    try:
        write_text_atomic(f"{stamp} {type(found).__name__}: {what}\n", run_dir / FAILED_FILE)
    except OSError:
        log.warning("Could not mark %s as failed", run_dir, exc_info=True)


def path_in_run(path: str | None, run_dir: Path) -> str | None:
    """`path` as the run's files record it: relative to the run directory when inside it, so
    that the record still holds after the directory is moved."""
    if path is None:
        return None
    absolute, run_dir = Path(path).resolve(), run_dir.resolve()
    return str(absolute.relative_to(run_dir) if absolute.is_relative_to(run_dir) else absolute)
