"""`logger=mlflow`, read back with MLflow's own client, the pieces loggers share, and the reader
of WandB's offline run files the WandB tests use."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pandas as pd
import pytest

from summarizer.loggers.mlflow_logger import RUN_FILE
from summarizer.loggers.mlflow_store import (
    LOCAL_STORE,
    flat_params,
    new_params,
    resolve_tracking,
)
from summarizer.loggers.samples import COLUMNS
from summarizer.rouge import rouge_per_example
from tests.conftest import LITERAL_SECRET, SECRET_ENV, read_json, run_train
from tests.wandb_records import BLOCK, HEADER, wandb_records

ROWS = 3


def store_runs(store_dir: Path, experiment: str = "summarizer") -> tuple[object, list]:
    """MLflow's client on the local store in `store_dir`, and every run of `experiment`."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{store_dir / LOCAL_STORE}")
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r} in {store_dir}"
    return client, client.search_runs([found.experiment_id])


@pytest.fixture(scope="module")
def mlflow_run(data_dir, tmp_path_factory) -> tuple[Path, Path]:
    """A short run logged into a local store: (run dir, store dir)."""
    base = tmp_path_factory.mktemp("mlflow")
    run_dir, store = base / "run", base / "store"
    run_train(["debug=fast", "logger=mlflow", f"logger.store_dir={store}",
               f"logger.prediction_rows={ROWS}", "logger.tags=[smoke]",
               f"+hub_token={LITERAL_SECRET}", f"+report_note=${{oc.env:{SECRET_ENV}}}"],
              run_dir)
    return run_dir, store


@pytest.mark.slow
def test_a_run_reads_back_with_mlflows_client(mlflow_run):
    run_dir, store = mlflow_run
    client, runs = store_runs(store)
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED" and run.info.run_name == "tiny_sample"
    assert read_json(run_dir / RUN_FILE)["run_id"] == run.info.run_id

    # The composed config, flattened, secrets masked.
    params = run.data.params
    assert params["training.learning_rate"] == "0.001" and params["model.name"] == "tiny"
    assert params["hub_token"] == "***" and params["report_note"] == "***"
    assert not any(LITERAL_SECRET in value for value in params.values())

    # Every evaluation at its global step, as the CSV of the same run would list it.
    metrics = read_json(run_dir / "metrics.json")
    history = client.get_metric_history(run.info.run_id, "eval_rouge_sum")
    steps = sorted(metric.step for metric in history)
    checkpoints = sorted(int(path.name.split("-")[1]) for path in run_dir.glob("checkpoint-*"))
    assert steps == checkpoints and len(steps) == 2
    assert len(client.get_metric_history(run.info.run_id, "loss")) >= 2
    # The final metrics: metrics.json's, under final/.
    for key in ("eval_rouge_sum", "eval_loss", "train_runtime"):
        assert run.data.metrics[f"final/{key}"] == pytest.approx(metrics[key])

    tags = run.data.tags
    assert "smoke" in tags and tags["summarizer.run_dir"] == str(run_dir)
    assert tags["best_checkpoint"].endswith(metrics["best_checkpoint"])

    artifacts = {item.path for item in client.list_artifacts(run.info.run_id)}
    assert {"metrics.json", "summary.md", "learning_curves.png", "analysis.html",
            "dev_predictions.csv", "config_tree.txt", "train.log", "final_model",
            "eval_predictions"} <= artifacts
    model_files = {item.path for item in client.list_artifacts(run.info.run_id, "final_model")}
    assert model_files == {"final_model/README.md"}  # the weights only with logger.log_model
    local = Path(client.download_artifacts(run.info.run_id, "metrics.json", str(run_dir.parent)))
    assert read_json(local) == metrics


@pytest.mark.slow
def test_each_evaluation_logs_a_table_of_predictions(mlflow_run):
    run_dir, store = mlflow_run
    client, (run,) = store_runs(store)
    tables = sorted(item.path for item in client.list_artifacts(run.info.run_id,
                                                                "eval_predictions"))
    steps = sorted(int(path.name.split("-")[1]) for path in run_dir.glob("checkpoint-*"))
    assert tables == [f"eval_predictions/step_{step:07d}.json" for step in steps]
    local = client.download_artifacts(run.info.run_id, tables[-1], str(run_dir.parent))
    table = json.loads(Path(local).read_text(encoding="utf-8"))
    assert table["columns"] == list(COLUMNS)
    rows = pd.DataFrame(table["data"], columns=table["columns"])
    assert len(rows) == ROWS and rows["id"].tolist() == ["dev_0", "dev_1", "dev_2"]
    # Per-row ROUGE as the project scores it (whitespace tokens for Korean).
    expected = rouge_per_example(rows["prediction"].tolist(), rows["reference"].tolist())
    assert rows["rouge_sum"].tolist() == pytest.approx(
        [round(score["rouge_sum"], 2) for score in expected], abs=0.011)
    assert all(text.startswith("#Person1#:") for text in rows["dialogue"])


