"""A run killed at any moment continues with `training.resume_from_checkpoint=last` in its own
directory, from its newest complete checkpoint, to the metrics of a run never interrupted."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from summarizer.checkpoints import is_complete_checkpoint, latest_checkpoint, resolve_checkpoint
from summarizer.errors import SummarizerError
from tests.conftest import read_json, run_train, train_once

# Seeded, five epochs of about two seconds each on a CPU, ROUGE above zero from epoch 2, and the
# best epoch before the last, so that the resumed run has to bring the best model back as well.
# save_total_limit=2 leaves the best and the latest checkpoint.
RUN_ARGS = ["debug=fast", "logger=csv", "seed=5", "data.max_train_samples=256",
            "training.epochs=5", "training.learning_rate=3e-3", "training.save_total_limit=2"]
EVAL_KEYS = ("eval_rouge1", "eval_rouge2", "eval_rougeL", "eval_rouge_sum", "eval_loss",
             "eval_gen_len", "best_metric", "epoch")


def step(checkpoint: Path) -> int:
    return int(checkpoint.name.split("-")[1])


# --- which checkpoint `last` takes ------------------------------------------------------------

def make_checkpoint(path: Path, global_step: int) -> Path:
    """A checkpoint with the files the trainer writes: real safetensors weights, torch.save'd
    optimizer and scheduler states, and the trainer state."""
    path.mkdir(parents=True)
    save_file({"encoder.weight": torch.randn(16, 8), "decoder.bias": torch.zeros(8)},
              path / "model.safetensors", metadata={"format": "pt"})
    torch.save({"state": {0: {"exp_avg": torch.randn(16, 8)}}, "param_groups": []},
               path / "optimizer.pt")
    torch.save({"last_epoch": global_step}, path / "scheduler.pt")
    state = {"global_step": global_step, "log_history": [{"loss": 4.2, "step": global_step}]}
    (path / "trainer_state.json").write_text(json.dumps(state, indent=2))
    return path


def cut(path: Path, size: int) -> None:
    """What a process killed while writing `path` leaves: its first `size` bytes."""
    path.write_bytes(path.read_bytes()[:size])


def halve(path: Path) -> None:
    cut(path, path.stat().st_size // 2)


FAULTS = {
    "no optimizer": (lambda c: (c / "optimizer.pt").unlink(), "missing optimizer.pt"),
    "no scheduler": (lambda c: (c / "scheduler.pt").unlink(), "missing scheduler.pt"),
    "no trainer state": (lambda c: (c / "trainer_state.json").unlink(),
                         "missing trainer_state.json"),
    "no weights": (lambda c: (c / "model.safetensors").unlink(), "missing model.safetensors"),
    "weights cut in half": (lambda c: halve(c / "model.safetensors"),
                            "truncated model.safetensors"),
    "weights cut inside the header length": (lambda c: cut(c / "model.safetensors", 5),
                                             "truncated model.safetensors"),
    "weights empty": (lambda c: cut(c / "model.safetensors", 0), "truncated model.safetensors"),
    "trainer state cut mid-file": (lambda c: cut(c / "trainer_state.json", 30),
                                   "truncated trainer_state.json"),
    "optimizer cut in half": (lambda c: halve(c / "optimizer.pt"), "truncated optimizer.pt"),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_an_incomplete_newest_checkpoint_is_skipped(tmp_path, caplog, fault):
    run = tmp_path / "tiny_sample" / "run"
    older = make_checkpoint(run / "checkpoint-10", 10)
    newest = make_checkpoint(run / "checkpoint-20", 20)
    assert latest_checkpoint(run) == newest
    breaks, problem = FAULTS[fault]
    breaks(newest)
    with caplog.at_level(logging.WARNING, logger="summarizer"):
        assert latest_checkpoint(run) == older
        assert resolve_checkpoint("last", run) == str(older)
        assert resolve_checkpoint(str(run), tmp_path / "new_run") == str(older)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"Skipping incomplete checkpoint {newest} ({problem})"] * 3


def test_every_problem_of_a_checkpoint_is_named(tmp_path, caplog):
    run = tmp_path / "run"
    older = make_checkpoint(run / "checkpoint-10", 10)
    newest = make_checkpoint(run / "checkpoint-20", 20)
    cut(newest / "model.safetensors", 100)
    (newest / "scheduler.pt").unlink()
    (newest / "trainer_state.json").unlink()
    with caplog.at_level(logging.WARNING, logger="summarizer"):
        assert latest_checkpoint(run) == older
    assert (f"Skipping incomplete checkpoint {newest} (truncated model.safetensors, missing "
            "trainer_state.json, missing scheduler.pt)") in caplog.text


def test_a_safetensors_header_that_does_not_cover_the_file_is_truncated(tmp_path):
    checkpoint = make_checkpoint(tmp_path / "checkpoint-5", 5)
    weights = checkpoint / "model.safetensors"
    data = weights.read_bytes()
    header_size = int.from_bytes(data[:8], "little")
    # Header intact, tensors cut by one byte; then a header whose JSON is cut short.
    weights.write_bytes(data[:-1])
    assert not is_complete_checkpoint(checkpoint)
    weights.write_bytes(data[:8 + header_size // 2])
    assert not is_complete_checkpoint(checkpoint)
    weights.write_bytes(data)
    assert is_complete_checkpoint(checkpoint)


def test_resume_from_an_incomplete_checkpoint_directory_says_what_is_wrong(tmp_path):
    checkpoint = make_checkpoint(tmp_path / "run" / "checkpoint-20", 20)
    (checkpoint / "optimizer.pt").unlink()
    with pytest.raises(SummarizerError) as err:
        resolve_checkpoint(str(checkpoint), tmp_path / "new_run")
    assert str(err.value).startswith(
        f"training.resume_from_checkpoint={checkpoint} is incomplete (missing optimizer.pt)")
    assert "Give the run directory instead" in str(err.value)


def test_when_every_checkpoint_is_incomplete_last_uses_an_earlier_run(tmp_path, caplog):
    earlier = make_checkpoint(
        tmp_path / "tiny_sample" / "2026-01-01_00-00-00" / "checkpoint-30", 30)
    run = tmp_path / "tiny_sample" / "2026-01-02_00-00-00"
    broken = make_checkpoint(run / "checkpoint-10", 10)
    cut(broken / "model.safetensors", 64)
    with caplog.at_level(logging.WARNING, logger="summarizer"):
        assert resolve_checkpoint("last", run) == str(earlier)
    assert f"Skipping incomplete checkpoint {broken} (truncated model.safetensors)" in caplog.text


def test_auto_resumes_only_from_its_own_run_directory(tmp_path):
    """`auto` (the submitit presets): a requeued sweep trial carries on from its own folder; a
    new trial starts afresh, never from a sibling trial's checkpoint as `last` would."""
    sibling = make_checkpoint(tmp_path / "sweep" / "0" / "checkpoint-30", 30)
    trial = tmp_path / "sweep" / "1"
    trial.mkdir()
    assert resolve_checkpoint("auto", trial) is None
    assert resolve_checkpoint("last", trial) == str(sibling)
    make_checkpoint(trial / "checkpoint-10", 10)
    newest = make_checkpoint(trial / "checkpoint-20", 20)
    assert resolve_checkpoint("auto", trial) == str(newest)
    halve(newest / "optimizer.pt")
    assert resolve_checkpoint("auto", trial) == str(trial / "checkpoint-10")


