"""The time-to-ROUGE and epoch-evaluation benchmarks (`benchmarks/`), on a few rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from time_to_rouge import project_evaluations, with_target

SMALL = ["--train-rows", "64", "--dev-rows", "8", "training.epochs=2", "training.batch_size=16"]


def bench(script: str, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, f"benchmarks/{script}", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=900, env={**os.environ})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_train_log_evaluations_are_read_with_their_times(tmp_path):
    (tmp_path / "train.log").write_text(
        "[2026-12-06 03:10:00,000][summarizer.pipeline][INFO] Data sample: 1200 train\n"
        "[2026-12-06 03:10:05,250][summarizer.reports.evaluation_log][INFO] epoch 1/30: eval "
        "loss 6.6742, ROUGE-1/2/L 9.42 / 0.00 / 9.42, rouge_sum 18.84, new best\n"
        "[2026-12-06 03:10:09,500][summarizer.reports.evaluation_log][INFO] epoch 2/30: eval "
        "loss 5.2766, ROUGE-1/2/L 9.68 / 0.03 / 9.68, rouge_sum 19.38, new best\n",
        encoding="utf-8")
    found = project_evaluations(tmp_path)
    assert [(e["epoch"], e["rouge_sum"]) for e in found] == [(1.0, 18.84), (2.0, 19.38)]
    assert found[1]["at"] - found[0]["at"] == pytest.approx(4.25)
    run = {"evaluations": [{"at": 5.0, "epoch": 1.0, "rouge_sum": 18.84},
                           {"at": 9.0, "epoch": 2.0, "rouge_sum": 19.38}]}
    assert with_target(run, 19)["time_to_target_s"] == 9.0
    assert with_target(run, 19)["epoch_to_target"] == 2.0
    assert with_target(run, 50)["time_to_target_s"] is None


def test_time_to_rouge_times_every_side_from_launch(tmp_path):
    report = tmp_path / "report.md"
    proc = bench("time_to_rouge.py", "--target", "0", "--seeds", "3", "--report", str(report),
                 "--variant", "grouped2=training.group_by_length=true "
                 "training.length_group_batches=2", *SMALL)
    runs = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [run["variant"] for run in runs] == ["project", "plain", "grouped2"]
    for run in runs:
        times = [evaluation["at"] for evaluation in run["evaluations"]]
        assert [e["epoch"] for e in run["evaluations"]] == [1.0, 2.0]
        assert 0 < times[0] < times[1] < run["wall_s"]
        assert run["time_to_target_s"] == times[0] and run["epoch_to_target"] == 1.0
        assert run["best_rouge_sum"] >= 0
    text = report.read_text(encoding="utf-8")
    assert text.startswith("Command: `python benchmarks/time_to_rouge.py --target 0")
    assert "| grouped2 (`training.group_by_length=true training.length_group_batches=2`) |" in text
    assert "against the plain script's: project " in text
    # The same runs reported against a target none reached.
    saved = tmp_path / "runs.json"
    saved.write_text(proc.stdout, encoding="utf-8")
    again = bench("time_to_rouge.py", "--target", "1000", "--runs", str(saved), "--variant",
                  "grouped2=training.group_by_length=true training.length_group_batches=2")
    assert again.stdout.count("0 of 1 reached") == 3


def test_epoch_eval_compares_light_and_full_evaluations_of_each_checkpoint(tmp_path):
    proc = bench("epoch_eval.py", "--seeds", "3", *SMALL)
    result = json.loads(proc.stdout.strip().splitlines()[-1])["3"]
    assert [e["epoch"] for e in result["evaluations"]] == [1.0, 2.0]
    # The full run's epochs evaluated with 4 beams, not the preset's greedy.
    assert result["epoch_num_beams"] == 4
    assert result["dev_rows"] == 8
    for name in ("greedy", "greedy_half"):
        light = result["light"][name]
        assert [e["step"] for e in light["evaluations"]] == [e["step"]
                                                            for e in result["evaluations"]]
        assert light["full_s"] > 0 and light["light_s"] > 0
        assert light["full_best_epoch"] in (1.0, 2.0) and light["light_best_epoch"] in (1.0, 2.0)
    assert "training.epoch_eval.dev_rows=4" in proc.stdout
    assert "| greedy: same best checkpoint |" in proc.stdout


def test_drop_in_model_trains_each_side_with_the_final_models_files(data_dir, tmp_path):
    report = tmp_path / "report.md"
    # Long enough for non-empty summaries (about 45 s on 2 cores).
    proc = bench("drop_in_model.py", "--report", str(report), "--", "training.epochs=8",
                 "training.early_stopping_patience=8", "data.max_train_samples=256",
                 "data.max_dev_samples=16", "training.batch_size=16")
    sides = json.loads(proc.stdout.strip().splitlines()[-1])
    assert list(sides) == ["project", "plain", "plain, project labels", "plain, bare tokenizer"]
    # The same ids, seed and settings: the plain script trains exactly the project's model.
    assert sides["plain, project labels"] == sides["project"] > 0
    text = report.read_text(encoding="utf-8")
    assert text.startswith("Command: `python benchmarks/drop_in_model.py --report")
    assert "| plain, bare tokenizer |" in text
