"""`torchrun --nproc_per_node=2 -m summarizer.train` on CPU (gloo): one run, as a single process
would have trained and scored it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from summarizer import api, distributed
from summarizer.errors import SummarizerError
from tests.conftest import ROOT, SHARED_EPOCHS, SHARED_RUN_ARGS, compose_train, read_json, run_train

# Dev rows that do not fill the last evaluation batch of both processes: accelerate repeats
# rows to even it out, which is what must not reach ROUGE.
SMALL_RUN = ["debug=fast", "logger=csv", "data.max_dev_samples=13", "training.eval_batch_size=4",
             "training.logging_steps=1", "training.epochs=1"]


def torchrun(args: list[str], cwd: Path, processes: int = 2) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={processes}", "-m", "summarizer.train", *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    return proc


def logged_losses(run_dir: Path) -> list[float]:
    with (run_dir / "log.csv").open(encoding="utf-8") as handle:
        return [float(row["loss"]) for row in csv.DictReader(handle) if row.get("loss")]


@pytest.fixture(scope="module")
def single_process_run(tmp_path_factory, data_dir) -> Path:
    """`SMALL_RUN` in one process with the global batch of two processes of 8 rows."""
    run_dir = tmp_path_factory.mktemp("single") / "run"
    run_train([*SMALL_RUN, "training.batch_size=16"], run_dir)
    return run_dir


# FSDP's settings go to transformers as they are (docs/scaling_out.md).
SHARDING = {
    "ddp": [],
    "fsdp": ["training.args.fsdp=true",
             "training.args.fsdp_config={transformer_layer_cls_to_wrap:[BartEncoderLayer,BartDecoderLayer]}"],
}


@pytest.mark.slow
@pytest.mark.parametrize("sharding", SHARDING)
def test_two_processes_write_one_run_with_the_single_process_loss(tmp_path, single_process_run,
                                                                  sharding):
    torchrun([*SMALL_RUN, *SHARDING[sharding], "training.batch_size=8",
              "paths.outputs_dir=outputs"], tmp_path)
    runs = list((tmp_path / "outputs").glob("*/*"))
    assert len(runs) == 1, runs  # the default, time-stamped directory, shared by both processes
    run_dir = runs[0]
    assert sorted(p.name for p in (run_dir / ".hydra").iterdir()) == [
        "config.yaml", "hydra.yaml", "overrides.yaml"]
    # Only the main process logs into the run's log.
    assert (run_dir / "train.log").read_text(encoding="utf-8").count("Final dev ROUGE") == 1
    # 64 rows in batches of 8 per process: 4 optimizer steps, not a single process's 8.
    assert [p.name for p in run_dir.glob("checkpoint-*")] == ["checkpoint-4"]
    assert len(pd.read_csv(run_dir / "dev_predictions.csv")) == 13
    assert len(api.predict(run_dir, ["#Person1#: 안녕하세요. #Person2#: 네, 안녕하세요."] * 2)) == 2

    distributed, alone = logged_losses(run_dir), logged_losses(single_process_run)
    assert len(distributed) == len(alone) == 4
    # Other rows per step (each process draws its own share), so close rather than equal; token
    # averaging across the processes would double the distributed numbers.
    for got, expected in zip(distributed, alone, strict=True):
        assert got == pytest.approx(expected, rel=0.02)
    assert read_json(run_dir / "metrics.json")["train_loss"] == pytest.approx(
        read_json(single_process_run / "metrics.json")["train_loss"], rel=0.02)


@pytest.mark.slow
def test_distributed_evaluation_scores_each_dev_row_once(tmp_path, trained_run, data_dir):
    """One more epoch of the shared run in two processes, evaluated there and, from the model it
    saved, in this process."""
    latest = max(trained_run.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    run_dir = tmp_path / "run"
    args = [a for a in SHARED_RUN_ARGS if not a.startswith("training.epochs=")]
    # 60 dev rows in steps of 2 x 8: the last step holds 12 rows and 4 repeated ones.
    torchrun([*args, f"training.epochs={SHARED_EPOCHS + 1}", "training.batch_size=16",
              "training.eval_batch_size=8", f"training.resume_from_checkpoint={latest}",
              f"hydra.run.dir={run_dir}"], tmp_path)

    dev = pd.read_csv(data_dir / "sample" / "dev.csv", keep_default_na=False).head(60)
    written = pd.read_csv(run_dir / "dev_predictions.csv", keep_default_na=False)
    assert written["fname"].tolist() == dev["fname"].tolist()
    predictions = api.predict(run_dir, dev["dialogue"].tolist())
    alone = api.score(predictions, dev["summary"].tolist())["max"]["rouge_sum"]
    distributed = read_json(run_dir / "metrics.json")["eval_rouge_sum"]
    assert distributed > 20  # a model that summarizes, so that agreeing means something
    assert distributed == pytest.approx(alone, abs=0.1)
    # Batches padded differently may tip a greedy step now and then, not more.
    assert sum(a == b for a, b in zip(written["prediction"], predictions, strict=True)) >= 57


def hydra_node():
    cfg = compose_train([])
    cfg.hydra.runtime.output_dir = "/runs/one"  # what Hydra fills in when the job starts
    return cfg.hydra


def test_other_processes_write_no_hydra_files_and_log_only_warnings(monkeypatch):
    main = hydra_node()
    assert main.output_subdir == ".hydra" and main.job_logging.root.level == "INFO"
    assert main.job_logging.handlers.file.filename == f"/runs/one/{main.job.name}.log"
    monkeypatch.setenv("RANK", "1")
    other = hydra_node()
    assert other.output_subdir is None and other.job_logging.root.level == "WARNING"
    assert other.job_logging.handlers.file.filename == os.devnull


@pytest.mark.parametrize("world_size,cuda,use_cpu", [("1", False, False), ("2", False, True),
                                                     ("2", True, False)])
def test_processes_without_cuda_train_on_cpu(monkeypatch, world_size, cuda, use_cpu):
    from summarizer import hardware

    monkeypatch.setenv("WORLD_SIZE", world_size)
    monkeypatch.setattr(hardware, "has_cuda", lambda: cuda)
    args = compose_train([]).training.args
    assert args.use_cpu is use_cpu
    assert args.average_tokens_across_devices is False


def test_a_process_without_a_launcher_store_needs_a_run_directory(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("TORCHELASTIC_USE_AGENT_STORE", raising=False)
    with pytest.raises(SummarizerError, match="rank 1 of 2.*hydra.run.dir=<dir>"):
        distributed.check_launch(["train.py", "debug=fast"])
    distributed.check_launch(["train.py", "hydra.run.dir=/shared/run"])
    proc = subprocess.run([sys.executable, "-m", "summarizer.train", "debug=fast"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "RANK": "1", "WORLD_SIZE": "2"})
    assert proc.returncode == 2 and "hydra.run.dir=<dir>" in proc.stderr
    assert "Traceback" not in proc.stderr
