"""Launcher presets: parallel trials with joblib, submitit jobs that are requeued and resume."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from summarizer.checkpoints import is_complete_checkpoint
from summarizer.loggers.mlflow_logger import PARENT_TAG
from tests.conftest import compose_train, read_json
from tests.test_loggers import store_runs
from tests.test_sweeps import sweep, trials

pytestmark = pytest.mark.slow


def test_joblib_runs_two_trials_at_once_each_in_its_own_slot(data_dir, tmp_path):
    out = tmp_path / "sweep"
    store = tmp_path / "mlflow"
    sweep(["hparams_search=optuna", "launcher=joblib", "hydra.sweeper.n_trials=2",
           f"hydra.sweep.dir={out}", "logger=mlflow", f"logger.store_dir={store}"], tmp_path)
    table = trials(out)
    assert (table["state"] == "COMPLETE").all() and len(table) == 2
    slots = set()
    for job in ("0", "1"):
        assert (out / job / "metrics.json").is_file()
        log = (out / job / "train.log").read_text(encoding="utf-8")
        found = re.search(r"Sweep slot (\d+) of 2 trials at once: no GPU, (\d+) CPU threads", log)
        assert found, log[-3000:]
        slots.add(found[1])
        assert int(found[2]) == max(1, len(os.sched_getaffinity(0)) // 2)
    # Two slots held at the same time: the trials ran in two live worker processes at once.
    assert slots == {"0", "1"}
    # Both trials ran for the whole batch, so each gets the batch's wall time.
    assert table["runtime_s"].nunique() == 1
    results = yaml.safe_load((out / "optimization_results.yaml").read_text())
    assert results["states"] == {"COMPLETE": 2}
    # Trials started at once share one MLflow parent run, which the first of them created.
    _, runs = store_runs(store)
    parents = [run for run in runs if PARENT_TAG in run.data.tags]
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId")]
    assert len(parents) == 1 and parents[0].data.tags[PARENT_TAG] == str(out)
    assert sorted(run.info.run_name for run in children) == ["tiny_sample-trial-0",
                                                            "tiny_sample-trial-1"]
    assert {run.data.tags["mlflow.parentRunId"] for run in children} == {parents[0].info.run_id}
    assert all(run.info.status == "FINISHED" for run in runs) and len(runs) == 3
    # The command that repeats the best trial runs it here, as a single run.
    command = (out / "summary.md").read_text(encoding="utf-8").split("```bash")[1]
    assert "python -m summarizer.train" in command and "launcher" not in command


@pytest.mark.parametrize("args,message", [
    (["launcher=joblib", "hydra.sweeper.pruner={_target_:optuna.pruners.MedianPruner}"],
     "hydra.sweeper.pruner is set, but the launcher (JoblibLauncher) runs trials in other "
     "processes"),
    (["hydra/launcher=joblib"], "hydra.sweeper.n_jobs=-1 is invalid"),
])
def test_launcher_mistakes_stop_the_sweep_before_any_trial(data_dir, tmp_path, args, message):
    out = tmp_path / "sweep"
    proc = sweep(["hparams_search=optuna", *args, f"hydra.sweep.dir={out}"], tmp_path, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert not any(p.name.isdigit() for p in out.glob("*"))


def test_slurm_preset_requeues_and_resumes_its_trials():
    cfg = compose_train(["hparams_search=optuna", "launcher=submitit_slurm",
                         "hydra.launcher.partition=gpu"])
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher") and launcher.partition == "gpu"
    assert launcher.gpus_per_node == 1 and launcher.max_num_timeout >= 1
    assert launcher.additional_parameters == {"requeue": True}
    # A requeued trial reuses its job folder; `auto` resumes from the folder's own checkpoint.
    assert cfg.training.resume_from_checkpoint == "auto"
    # Optuna asks for as many trials at once as the array runs.
    assert cfg.hydra.sweeper.n_jobs == launcher.array_parallelism
    joblib = compose_train(["hparams_search=optuna", "launcher=joblib", "hydra.launcher.n_jobs=3"])
    assert joblib.hydra.sweeper.n_jobs == 3 and joblib.training.resume_from_checkpoint is None
    assert compose_train(["hparams_search=optuna"]).hydra.sweeper.n_jobs == 1


def child_pids(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            found.append(int(proc.name))
    return found


def wait_for_checkpoint(run_dir: Path, sweeper: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not any(is_complete_checkpoint(p) for p in run_dir.glob("checkpoint-*")):
        assert sweeper.poll() is None, sweeper.communicate()[1][-4000:]
        assert time.monotonic() < deadline, f"no checkpoint in {run_dir}"
        time.sleep(0.1)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds job processes in /proc")
def test_submitit_local_sweep_completes_and_a_requeued_trial_resumes(data_dir, tmp_path):
    out = tmp_path / "sweep"
    epochs = 6
    cmd = [sys.executable, "-m", "summarizer.train", "debug=fast", "hparams_search=optuna",
           "launcher=submitit_local", "hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=2",
           f"training.epochs={epochs}", f"hydra.sweep.dir={out}"]
    sweeper = subprocess.Popen(cmd, cwd=tmp_path, env={**os.environ}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        # Preempt trial 0 once it has a checkpoint: what SLURM does before a time limit or to
        # make room. The job id of a local job is its controller's pid; the trial is its child.
        wait_for_checkpoint(out / "0", sweeper)
        hydra_cfg = yaml.safe_load((out / "0" / ".hydra" / "hydra.yaml").read_text())
        tasks = child_pids(int(hydra_cfg["hydra"]["job"]["id"]))
        assert tasks, "trial 0 ended before it could be preempted"
        for pid in tasks:
            os.kill(pid, signal.SIGUSR2)
        _, err = sweeper.communicate(timeout=600)
    finally:
        if sweeper.poll() is None:
            sweeper.kill()
    assert sweeper.returncode == 0, err[-4000:]
    table = trials(out)
    assert len(table) == 2 and (table["state"] == "COMPLETE").all()
    for job in ("0", "1"):
        assert read_json(out / job / "metrics.json")["epoch"] == epochs
    results = yaml.safe_load((out / "optimization_results.yaml").read_text())
    assert results["states"] == {"COMPLETE": 2}
    log = (out / "0" / "train.log").read_text(encoding="utf-8")
    assert "Requeued job" in log
    resumed = log.split("Requeued job", 1)[1]
    assert re.search(rf"Resuming from {re.escape(str(out / '0'))}/checkpoint-\d+", resumed)
    assert "Resuming" not in (out / "1" / "train.log").read_text(encoding="utf-8")