# --- end to end: kill, break, resume ----------------------------------------------------------

@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, data_dir) -> Path:
    return train_once(tmp_path_factory, "uninterrupted", RUN_ARGS)


def kill_after_first_checkpoint(run_dir: Path) -> Path:
    """Start the run, SIGKILL it as soon as its first checkpoint is complete; that checkpoint."""
    output = run_dir.parent / "killed_run.out"
    cmd = [sys.executable, "-m", "summarizer.train", f"hydra.run.dir={run_dir}", *RUN_ARGS]
    with output.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=run_dir.parent, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ})
        try:
            deadline = time.monotonic() + 600
            while proc.poll() is None and time.monotonic() < deadline:
                if any(is_complete_checkpoint(p) for p in run_dir.glob("checkpoint-*")):
                    break
                time.sleep(0.02)
            if proc.poll() is not None:
                pytest.fail(f"The run ended (status {proc.returncode}) before it could be killed "
                            f"after a checkpoint; nothing was interrupted:\n"
                            f"{output.read_text()[-3000:]}")
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not (run_dir / "metrics.json").exists()
    checkpoint = latest_checkpoint(run_dir)
    assert checkpoint is not None
    return checkpoint


def evaluations(run_dir: Path) -> list[float]:
    """Epoch, eval_loss and eval_rouge_sum of every evaluation in log.csv, in order."""
    evals = pd.read_csv(run_dir / "log.csv").dropna(subset=["eval_rouge_sum"])
    return evals[["epoch", "eval_loss", "eval_rouge_sum"]].to_numpy().ravel().tolist()


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_metrics_of_an_uninterrupted_one(uninterrupted, tmp_path):
    expected = read_json(uninterrupted / "metrics.json")
    final_step = max(step(p) for p in uninterrupted.glob("checkpoint-*"))
    run_dir = tmp_path / "run"
    checkpoint = kill_after_first_checkpoint(run_dir)
    assert step(checkpoint) < final_step  # really stopped mid-run, epochs still to train

    run_train([*RUN_ARGS, "training.resume_from_checkpoint=last"], run_dir)
    log = (run_dir / "train.log").read_text(encoding="utf-8")
    assert f"Resuming from {checkpoint}" in log
    resumed = read_json(run_dir / "metrics.json")
    for key in EVAL_KEYS:
        assert resumed[key] == pytest.approx(expected[key], abs=1e-6), key
    assert Path(resumed["best_checkpoint"]).name == Path(expected["best_checkpoint"]).name
    assert ((run_dir / "dev_predictions.csv").read_text(encoding="utf-8")
            == (uninterrupted / "dev_predictions.csv").read_text(encoding="utf-8"))
    # log.csv keeps the epochs before the kill, each evaluation once.
    assert evaluations(run_dir) == pytest.approx(evaluations(uninterrupted), abs=1e-6)
    # save_total_limit=2 keeps the best and the latest checkpoint, in both runs.
    kept = {p.name for p in uninterrupted.glob("checkpoint-*")}
    assert kept == {Path(expected["best_checkpoint"]).name, f"checkpoint-{final_step}"}
    assert {p.name for p in run_dir.glob("checkpoint-*")} == kept