@pytest.mark.slow
def test_a_resumed_run_continues_its_mlflow_run(mlflow_run, tmp_path):
    # After the tests that read the shared run: this one adds an epoch to it.
    run_dir, store = mlflow_run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    proc = run_train(["debug=fast", "logger=mlflow", f"logger.store_dir={store}",
                      "training.epochs=3", "training.resume_from_checkpoint=last"], copy)
    _, runs = store_runs(store)
    resumed = [run for run in runs if run.info.run_id == read_json(copy / RUN_FILE)["run_id"]]
    assert len(runs) == 1 and len(resumed) == 1
    assert resumed[0].info.status == "FINISHED"
    assert resumed[0].data.params["training.epochs"] == "2"  # MLflow keeps the first value
    output = proc.stdout + proc.stderr
    assert "MLflow keeps a run's first parameter values; the resumed run changed" in output
    assert "training.epochs" in output.split("the resumed run changed")[1].splitlines()[0]


@pytest.mark.slow
def test_an_unreachable_tracking_server_stops_the_run_before_training(data_dir, tmp_path):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run_dir = tmp_path / "run"
    proc = run_train(["debug=fast", "logger=mlflow",
                      f"logger.tracking_uri=http://user:pw-7f3@127.0.0.1:{port}"],
                     run_dir, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output[-3000:]
    assert "does not answer" in output and "logger.tracking_uri" in output
    assert "pw-7f3" not in output and "Traceback" not in output
    assert not list(run_dir.glob("checkpoint-*"))


@pytest.mark.slow
def test_a_store_mlflow_cannot_open_stops_the_run_with_the_fix(data_dir, tmp_path):
    proc = run_train(["debug=fast", "logger=mlflow", "logger.tracking_uri=nosuch://u:pw-2b9@x"],
                     tmp_path / "run", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output[-3000:]
    assert "logger=mlflow could not start a run in nosuch://u:***@x" in output
    assert "correct logger.tracking_uri" in output and "pw-2b9" not in output
    assert "Traceback" not in output


def test_the_config_becomes_flat_parameters():
    config = {"training": {"learning_rate": 0.001, "generation": {"num_beams": 4}},
              "logger": {"tags": ["a", "b"]}, "empty": {}, "note": None, "long": "x" * 7000}
    assert flat_params(config) == {
        "training.learning_rate": "0.001", "training.generation.num_beams": "4",
        "logger.tags": '["a", "b"]', "empty": "{}", "note": "None", "long": "x" * 6000}


def test_a_resumed_run_logs_only_new_parameters_and_names_changed_ones():
    params, changed = new_params({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "5"})
    assert params == {"c": "3"} and changed == ["b"]


def test_the_store_is_the_option_then_the_environment_then_local(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    local = resolve_tracking(None, tmp_path / "outputs")
    assert local.uri == f"sqlite:///{tmp_path / 'outputs' / LOCAL_STORE}"
    assert local.artifact_location == (tmp_path / "outputs" / "mlartifacts").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracker:5000")
    assert resolve_tracking(None, tmp_path).uri == "http://tracker:5000"
    given = resolve_tracking("https://me:secret@host:8443/path", tmp_path)
    assert given.uri == "https://me:secret@host:8443/path"
    assert given.shown == "https://me:***@host:8443/path"


def test_wandb_records_join_a_record_split_across_blocks(tmp_path):
    # What a WandB offline run file holds when a record crosses the 32 KiB block boundary.
    text = b"best_checkpoint"
    first = BLOCK - 2 * HEADER  # the file's header, the chunk's header, then the block is full
    payload = b"x" * (first - 5) + text
    data = (b":W&B\xe1\xbe\x00"
            + b"\0" * 4 + first.to_bytes(2, "little") + b"\x02" + payload[:first]
            + b"\0" * 4 + (len(payload) - first).to_bytes(2, "little") + b"\x04"
            + payload[first:])
    path = tmp_path / "run-split.wandb"
    path.write_bytes(data)
    assert text not in data and wandb_records(path) == payload
