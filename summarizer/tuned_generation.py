"""The generation settings `python -m summarizer.tune` chose for a run, as predict reads them.

The search writes them to `<run dir>/tune/generation.yaml`; `python -m summarizer.predict
generation=tuned` starts from them, and any `generation.<key>=` typed with it still wins.
Kept apart from the search itself, so that predict never imports Optuna.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from summarizer.atomic_files import write_text_atomic
from summarizer.errors import SummarizerError
from summarizer.run_config import run_directory

TUNE_DIR = "tune"
GENERATION_FILE = "generation.yaml"
# Both bound the summary's length: one set on the command line replaces the file's other.
LENGTH_KEYS = ("max_length", "max_new_tokens")


def tune_dir(run: str | Path) -> Path:
    """`<run dir>/tune/` of a run directory, or of the run holding a model directory
    (`<run>/final_model`); a model directory outside a run keeps its own."""
    return (run_directory(run) or Path(run)) / TUNE_DIR


def write_tuned(settings: dict[str, Any], run: str | Path) -> Path:
    path = tune_dir(run) / GENERATION_FILE
    text = ("# The best decoding settings `python -m summarizer.tune` found for this run;\n"
            "# `python -m summarizer.predict generation=tuned` reads them.\n")
    write_text_atomic(text + yaml.safe_dump(settings, sort_keys=True), path)
    return path


def read_tuned(run: str | Path) -> dict[str, Any]:
    path = tune_dir(run) / GENERATION_FILE
    if not path.is_file():
        raise SummarizerError(
            f"generation=tuned reads {path}, which does not exist: no decoding search has "
            f"finished for this run. Run `python -m summarizer.tune run={run}` first, or "
            "predict with the run's own settings (leave out generation=tuned).")
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(settings, dict):
        raise SummarizerError(f"{path} holds no settings (a mapping such as `num_beams: 4`). "
                              f"Rerun `python -m summarizer.tune run={run}` to write it again.")
    return settings


def generation_settings(generation: dict[str, Any], run: str | Path) -> dict[str, Any]:
    """predict's `generation` group as `generate` keywords: with `tuned: true`, the run's tuned
    settings under the keys set on the command line (every key the group leaves null)."""
    given = {key: value for key, value in generation.items() if key != "tuned"}
    if not generation.get("tuned"):
        return given
    tuned = read_tuned(run)
    explicit = {key: value for key, value in given.items() if value is not None}
    if any(key in explicit for key in LENGTH_KEYS):
        tuned = {key: value for key, value in tuned.items() if key not in LENGTH_KEYS}
    return {**given, **tuned, **explicit}
