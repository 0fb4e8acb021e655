"""Reading data tables (CSV, JSON, JSONL) with errors that name the file and what to do.

`read_csv` is the one way the project reads a CSV: data splits, files to score, baselines, the
CSV logger's own file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from summarizer.atomic_files import write_text_atomic
from summarizer.errors import SummarizerError


def read_csv(path: str | Path) -> pd.DataFrame:
    """Every cell as a string, an empty cell as "" (not NaN), quoted newlines and commas kept.

    UTF-8, with or without the byte-order mark spreadsheet programs put in front ("utf-8-sig"
    skips it, so the first column is not named "\\ufefffname"). pandas' errors pass through:
    each caller names the file's role in its own message.
    """
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False,
                       encoding="utf-8-sig")


READERS = {
    ".csv": read_csv,
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
    if path.stat().st_size == 0:
        raise _empty_file(path, key)
    try:
        frame = READERS[suffix](path)
    except UnicodeDecodeError:
        raise SummarizerError(_not_utf8_message(path)) from None
    except pd.errors.EmptyDataError:  # only blank lines
        raise _empty_file(path, key) from None
    except (ValueError, pd.errors.ParserError) as err:
        where = _json_error_location(path) if suffix != ".csv" else ""
        raise SummarizerError(
            f"{path} could not be read as {suffix[1:].upper()}{where}: {err}. Fix the file or "
            f"point {key} at another one."
        ) from None
    return frame.fillna("")


def _empty_file(path: Path, key: str) -> SummarizerError:
    return SummarizerError(f"Data file {path} is empty (set by {key}): it needs a header and at "
                           f"least one row. Fill it or point {key} at another file.")


def _not_utf8_message(path: Path) -> str:
    """Where the first non-UTF-8 byte is; pandas' own offset is relative to a read buffer."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
        where = ""
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        where = f": byte {err.start} (line {line}) is 0x{raw[err.start]:02x}"
    # Korean spreadsheets are usually saved as CP949 (EUC-KR); say so when the bytes decode as it.
    try:
        raw.decode("cp949")
        hint = (f" It decodes as CP949/EUC-KR: `iconv -f cp949 -t utf-8 {path.name} > "
                f"utf8{path.suffix}`.")
    except UnicodeDecodeError:
        hint = ""
    return f"{path} is not UTF-8 text{where}. Re-save it with UTF-8 encoding.{hint}"


def _json_error_location(path: Path) -> str:
    """` (line N)` of the first malformed JSON line or document, when `json` can point at it."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    json.loads(line)
                except json.JSONDecodeError:
                    return f" (line {number})"
        return ""
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        return f" (line {err.lineno}, column {err.colno})"
    return ""


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
    write_text_atomic(frame.to_csv(index=False), path)
