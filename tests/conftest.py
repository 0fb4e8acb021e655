"""Shared fixtures: offline environment, the generated sample data, and one trained tiny run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["WANDB_MODE"] = "offline"
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """`paths.data_dir` for every test: the sample data is generated here once."""
    path = tmp_path_factory.mktemp("data")
    os.environ["SUMMARIZER_DATA_DIR"] = str(path)
    from summarizer.data import sample

    sample.ensure(path / "sample")
    return path


def compose_train(overrides: list[str] = ()):
    """The config `python -m summarizer.train <overrides>` would run, with Hydra's own keys."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF)):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


def run_train(args: list[str], run_dir: Path, timeout: int = 900,
              check: bool = True) -> subprocess.CompletedProcess:
    """`python -m summarizer.train` in a subprocess, writing into `run_dir`."""
    cmd = [sys.executable, "-m", "summarizer.train", f"hydra.run.dir={run_dir}", *args]
    proc = subprocess.run(cmd, cwd=run_dir.parent, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ})
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


# The one real training run the end-to-end tests share: the default tiny model on a subset of
# the sample, long enough to learn and to leave several checkpoints behind.
SHARED_EPOCHS = 10
SHARED_RUN_ARGS = [
    "logger=csv",
    "data.max_dev_samples=60",
    f"training.epochs={SHARED_EPOCHS}",
    "training.save_total_limit=2",
]


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, data_dir) -> Path:
    run_dir = tmp_path_factory.mktemp("shared") / "run"
    run_train(SHARED_RUN_ARGS, run_dir)
    return run_dir


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
