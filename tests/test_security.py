"""What a config may make the runner do: build only whitelisted objects, never run a model's own
code unless the user said so outside any config file, and keep weights out of pickles."""

from __future__ import annotations

import pytest
from hydra.errors import InstantiationException
from hydra.utils import execution_whitelist, instantiate
from omegaconf import OmegaConf

from summarizer.errors import SummarizerError
from summarizer.remote_code import TRUST_REMOTE_CODE_ENV, check_trust_remote_code
from summarizer.resolvers import register_resolvers
from summarizer.whitelist import EXECUTION_WHITELIST, check_targets
from tests.conftest import run_train
from tests.test_validation import task_config

register_resolvers()

# An experiment file someone shares: it looks like a preset, and asks to write a file.
EVIL_EXPERIMENT = """\
# @package _global_
training:
  callbacks:
    progress:
      _target_: pathlib.Path.write_text
      _args_: [{path}, pwned]
"""

# A preset that switches on remote code, and tries to make that look like the user's own choice.
REMOTE_CODE_EXPERIMENT = """\
# @package _global_
defaults:
  - override /model: kobart
model:
  name_or_path: {model}
  trust_remote_code: true
hydra:
  overrides:
    task: [model.trust_remote_code=true]
  job:
    env_set:
      SUMMARIZER_TRUST_REMOTE_CODE: "1"
"""


def experiment_dir(tmp_path, name: str, text: str):
    """A config directory with `experiment/<name>.yaml`, for `hydra.searchpath`."""
    directory = tmp_path / "shared_conf"
    (directory / "experiment").mkdir(parents=True)
    (directory / "experiment" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return directory


@pytest.mark.parametrize("target,args", [
    ("shutil.copyfile", {"src": "{src}", "dst": "{dst}"}),
    ("pathlib.Path.write_text", {"_args_": ["{dst}", "pwned"]}),
    ("torch.load", {"f": "{src}", "weights_only": False}),
])
def test_whitelist_refuses_what_hydra_alone_allows(tmp_path, target, args):
    src, dst = tmp_path / "src.txt", tmp_path / "dst.txt"
    src.write_text("secret")
    node = OmegaConf.create({"_target_": target, **args})
    node = OmegaConf.create(OmegaConf.to_yaml(node).format(src=src, dst=dst))
    with (pytest.raises(InstantiationException, match="not in the Hydra execution whitelist"),
          execution_whitelist(EXECUTION_WHITELIST)):
        instantiate(node)
    assert not dst.exists()
    # The pre-check names the key before anything is built.
    cfg = task_config([f"+training.callbacks.evil._target_={target}"])
    with pytest.raises(SummarizerError, match=f"training.callbacks.evil._target_={target}, which"):
        check_targets(cfg)


def test_run_with_a_forbidden_target_stops_before_loading_anything(data_dir, tmp_path):
    """A command-line override and a shared experiment file, each asking to write a file."""
    src, copied, written = tmp_path / "src.txt", tmp_path / "copied.txt", tmp_path / "written.txt"
    src.write_text("secret")
    shared = experiment_dir(tmp_path, "shared", EVIL_EXPERIMENT.format(path=written))
    proc = run_train(["debug=fast", "logger=none", f"hydra.searchpath=[file://{shared}]",
                      "experiment=shared",
                      "+training.callbacks.evil._target_=shutil.copyfile",
                      f"+training.callbacks.evil.src={src}",
                      f"+training.callbacks.evil.dst={copied}"],
                     tmp_path / "run", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert ("The config asks to call training.callbacks.progress._target_=pathlib.Path.write_text, "
            "training.callbacks.evil._target_=shutil.copyfile, which the execution whitelist "
            "(EXECUTION_WHITELIST in summarizer/whitelist.py) does not allow") in output
    assert "Traceback" not in output
    assert "Data sample" not in output and "Built" not in output  # nothing loaded
    assert not copied.exists() and not written.exists()


def test_remote_code_is_off_by_default(monkeypatch):
    monkeypatch.delenv(TRUST_REMOTE_CODE_ENV, raising=False)
    cfg = task_config(["model=kobart"])
    assert cfg.model.tokenizer.trust_remote_code is False
    assert cfg.model.model.trust_remote_code is False
    check_trust_remote_code(cfg, command_line=["model=kobart"])


def test_remote_code_from_a_config_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(TRUST_REMOTE_CODE_ENV, raising=False)
    shared = experiment_dir(tmp_path, "shared", REMOTE_CODE_EXPERIMENT.format(model="/models/x"))
    command_line = [f"hydra.searchpath=[file://{shared}]", "experiment=shared"]
    cfg = task_config(command_line)
    assert cfg.model.model.trust_remote_code is True
    with pytest.raises(SummarizerError) as err:
        check_trust_remote_code(cfg, command_line)
    assert str(err.value) == (
        "model.trust_remote_code=true is set by a config file, and a config file may not let a "
        "model run the Python code its repository ships. If you trust /models/x, pass "
        "model.trust_remote_code=true on the command line or set SUMMARIZER_TRUST_REMOTE_CODE=1.")


@pytest.mark.parametrize("override", ["model.trust_remote_code=true",
                                      "model.model.trust_remote_code=true"])
def test_remote_code_from_the_command_line_is_allowed(monkeypatch, override):
    monkeypatch.delenv(TRUST_REMOTE_CODE_ENV, raising=False)
    command_line = ["model=kobart", override]
    check_trust_remote_code(task_config(command_line), command_line)


def test_remote_code_from_the_environment_reaches_the_loaders(monkeypatch):
    monkeypatch.setenv(TRUST_REMOTE_CODE_ENV, "1")
    cfg = task_config(["model=kobart"])
    assert cfg.model.tokenizer.trust_remote_code is True
    assert cfg.model.model.trust_remote_code is True
    check_trust_remote_code(cfg, command_line=["model=kobart"])


def test_run_whose_preset_switches_on_remote_code_stops(data_dir, tmp_path, monkeypatch):
    """The preset also fills Hydra's record of the command line and `hydra.job.env_set`."""
    monkeypatch.delenv(TRUST_REMOTE_CODE_ENV, raising=False)
    model = tmp_path / "remote_model"
    shared = experiment_dir(tmp_path, "shared", REMOTE_CODE_EXPERIMENT.format(model=model))
    proc = run_train(["debug=fast", f"hydra.searchpath=[file://{shared}]", "experiment=shared"],
                     tmp_path / "run", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert ("model.trust_remote_code=true is set by a config file, and a config file may not let "
            f"a model run the Python code its repository ships. If you trust {model}") in output
    assert "Traceback" not in output and "Data " not in output


@pytest.mark.slow
def test_weights_are_saved_as_safetensors(trained_run):
    for directory in [trained_run / "final_model", *trained_run.glob("checkpoint-*")]:
        assert (directory / "model.safetensors").is_file(), directory
        # training_args.bin (the trainer's arguments) is no weight file and nothing loads it.
        assert not list(directory.glob("pytorch_model*.bin")), directory
