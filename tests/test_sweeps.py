"""Sweeps: `python -m summarizer.train hparams_search=optuna ...` and plain `--multirun` grids."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from matplotlib import image

from summarizer.commands.train import sweep_argv
from tests.conftest import read_json
from tests.postgres import postgres_server
from tests.wandb_records import wandb_records

pytestmark = pytest.mark.slow

TRIAL_FILES = (".hydra/config.yaml", "train.log", "metrics.json", "dev_predictions.csv",
               "final_model/config.json")
PLOTS = ("optimization_history.png", "objective_vs_learning_rate.png",
         "objective_vs_batch_size.png")
FAILING_GRID = ['hydra.sweeper.params.training.learning_rate="choice(1e-3,1e6,-1)"',
                "hydra.sweeper.params.training.batch_size=null", "hydra/sweeper/sampler=grid"]


def sweep(args: list[str], cwd: Path, check: bool = True,
          debug: str = "fast") -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "summarizer.train", f"debug={debug}", *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900,
                          env={**os.environ})
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-6000:]}")
    return proc


def trials(sweep_dir: Path) -> pd.DataFrame:
    return pd.read_csv(sweep_dir / "trials.csv", keep_default_na=False)


def assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    pixels = image.imread(path)
    assert pixels.shape[0] >= 300 and pixels.shape[1] >= 400, path
    assert pixels.std() > 0.01, f"{path} is blank"


def test_the_readme_sweep_runs_three_trials_that_score_differently(data_dir, tmp_path):
    # README "Sweep": hparams_search=optuna debug=short hydra.sweeper.n_trials=3 ...
    out = tmp_path / "sweep"
    sweep(["hparams_search=optuna", "hydra.sweeper.n_trials=3", f"hydra.sweep.dir={out}"],
          tmp_path, debug="short")
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["0", "1", "2"]
    for job in ("0", "1", "2"):
        for name in TRIAL_FILES:
            assert (out / job / name).is_file(), f"{job}/{name}"
    table = trials(out)
    assert table["trial"].tolist() == [0, 1, 2] and (table["state"] == "COMPLETE").all()
    assert table["run_dir"].tolist() == [str(out / j) for j in ("0", "1", "2")]
    # The trials learn enough in debug=short for their settings to show in the objective
    # (with debug=fast every trial scores 0 and the plots are flat lines).
    assert table["value"].nunique() > 1 and table["value"].max() > 0, table["value"].tolist()
    for _, row in table.iterrows():
        metrics = read_json(Path(row["run_dir"]) / "metrics.json")
        assert row["eval_rouge_sum"] == pytest.approx(metrics["eval_rouge_sum"])
        assert row["value"] == pytest.approx(metrics["eval_rouge_sum"])
        assert row["epochs"] == metrics["epoch"]
        # The tiny model's search space (summarizer/conf/hparams_search/space/tiny.yaml).
        assert 3e-4 <= row["training.learning_rate"] <= 1e-2
        assert row["training.batch_size"] in (16, 32, 64)
        config = yaml.safe_load((Path(row["run_dir"]) / ".hydra" / "config.yaml").read_text())
        assert config["training"]["learning_rate"] == pytest.approx(row["training.learning_rate"])
    results = yaml.safe_load((out / "optimization_results.yaml").read_text())
    assert set(results["best_params"]) == {"training.learning_rate", "training.batch_size"}
    assert results["best_value"] == pytest.approx(table["value"].max())
    assert results["n_trials"] == 3 and results["states"] == {"COMPLETE": 3}
    for name in PLOTS:
        assert_png(out / name)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    best = table.loc[table["trial"] == results["best_trial"]].iloc[0]
    assert f"python -m summarizer.train training.learning_rate={best['training.learning_rate']}" \
        in summary and "hparams_search" not in summary.split("```bash")[1]
    assert all(f"]({name})" in summary for name in PLOTS)


def test_a_raising_and_a_diverging_trial_do_not_stop_the_sweep(data_dir, tmp_path):
    out = tmp_path / "sweep"
    proc = sweep(["hparams_search=optuna", *FAILING_GRID, f"hydra.sweep.dir={out}"], tmp_path)
    table = trials(out).set_index("training.learning_rate")
    assert table.loc[1e-3, "state"] == "COMPLETE"
    assert (out / str(table.loc[1e-3, "job"]) / "metrics.json").is_file()
    diverged = table.loc[1e6]
    assert diverged["state"] == "FAIL" and "TrainingDiverged" in diverged["failure_reason"]
    reason = diverged["failure_reason"]
    assert "loss was nan" in reason or "loss was inf" in reason
    raised = table.loc[-1.0]
    assert raised["state"] == "FAIL"
    assert "training.learning_rate=-1 is invalid" in raised["failure_reason"]
    results = yaml.safe_load((out / "optimization_results.yaml").read_text())
    assert results["best_params"] == {"training.learning_rate": 1e-3}
    assert results["states"] == {"COMPLETE": 1, "FAIL": 2}
    assert "Trial" in proc.stderr + proc.stdout

    # Only when every trial fails does the sweep fail.
    all_bad = tmp_path / "all_bad"
    proc = sweep(["hparams_search=optuna",
                  'hydra.sweeper.params.training.learning_rate="choice(-1,-2)"',
                  *FAILING_GRID[1:], f"hydra.sweep.dir={all_bad}"], tmp_path, check=False)
    assert proc.returncode != 0
    assert "All 2 trials of this sweep failed" in proc.stderr
    assert (trials(all_bad)["state"] == "FAIL").all()


def test_a_stored_study_continues_without_overwriting_or_repeating(data_dir, tmp_path):
    out = tmp_path / "sweep"
    args = ["hparams_search=optuna", "hydra.sweeper.n_trials=2", f"hydra.sweep.dir={out}",
            f"hydra.sweeper.storage=sqlite:///{tmp_path / 'study.db'}",
            "hydra.sweeper.study_name=resume", "hydra.sweeper.keep_weights=best",
            "logger=wandb", "logger.mode=offline"]
    sweep(args, tmp_path)
    first = {job: (out / job / "metrics.json").stat().st_mtime_ns for job in ("0", "1")}
    sweep(args, tmp_path)
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["0", "1", "2", "3"]
    assert {job: (out / job / "metrics.json").stat().st_mtime_ns for job in first} == first
    table = trials(out)
    assert table["trial"].tolist() == [0, 1, 2, 3] and table["job"].tolist() == [0, 1, 2, 3]
    params = list(zip(table["training.learning_rate"], table["training.batch_size"], strict=True))
    assert len(set(params)) == 4, params
    # keep_weights=best: exactly one trial still has weights.
    with_weights = [j for j in "0123" if (out / j / "final_model").exists()
                    or any((out / j).glob("checkpoint-*"))]
    results = yaml.safe_load((out / "optimization_results.yaml").read_text())
    assert with_weights == [str(results["best_trial"])]
    assert results["n_trials"] == 4
    # One WandB run per trial, named by trial and grouped by sweep.
    for job in "0123":
        runs = list((out / job / "wandb").glob("offline-run-*"))
        assert len(runs) == 1
        record = wandb_records(next(runs[0].glob("run-*.wandb")))
        assert f"tiny_sample-trial-{job}".encode() in record and str(out).encode() in record


def test_a_pruner_stops_a_trial_and_keeps_its_run(data_dir, tmp_path):
    out = tmp_path / "sweep"
    sweep(["hparams_search=optuna", "hydra.sweeper.n_trials=1", f"hydra.sweep.dir={out}",
           "hydra.sweeper.pruner={_target_:optuna.pruners.ThresholdPruner,lower:1000.0}",
           "training.epochs=3"], tmp_path)
    row = trials(out).iloc[0]
    assert row["state"] == "PRUNED" and row["failure_reason"] == "pruned after epoch 1"
    assert read_json(out / "0" / "metrics.json")["epoch"] == 1
    assert (out / "0" / "final_model" / "config.json").is_file()
    # The trial's reports repeat the trial as a single run: its own overrides (its parameters
    # among them), not the sweep's command line.
    own = yaml.safe_load((out / "0" / ".hydra" / "overrides.yaml").read_text())
    assert "hparams_search=optuna" in own and "training.epochs=3" in own
    command = "python -m summarizer.train " + " ".join(
        override for override in own if override != "hparams_search=optuna")
    assert f"training.learning_rate={row['training.learning_rate']}" in command
    summary = (out / "0" / "summary.md").read_text(encoding="utf-8")
    card = (out / "0" / "final_model" / "README.md").read_text(encoding="utf-8")
    assert f"\n`{command}`\n" in summary and f"```bash\n{command}\n```" in card
    for text in (summary, card):
        assert "hydra.sweeper" not in text and "--multirun" not in text


def test_a_plain_multirun_grid_writes_one_directory_per_job(data_dir, tmp_path):
    out = tmp_path / "grid"
    sweep(["-m", "training.learning_rate=1e-3,3e-3", f"hydra.sweep.dir={out}"], tmp_path)
    for job, lr in (("0", 1e-3), ("1", 3e-3)):
        assert (out / job / "metrics.json").is_file()
        config = yaml.safe_load((out / job / ".hydra" / "config.yaml").read_text())
        assert config["training"]["learning_rate"] == lr


@pytest.mark.parametrize("argv,expected", [
    (["train", "hparams_search=optuna"], ["train", "--multirun", "hparams_search=optuna"]),
    (["train", "-m", "hparams_search=optuna"], ["train", "-m", "hparams_search=optuna"]),
    (["train", "hparams_search=optuna", "--cfg", "job"],
     ["train", "hparams_search=optuna", "--cfg", "job"]),
    (["train", "training.epochs=2"], ["train", "training.epochs=2"]),
    (["train", "hparams_search=null"], ["train", "hparams_search=null"]),
])
def test_the_preset_implies_multirun_only_when_running(argv, expected):
    assert sweep_argv(argv) == expected


def run_sweep_workers(args: list[str], trial_counts: tuple[int, ...], cwd: Path) -> None:
    """Start one sweep process per count, all at once, each running that many trials."""
    workers = [subprocess.Popen([sys.executable, "-m", "summarizer.train", "debug=fast",
                                 "hparams_search=optuna", *args, f"hydra.sweeper.n_trials={n}"],
                                cwd=cwd, env={**os.environ}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
               for n in trial_counts]
    for worker in workers:
        _, err = worker.communicate(timeout=900)
        assert worker.returncode == 0, err[-4000:]


def assert_one_study_of_distinct_trials(study, sweep_dir: Path, total: int) -> None:
    """Every worker's trials landed in the study, each in its own folder with its own parameters."""
    done = study.get_trials()
    assert len(done) == total and all(t.state.name == "COMPLETE" for t in done)
    folders = sorted(t.user_attrs["run_dir"] for t in done)
    assert len(set(folders)) == total
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()) == \
        [str(n) for n in range(total)]
    for folder in folders:
        assert (Path(folder) / "metrics.json").is_file()
    params = {(t.params["training.learning_rate"], t.params["training.batch_size"]) for t in done}
    assert len(params) == total


