"""Where `logger=mlflow` logs and what it uploads: the tracking store, its lock, the flat
parameters of a config and the run's report files."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from summarizer.errors import SummarizerError
from summarizer.run_files import FINAL_MODEL
from summarizer.secrets import mask_url_passwords

LOCAL_STORE = "mlflow.db"
LOCAL_ARTIFACTS = "mlartifacts"
# MLflow's limit on a parameter's value.
MAX_PARAM_LENGTH = 6000


@dataclass(frozen=True)
class Tracking:
    uri: str
    # Where a new experiment keeps its artifacts; None: the tracking server decides.
    artifact_location: str | None
    # The URI as logs show it: without a password.
    shown: str


def resolve_tracking(tracking_uri: str | None, store_dir: Path) -> Tracking:
    """`tracking_uri`, else `MLFLOW_TRACKING_URI`, else the local SQLite store in `store_dir`."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return Tracking(uri, None, mask_url_passwords(uri))
    store = store_dir.resolve()
    store.mkdir(parents=True, exist_ok=True)
    local = f"sqlite:///{store / LOCAL_STORE}"
    return Tracking(local, (store / LOCAL_ARTIFACTS).as_uri(), local)


def check_reachable(tracking: Tracking, timeout: float = 3.0) -> None:
    """A tracking server must answer before training: MLflow's client retries for minutes."""
    parts = urlsplit(tracking.uri)
    if parts.scheme not in ("http", "https"):
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return
    except OSError as err:
        raise SummarizerError(
            f"logger=mlflow: the tracking server {tracking.shown} does not answer ({err}). Start "
            "it, correct logger.tracking_uri (or MLFLOW_TRACKING_URI), or leave both unset to "
            "log into the local store under logger.store_dir."
        ) from None


@contextmanager
def store_lock(store_dir: Path) -> Iterator[None]:
    """Held while a run finds or creates its experiment and its sweep's parent run, so that
    parallel trials (`launcher=joblib`) create each once."""
    store_dir.mkdir(parents=True, exist_ok=True)
    with open(store_dir / ".mlflow.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def flat_params(config: dict, prefix: str = "") -> dict[str, str]:
    """The config as `a.b.c: value` parameters; lists as JSON, values cut to MLflow's limit."""
    params: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            params.update(flat_params(value, f"{name}."))
        else:
            params[name] = _param_text(value)[:MAX_PARAM_LENGTH]
    return params


def _param_text(value: Any) -> str:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def new_params(params: dict[str, str], logged: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Of `params`, those a run (resumed: with `logged` already) may still log, and the names
    whose value differs from the logged one: MLflow refuses to change a parameter."""
    changed = [name for name, value in params.items()
               if name in logged and logged[name] != value]
    return {name: value for name, value in params.items() if name not in logged}, changed


def report_files(run_dir: Path, with_model: bool) -> list[tuple[Path, str | None]]:
    """(path, artifact folder) of each report the run wrote: what a reader of the MLflow run
    opens next to its metrics; `final_model/` whole with `with_model`, else its model card."""
    # Here, not at the top: building a logger (a config check) needs none of the reports.
    from summarizer.reports import analysis, config_tree, curves, model_card, summary

    reports = ("metrics.json", summary.FILENAME, curves.FILENAME, analysis.FILENAME,
               "dev_predictions.csv", config_tree.FILENAME, "train.log")
    files: list[tuple[Path, str | None]] = [(run_dir / name, None) for name in reports]
    if with_model:
        files.append((run_dir / FINAL_MODEL, FINAL_MODEL))
    else:
        files.append((run_dir / FINAL_MODEL / model_card.FILENAME, FINAL_MODEL))
    return [(path, folder) for path, folder in files if path.exists()]
