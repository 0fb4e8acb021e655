"""A run directory moved (or copied) elsewhere resumes and brings back its best checkpoint from
where it is now, never from its old place, and its files name the best checkpoint relative to
the run directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from summarizer.checkpoints import relocated_best_checkpoint
from summarizer.run_files import path_in_run
from tests.conftest import read_json, run_train
from tests.test_crash_resume import make_checkpoint, step

# Saves every epoch; the weights of the epochs differ.
RUN_ARGS = ["debug=fast", "training.epochs=2"]


def weights(directory: Path) -> dict:
    return load_file(directory / "model.safetensors")


def same_weights(first: Path, second: Path) -> bool:
    left, right = weights(first), weights(second)
    return left.keys() == right.keys() and all(left[key].equal(right[key]) for key in left)


def plant_decoy(run_dir: Path, old_place: Path) -> None:
    """Another run at the moved run's old place: the same checkpoint names, other weights."""
    shutil.copytree(run_dir, old_place)
    for checkpoint in old_place.glob("checkpoint-*"):
        save_file({key: tensor + 1.0 for key, tensor in weights(checkpoint).items()},
                  checkpoint / "model.safetensors", metadata={"format": "pt"})


def test_the_best_checkpoint_is_looked_up_where_the_run_is_now(tmp_path):
    old = make_checkpoint(tmp_path / "old" / "checkpoint-8", 8)
    moved = make_checkpoint(tmp_path / "moved" / "checkpoint-8", 8)
    resumed = make_checkpoint(tmp_path / "moved" / "checkpoint-16", 16)
    # In this run's directory, although the old place still holds a checkpoint of that name.
    assert relocated_best_checkpoint(str(old), tmp_path / "moved", resumed) == str(moved)
    # Next to the resumed checkpoint when the run goes on in a new directory.
    assert relocated_best_checkpoint(str(old), tmp_path / "new", resumed) == str(moved)
    # Nowhere else: never the old place.
    shutil.rmtree(moved)
    assert relocated_best_checkpoint(str(old), tmp_path / "new", resumed) is None
    assert relocated_best_checkpoint(None, tmp_path / "moved", resumed) is None


def test_run_files_name_a_path_inside_the_run_relative_to_it(tmp_path):
    run_dir = tmp_path / "run"
    assert path_in_run(str(run_dir / "checkpoint-40"), run_dir) == "checkpoint-40"
    assert path_in_run(str(tmp_path / "other" / "checkpoint-40"), run_dir) == str(
        tmp_path / "other" / "checkpoint-40")
    assert path_in_run(None, run_dir) is None


@pytest.mark.slow
def test_a_moved_run_resumes_with_its_own_best_checkpoint(data_dir, tmp_path):
    old_place, moved = tmp_path / "run", tmp_path / "moved_run"
    run_train(RUN_ARGS, old_place)
    best = read_json(old_place / "metrics.json")["best_checkpoint"]
    assert best.startswith("checkpoint-") and (old_place / best).is_dir()
    assert sorted(map(step, old_place.glob("checkpoint-*"))) == [8, 16]
    old_place.rename(moved)
    plant_decoy(moved, old_place)

    # Killed while saving its final model: nothing left to train, the best model is loaded from
    # the path the newest checkpoint's trainer state records, where the decoy is now.
    shutil.rmtree(moved / "final_model")
    (moved / "metrics.json").unlink()
    run_train([*RUN_ARGS, "training.resume_from_checkpoint=auto"], moved)
    log = (moved / "train.log").read_text(encoding="utf-8")
    assert f"Resuming from {moved / 'checkpoint-16'}" in log
    assert f"Best checkpoint so far: {moved / best} (recorded as {old_place / best})" in log
    assert read_json(moved / "metrics.json")["best_checkpoint"] == best
    assert same_weights(moved / "final_model", moved / best)
    assert not same_weights(moved / "final_model", old_place / best)

    # The old place gone, trained on for another epoch.
    shutil.rmtree(old_place)
    proc = run_train([*RUN_ARGS, "training.epochs=3", "training.resume_from_checkpoint=auto"],
                     moved)
    assert "does not exist anymore" not in proc.stderr  # transformers ignoring the best one
    metrics = read_json(moved / "metrics.json")
    assert metrics["epoch"] == 3.0
    assert metrics["best_checkpoint"].startswith("checkpoint-")
    assert same_weights(moved / "final_model", moved / metrics["best_checkpoint"])
    summary = (moved / "summary.md").read_text(encoding="utf-8")
    assert f"(`{metrics['best_checkpoint']}`)" in summary
