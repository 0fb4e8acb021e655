"""The wheel runs every command outside the checkout: its configs ship inside the package.

The wheel of the checkout is installed into a folder of its own and put first on `PYTHONPATH`,
so the commands below import the installed copy, not the checkout or an editable install, and
run from a directory that holds neither.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from summarizer.data import sample
from tests.conftest import ROOT

# Top-level folders of a checkout that are not part of the project (.gitignore).
LOCAL_FOLDERS = {".git", ".venv", "build", "outputs", "multirun", "data", "wandb", "wheelhouse"}
CACHES = {"__pycache__", ".pytest_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Installed:
    wheel: Path
    site: Path  # what `pip install --target` wrote
    work: Path  # the directory the commands start in


def _copy_checkout(target: Path) -> Path:
    """The checkout without its local folders: building in place would leave `build/` and
    `*.egg-info` in it, and setuptools copies a stale `build/lib` into the next wheel."""

    def ignored(directory: str, names: list[str]) -> list[str]:
        skipped = CACHES | (LOCAL_FOLDERS if Path(directory) == ROOT else set())
        return [name for name in names if name in skipped or name.endswith(".egg-info")]

    shutil.copytree(ROOT, target, ignore=ignored)
    return target


def _pip(*args: str) -> None:
    # Offline: no index, and the build uses the setuptools already installed.
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    source = _copy_checkout(base / "source")
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(base / "dist"),
         str(source))
    [wheel] = (base / "dist").glob("summarizer-*.whl")
    site = base / "site"
    _pip("install", "--no-deps", "--no-index", "--target", str(site), str(wheel))
    work = base / "work"
    work.mkdir()
    assert not work.resolve().is_relative_to(ROOT)
    return Installed(wheel, site, work)


def command(installed: Installed, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """`python <args>` in the work directory with only the installed wheel on `PYTHONPATH`."""
    env = {**os.environ, "PYTHONPATH": str(installed.site), "HF_HUB_OFFLINE": "1"}
    # The sample goes to the work directory's data/, written by the installed package.
    env.pop("SUMMARIZER_DATA_DIR", None)
    proc = subprocess.run([sys.executable, *args], cwd=installed.work, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (f"python {' '.join(args)} failed ({proc.returncode}):\n"
                                  f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def test_wheel_holds_every_config_and_module(installed):
    in_wheel = set(zipfile.ZipFile(installed.wheel).namelist())
    package = ROOT / "summarizer"
    configs = {path.relative_to(ROOT).as_posix() for path in (package / "conf").rglob("*.yaml")}
    assert configs, "the checkout has its configs in summarizer/conf"
    assert {name for name in in_wheel if name.startswith("summarizer/conf/")} == configs
    modules = {path.relative_to(ROOT).as_posix() for path in package.rglob("*.py")}
    assert modules - in_wheel == set()


def test_commands_import_the_installed_wheel(installed):
    imported = Path(command(installed, "-c", "import summarizer; print(summarizer.__file__)")
                    .stdout.strip())
    assert imported.is_relative_to(installed.site), imported


def test_train_composes_its_config_from_the_wheel(installed):
    job = yaml.safe_load(command(installed, "-m", "summarizer.train", "--cfg", "job").stdout)
    assert {"model", "data", "training", "paths", "logger"} <= set(job)
    assert job["model"]["name"] == "tiny" and job["data"]["name"] == "sample"
    assert job["training"]["epochs"] > 0
    hydra_cfg = yaml.safe_load(
        command(installed, "-m", "summarizer.train", "--cfg", "hydra").stdout)["hydra"]
    [main_source] = [source for source in hydra_cfg["runtime"]["config_sources"]
                     if source["provider"] == "main"]
    assert Path(main_source["path"]) == installed.site / "summarizer" / "conf"


def test_predict_and_score_compose_from_the_wheel(installed):
    help_text = command(installed, "-m", "summarizer.predict", "--help").stdout
    assert "data: dialogsum, dialogsum_ko, from_run, sample" in help_text
    predict = yaml.safe_load(command(installed, "-m", "summarizer.predict", "--cfg", "job").stdout)
    assert predict["name"] == "predict" and predict["split"] == "test"
    score = yaml.safe_load(command(installed, "-m", "summarizer.score", "--cfg", "job").stdout)
    assert score["tokenizer"] == "whitespace" and "predictions" in score


@pytest.mark.slow
def test_debug_fast_training_runs_from_the_wheel(installed):
    command(installed, "-m", "summarizer.train", "debug=fast", "logger=none", timeout=900)
    [run_dir] = (installed.work / "outputs" / "tiny_sample").iterdir()
    assert (run_dir / "final_model" / "model.safetensors").is_file()
    assert (run_dir / "metrics.json").is_file()
    hydra_cfg = yaml.safe_load((run_dir / ".hydra" / "hydra.yaml").read_text(encoding="utf-8"))
    sources = [source["path"] for source in hydra_cfg["hydra"]["runtime"]["config_sources"]]
    assert str(installed.site / "summarizer" / "conf") in sources
    # The installed package generated the sample where the command started, byte for byte.
    for name, digest in sample.SHA256.items():
        assert sample.sha256(installed.work / "data" / "sample" / name) == digest, name
