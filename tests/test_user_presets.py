"""A user's own presets, outside the package, reach the commands (docs/presets.md).

The example `examples/my_presets/experiment/my_experiment.yaml` is a delta on the tiny model; the
tests check that its values win, and that what it leaves alone keeps the tiny preset's values.
"""

from __future__ import annotations

import os
import subprocess
import sys

from omegaconf import OmegaConf

from summarizer import load_config
from tests.conftest import ROOT

PRESETS = "examples/my_presets"


def assert_my_experiment(cfg) -> None:
    assert cfg.name == "my_experiment"
    assert cfg.model.name == "tiny"
    # The delta.
    assert cfg.training.epochs == 40
    assert cfg.training.learning_rate == 5e-4
    assert cfg.training.generation.num_beams == 2
    # Untouched: the tiny model's own training deltas still apply.
    assert cfg.training.batch_size == 32
    assert cfg.training.generation.max_length == 64


def test_config_dir_adds_an_experiment_of_ones_own():
    cmd = [sys.executable, "-m", "summarizer.train", "--config-dir", PRESETS,
           "experiment=my_experiment", "--cfg", "job"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_my_experiment(OmegaConf.create(proc.stdout))


def test_searchpath_adds_it_in_python_too():
    cfg = load_config("my_experiment", [f"hydra.searchpath=[file://{ROOT / PRESETS}]"])
    assert_my_experiment(cfg)
    # Without the preset the same values are the tiny model's.
    plain = load_config()
    assert (plain.training.epochs, plain.training.learning_rate) == (30, 1e-3)
