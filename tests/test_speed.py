"""Speed features: a light start-up, length-grouped and length-sorted batches, the dataset cache."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY_MODULES = ("torch", "transformers")


def imported_modules(*args: str) -> set[str]:
    """Top-level names of every module `python -X importtime <args>` imported."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    assert lines, proc.stderr[-3000:]
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines[1:]}


@pytest.mark.parametrize("flag", ["--help", "--cfg job"])
def test_train_command_starts_without_torch_or_transformers(flag):
    modules = imported_modules("-m", "summarizer.train", *flag.split())
    assert "summarizer" in modules and "hydra" in modules
    assert not modules & set(HEAVY_MODULES), modules & set(HEAVY_MODULES)


def test_package_api_imports_without_torch_or_transformers():
    script = ("import sys; from summarizer import load_config, train, predict, score, "
              "write_submission; import summarizer.train, summarizer.predict, summarizer.score; "
              "import summarizer as s; assert s.train is train and callable(s.predict); "
              f"print(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "[]"