def test_two_sweep_processes_share_one_study(data_dir, tmp_path):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    out = tmp_path / "sweep"
    run_sweep_workers([f"hydra.sweep.dir={out}", "hydra.sweeper.study_name=shared",
                       f"hydra.sweeper.storage=journal:///{tmp_path / 'study.log'}"], (2, 3),
                      tmp_path)
    study = optuna.load_study(study_name="shared", storage=JournalStorage(
        JournalFileBackend(str(tmp_path / "study.log"))))
    assert_one_study_of_distinct_trials(study, out, 5)


@pytest.fixture
def postgres_url():
    with postgres_server() as url:
        yield url


def test_two_sweep_processes_share_one_postgresql_study(data_dir, tmp_path, postgres_url):
    import optuna

    out = tmp_path / "sweep"
    run_sweep_workers([f"hydra.sweep.dir={out}", "hydra.sweeper.study_name=shared",
                       f"hydra.sweeper.storage={postgres_url}"], (1, 2), tmp_path)
    study = optuna.load_study(study_name="shared", storage=postgres_url)
    assert_one_study_of_distinct_trials(study, out, 3)
    results = yaml.safe_load((out / "optimization_results.yaml").read_text())
    assert results["storage"] == postgres_url and results["n_trials"] == 3


# Says it is ready, waits for the start file, then opens the sweeper's storage and runs one
# trial in the study.
OPEN_STORAGE = """
import sys, time
from pathlib import Path
import optuna
from summarizer.sweeps.sweeper import _storage
print("ready", flush=True)
while not Path(sys.argv[2]).exists():
    time.sleep(0.01)
study = optuna.create_study(study_name="race", storage=_storage(sys.argv[1]),
                            load_if_exists=True, direction="maximize")
study.tell(study.ask(), 1.0)
"""


def test_workers_started_together_on_an_empty_database_all_get_the_study(tmp_path, postgres_url):
    import optuna

    start = tmp_path / "start"
    workers = [subprocess.Popen([sys.executable, "-c", OPEN_STORAGE, postgres_url, str(start)],
                                env={**os.environ}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
               for _ in range(3)]
    for worker in workers:  # all at the start line, then off together
        assert worker.stdout.readline().strip() == "ready", worker.communicate()[1][-4000:]
    start.touch()
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-4000:]
    assert len(optuna.load_study(study_name="race", storage=postgres_url).trials) == 3
