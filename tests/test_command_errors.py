"""How the commands end on a user's mistake: the project's message and exit 2, no traceback, no
secret on the console or in saved files, and a run directory marked as failed."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
from hydra.utils import execution_whitelist
from omegaconf import OmegaConf

from summarizer.atomic_files import directory_replaced_whole
from summarizer.errors import SummarizerError
from summarizer.run_files import (
    FAILED_FILE,
    FINAL_MODEL,
    mark_failed,
)
from summarizer.trainer import built
from summarizer.whitelist import EXECUTION_WHITELIST
from tests.conftest import run_train

SECRET = "sk-live-0a1b2c3d4e5f"


@pytest.mark.parametrize("override,message", [
    ("training.precision=fp64",
     "training.precision='fp64' is invalid: it must be one of auto, fp32, fp16, bf16."),
    ("training.tf32=maybe",
     "training.tf32='maybe' is invalid: it must be one of auto, true, false, null."),
    ("training.pad_to_multiple_of=0",
     "training.pad_to_multiple_of=0 is invalid: it must be one of auto, null or an integer >= 1."),
    ("training.group_by_length=maybe",
     "training.group_by_length='maybe' is invalid: it must be true or false."),
    ("training.args.eval_strategy=sometimes",
     "training.args.eval_strategy='sometimes' is invalid: it must be one of no, steps, epoch."),
])
def test_values_read_by_resolvers_end_in_the_message(data_dir, tmp_path, override, message):
    proc = run_train(["debug=fast", "logger=none", override], tmp_path / "run", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert message in output
    assert "Traceback" not in output and "Data sample" not in output  # nothing loaded


def test_an_api_key_on_the_command_line_is_refused_without_showing_it(data_dir, tmp_path):
    proc = run_train(["debug=fast", "logger=wandb", f"+logger.api_key={SECRET}"], tmp_path / "run",
                     check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert ("logger.api_key is not an option here: logger builds "
            "summarizer.loggers.WandbLogger, which takes project, entity") in output
    assert "set them in the environment (e.g. WANDB_API_KEY, HF_TOKEN)" in output
    assert SECRET not in output
    assert "Error executing job" not in output and "Traceback" not in output
    for saved in (tmp_path / "run" / ".hydra").glob("*.yaml"):
        assert SECRET not in saved.read_text(encoding="utf-8"), saved


def test_score_masks_command_line_secrets_in_its_saved_config(tmp_path):
    frame = pd.DataFrame({"fname": ["a", "b"], "summary": ["둘이 만난다", "회의를 한다"]})
    frame.to_csv(tmp_path / "pred.csv", index=False)
    frame.to_csv(tmp_path / "ref.csv", index=False)
    proc = subprocess.run(
        [sys.executable, "-m", "summarizer.score", f"predictions={tmp_path / 'pred.csv'}",
         f"references={tmp_path / 'ref.csv'}", f"+hf_token={SECRET}",
         f"hydra.run.dir={tmp_path / 'out'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env={**os.environ})
    assert proc.returncode == 0, proc.stderr
    saved = sorted((tmp_path / "out" / ".hydra").glob("*.yaml"))
    assert [path.name for path in saved] == ["config.yaml", "hydra.yaml", "overrides.yaml"]
    for path in saved:
        text = path.read_text(encoding="utf-8")
        assert SECRET not in text, path
    assert "***" in (tmp_path / "out" / ".hydra" / "overrides.yaml").read_text(encoding="utf-8")


def test_a_failed_run_is_marked_and_keeps_its_log(data_dir, tmp_path):
    run_dir = tmp_path / "run"
    proc = run_train(["debug=fast", "logger=none", "data=dialogsum_ko",
                      f"data.dir={tmp_path / 'missing'}"], run_dir,
                     check=False)
    assert proc.returncode == 2, proc.stderr
    failed = (run_dir / FAILED_FILE).read_text(encoding="utf-8")
    assert "SummarizerError: Data file" in failed and "does not exist (set by data.train_file)" \
        in failed
    assert "does not exist" in (run_dir / "train.log").read_text(encoding="utf-8")
    assert not (run_dir / "metrics.json").exists()


def test_the_failure_mark_masks_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("SERVICE_API_KEY", SECRET)
    mark_failed(tmp_path, RuntimeError(f"could not log in with {SECRET}"))
    text = (tmp_path / FAILED_FILE).read_text(encoding="utf-8")
    assert "RuntimeError: could not log in with ***" in text


def test_the_final_model_is_replaced_whole_or_not_at_all(tmp_path):
    final = tmp_path / FINAL_MODEL
    final.mkdir()
    (final / "model.safetensors").write_text("old")
    with pytest.raises(KeyboardInterrupt), directory_replaced_whole(final) as partial:
        partial.mkdir()
        (partial / "model.safetensors").write_text("half")
        raise KeyboardInterrupt  # killed while saving
    assert (final / "model.safetensors").read_text() == "old"
    with directory_replaced_whole(final) as partial:
        partial.mkdir()
        (partial / "model.safetensors").write_text("new")
    assert (final / "model.safetensors").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [FINAL_MODEL]


def test_what_transformers_refuses_while_building_is_the_users_mistake(tmp_path):
    node = OmegaConf.create({"_target_": "transformers.Seq2SeqTrainingArguments",
                             "output_dir": str(tmp_path), "eval_strategy": "epoch",
                             "save_strategy": "steps", "load_best_model_at_end": True})
    with execution_whitelist(EXECUTION_WHITELIST), pytest.raises(SummarizerError) as err:
        built(node, "The training arguments (training.args)", "training.* or training.args.*")
    message = str(err.value)
    assert message.startswith("The training arguments (training.args) could not be built: ")
    assert "load_best_model_at_end" in message
    assert message.endswith("Change the training.* or training.args.* keys on the command line "
                            "or in the preset that sets them.")
