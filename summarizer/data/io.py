"""Reading data tables (CSV, JSON, JSONL) with errors that name the file and what to do."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from summarizer.errors import SummarizerError

READERS = {
    ".csv": lambda p: pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8"),
    ".json": lambda p: pd.read_json(p, dtype=str, encoding="utf-8"),
    ".jsonl": lambda p: pd.read_json(p, lines=True, dtype=str, encoding="utf-8"),
}


def read_table(path: str | Path, key: str) -> pd.DataFrame:
    """Read one split; `key` is the config key that names the file (quoted in errors)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise SummarizerError(
            f"{path}: unsupported file type {suffix!r} (set by {key}). "
            f"Use one of {', '.join(READERS)}."
        )
    if not path.is_file():
        raise SummarizerError(
            f"Data file {path} does not exist (set by {key}). Put the file there or point "
            f"{key} (and data.dir) at it on the command line."
        )
    try:
        frame = READERS[suffix](path)
    except UnicodeDecodeError as err:
        raise SummarizerError(
            f"{path} is not valid UTF-8 ({err.reason} at byte {err.start}). Re-save it as UTF-8."
        ) from None
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise SummarizerError(f"{path} could not be read as {suffix[1:].upper()}: {err}") from None
    return frame.fillna("")


def require_columns(frame: pd.DataFrame, path: str | Path, columns: dict[str, str]) -> None:
    """`columns` maps config keys (data.text_column, ...) to the column names they require."""
    for key, column in columns.items():
        if column not in frame.columns:
            raise SummarizerError(
                f"{path} has no column {column!r} (set by {key}); its columns are "
                f"{', '.join(map(repr, frame.columns))}. Rename the column or set {key}=<name>."
            )


def write_csv_atomic(frame: pd.DataFrame, path: str | Path) -> None:
    """Write through a temporary file and rename, so a crash never leaves half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            frame.to_csv(handle, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
