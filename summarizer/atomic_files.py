"""Writes that are whole or absent: a crash or a kill never leaves half a file or half a folder."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_bytes_atomic(data: bytes, path: str | Path) -> None:
    """Write through a temporary file and rename, so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # mkstemp creates the file private (0600); results are meant to be shared.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(text: str, path: str | Path) -> None:
    write_bytes_atomic(text.encode("utf-8"), path)


def write_json_atomic(data: dict, path: str | Path) -> None:
    write_text_atomic(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", path)


@contextmanager
def directory_replaced_whole(path: Path, main: bool = True) -> Iterator[Path]:
    """A temporary sibling of `path` to fill; it becomes `path` in one rename when the block ends
    without error, so a run killed while saving never leaves a half-written `path`.

    Every process of a distributed run gets the same folder (saving is collective); only the
    `main` one clears and renames it.
    """
    partial = path.with_name(f".{path.name}.partial")
    if main:
        shutil.rmtree(partial, ignore_errors=True)
    yield partial
    if not main:
        return
    previous = path.with_name(f".{path.name}.previous")
    shutil.rmtree(previous, ignore_errors=True)
    if path.exists():
        os.replace(path, previous)
    os.replace(partial, path)
    shutil.rmtree(previous, ignore_errors=True)