@pytest.mark.slow
def test_a_run_killed_while_writing_a_checkpoint_resumes_from_the_one_before(data_dir, tmp_path):
    # Nothing is learnt at this learning rate, so early stopping (patience 2) ends the run at
    # epoch 3; the resumed run has to carry on the patience count of its checkpoint to stop there.
    args = ["debug=fast", "logger=csv", "training.epochs=6", "training.early_stopping_patience=2",
            "training.learning_rate=1e-12", "training.save_total_limit=null"]
    run_dir = tmp_path / "run"
    run_train(args, run_dir)
    expected = read_json(run_dir / "metrics.json")
    assert expected["epoch"] == 3.0
    checkpoints = sorted(run_dir.glob("checkpoint-*"), key=step)
    newest, before = checkpoints[-1], checkpoints[-2]
    # What a kill while the trainer saved the newest checkpoint leaves: half its weights, and
    # no final model or metrics.
    halve(newest / "model.safetensors")
    shutil.rmtree(run_dir / "final_model")
    (run_dir / "metrics.json").unlink()

    run_train([*args, "training.resume_from_checkpoint=last"], run_dir)
    log = (run_dir / "train.log").read_text(encoding="utf-8")
    assert f"Skipping incomplete checkpoint {newest} (truncated model.safetensors)" in log
    assert f"Resuming from {before}" in log
    resumed = read_json(run_dir / "metrics.json")
    assert resumed["epoch"] == 3.0
    for key in EVAL_KEYS:
        assert resumed[key] == pytest.approx(expected[key], abs=1e-6), key
    assert is_complete_checkpoint(newest)  # written again by the resumed run
    assert (run_dir / "final_model" / "model.safetensors").is_file()

    # Killed once more, after early stopping, while the final model was being saved: the run
    # resumes from the checkpoint where it stopped and has nothing left to train.
    cut(run_dir / "final_model" / "model.safetensors", 1000)
    (run_dir / "metrics.json").unlink()
    run_train([*args, "training.resume_from_checkpoint=last"], run_dir)
    assert f"Resuming from {newest}" in (run_dir / "train.log").read_text(encoding="utf-8")
    resumed = read_json(run_dir / "metrics.json")
    assert resumed["epoch"] == 3.0
    for key in EVAL_KEYS:
        assert resumed[key] == pytest.approx(expected[key], abs=1e-6), key
    assert newest == max(run_dir.glob("checkpoint-*"), key=step)
    with safe_open(run_dir / "final_model" / "model.safetensors", "pt") as weights:
        assert weights.keys()  # saved whole this time
