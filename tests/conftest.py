"""Shared fixtures: offline environment, the generated sample data, and one trained tiny run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from matplotlib.image import imread

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "summarizer" / "conf"

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["WANDB_MODE"] = "offline"
os.environ.setdefault("WANDB_SILENT", "true")
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
# A secret the shared run's config picks up from the environment; reports must never show it.
SECRET_ENV = "SUMMARIZER_TEST_API_KEY"
os.environ[SECRET_ENV] = "env-secret-5d1c9a"
LITERAL_SECRET = "hf-literal-secret-7b2e"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """`paths.data_dir` for every test: the sample data is generated here once."""
    path = tmp_path_factory.mktemp("data")
    os.environ["SUMMARIZER_DATA_DIR"] = str(path)
    from summarizer.data import sample

    sample.ensure(path / "sample")
    return path


@pytest.fixture(scope="module")
def frame(data_dir):
    """The sample's first 200 training rows: what the causal tests' tokenizers learn from."""
    import pandas as pd

    return pd.read_csv(data_dir / "sample" / "train.csv").head(200)


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
    # Secrets in the config: one under a secret name, one interpolated from the environment.
    f"+hub_token={LITERAL_SECRET}",
    f"+report_note=${{oc.env:{SECRET_ENV}}}",
]


def train_once(tmp_path_factory, name: str, args: list[str]) -> Path:
    """A finished run in a fresh temporary directory, for fixtures that share it."""
    run_dir = tmp_path_factory.mktemp(name) / "run"
    run_train(args, run_dir)
    return run_dir


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, data_dir) -> Path:
    return train_once(tmp_path_factory, "shared", SHARED_RUN_ARGS)


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def image_is_a_real_plot(path: Path) -> np.ndarray:
    """The PNG at `path` as pixels, checked to be a drawn figure rather than a blank canvas."""
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] >= 300 and image.shape[1] >= 600, image.shape
    colours = np.unique(image.reshape(-1, image.shape[2]), axis=0)
    assert len(colours) > 50  # lines, markers, text; a blank figure has one colour
    # Not almost all background: the drawing covers a real share of the pixels.
    background = (image[..., :3] > 0.98).all(axis=-1).mean()
    assert background < 0.97, background
    return image
