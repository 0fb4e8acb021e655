"""The sample's CSV files: written in the competition layout, checked against their known bytes."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from summarizer.atomic_files import write_text_atomic
from summarizer.data.sample.splits import SIZES, build

COLUMNS = ("fname", "dialogue", "summary", "topic")
# Expected bytes of each generated file; `ensure` regenerates whatever differs.
SHA256: dict[str, str] = {
    "train.csv": "f8943bcff051af0a21a6a7e44c904cf08b001610ba87b85def4a35b2a0a352a7",
    "dev.csv": "9568e29020686c3a0277f9bb994a09985cb0630a58ff1fcb44c629b158be9dfd",
    "test.csv": "b743c151e090d547da4cdb88360d02f691cbbb2f610719da3bba177b4d3c3f12",
}


def csv_text(rows: list[list[str]]) -> str:
    """Standard CSV quoting with `\\n` line ends on every platform, including inside the quoted
    dialogue field (no newline translation on the way to the file)."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def generate(out_dir: str | Path) -> dict[str, Path]:
    """Write train.csv, dev.csv and test.csv (test without summaries) into `out_dir`."""
    out = Path(out_dir)
    paths = {}
    for split in SIZES:
        columns = [column for column in COLUMNS if not (split == "test" and column == "summary")]
        rows = [[getattr(example, column) for column in columns] for example in build(split)]
        paths[split] = out / f"{split}.csv"
        write_text_atomic(csv_text([columns, *rows]), paths[split])
    return paths


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def ensure(out_dir: str | Path) -> Path:
    """`out_dir`, generating the files first when any is missing or not byte-identical to SHA256."""
    out = Path(out_dir)
    for split in SIZES:
        path = out / f"{split}.csv"
        if not path.is_file() or sha256(path) != SHA256.get(path.name):
            generate(out)
            break
    return out
