"""Every command of the package builds only whitelisted objects: `_target_`s injected anywhere in
the config, Hydra's own node included, stop the command with the project's message and exit 2
before anything runs."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from summarizer.command import hydra_command
from tests.conftest import ROOT

PACKAGE = ROOT / "summarizer"


def command_modules() -> list[str]:
    """Modules whose `main` is decorated with `@hydra_command(...)`."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any(
                    isinstance(d, ast.Call) and getattr(d.func, "id", None) == "hydra_command"
                    for d in node.decorator_list):
                module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                found.append(module)
    return found


COMMANDS = command_modules()
# What each command needs to get past its own required keys.
REQUIRED = {
    "summarizer.commands.train": [],
    "summarizer.commands.predict": ["run=some_run"],
    "summarizer.commands.score": ["predictions=p.csv", "references=r.csv"],
    "summarizer.commands.average": ["run=some_run", "last=2"],
    "summarizer.commands.tune": ["run=some_run"],
}


def entry_module(module: str) -> str:
    """What `python -m` runs for a command: `summarizer.train` for `summarizer.commands.train`."""
    return f"summarizer.{module.rpartition('.')[2]}"


def test_every_hydra_entry_point_goes_through_the_project_wrapper():
    assert set(COMMANDS) == set(REQUIRED)
    for module in COMMANDS:
        main = importlib.import_module(module).main
        assert main.config_name == module.rpartition(".")[2]
    direct = [path.name for path in PACKAGE.rglob("*.py")
              if "hydra.main(" in path.read_text(encoding="utf-8") and path.name != "command.py"]
    assert direct == [], "call hydra through summarizer.command.hydra_command"
    assert hydra_command.__module__ == "summarizer.command"


def injections(tmp_path: Path) -> tuple[list[str], list[str], dict[str, Path]]:
    """Overrides that each ask to run a refused callable, the keys they set, and the files that
    would exist (or change) had any of them run."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    marks = {name: tmp_path / f"{name}.mark" for name in ("touch", "copy", "system", "log")}
    overrides = [
        f"+hydra.callbacks.evil={{_target_:builtins.open,file:{victim},mode:w}}",
        f"+hydra.launcher.extra={{_target_:pathlib.Path.touch,self:{marks['touch']}}}",
        f"+smuggled={{_target_:shutil.copy,src:{victim},dst:{marks['copy']}}}",
        "+deep.er.still={_target_:importlib.import_module,name:antigravity}",
        f"+listed=[1,{{_target_:os.system,command:'touch {marks['system']}'}}]",
        "hydra/job_logging=evil",
    ]
    keys = ["hydra.callbacks.evil._target_=builtins.open",
            "hydra.launcher.extra._target_=pathlib.Path.touch",
            "smuggled._target_=shutil.copy",
            "deep.er.still._target_=importlib.import_module",
            "listed.1._target_=os.system",
            "hydra.job_logging.formatters.simple.()=pathlib.Path.touch"]
    logging_dir = tmp_path / "conf" / "hydra" / "job_logging"
    logging_dir.mkdir(parents=True)
    (logging_dir / "evil.yaml").write_text(
        "version: 1\nformatters:\n  simple:\n    '()': pathlib.Path.touch\n"
        f"    self: {marks['log']}\nroot:\n  level: INFO\n", encoding="utf-8")
    return overrides, keys, {"victim": victim, **marks}


@pytest.mark.parametrize("module", COMMANDS)
def test_injected_targets_are_refused_before_anything_runs(module, tmp_path):
    overrides, keys, files = injections(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", entry_module(module), "--config-dir", str(tmp_path / "conf"),
         *REQUIRED[module], *overrides, f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ})
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert "which the execution whitelist (EXECUTION_WHITELIST in summarizer/whitelist.py) does " \
           "not allow" in output
    for key in keys:
        assert key in output, key
    assert "Traceback" not in output
    assert files["victim"].read_text() == "keep me"
    for name, path in files.items():
        assert name == "victim" or not path.exists(), name
    assert not (tmp_path / "run").exists()  # not even the run directory


def test_hydra_rerun_from_a_pickle_is_refused(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "summarizer.score", "--experimental-rerun",
                           str(tmp_path / "config.pickle")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "--experimental-rerun is refused: it loads a pickled config" in proc.stderr


def test_plugins_the_sweeper_and_launcher_build_are_allowed(data_dir):
    """The project's sweeper, Hydra's launchers and Optuna's samplers pass the check."""
    from summarizer.command import check_command_line
    from summarizer.commands.train import main

    for overrides in (["hparams_search=optuna", "launcher=joblib"],
                      ["launcher=submitit_slurm"],
                      ["hparams_search=optuna",
                       "hydra.sweeper.pruner={_target_:optuna.pruners.MedianPruner}"]):
        check_command_line("train", ["--multirun", *overrides], main.__wrapped__)
