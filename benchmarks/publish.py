"""How a benchmark hands out its result: a markdown report headed by the exact command that made
it, printed and optionally written to a file, then the raw numbers as one JSON line."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def publish(body: str, results: object, report: str | None) -> None:
    command = " ".join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]])
    text = f"Command: `{command}`\n\n{body}"
    print(text)
    print(json.dumps(results))
    if report:
        Path(report).write_text(text, encoding="utf-8")
