"""The Python API as a notebook uses it: one process, several runs, DataFrames in and out."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys

import pandas as pd
import pytest
from omegaconf import OmegaConf

from summarizer import average, load_config, predict, score, train, tune, write_submission
from summarizer.errors import SummarizerError
from summarizer.results import TrainResult
from tests.conftest import ROOT, compose_train, read_json

pytestmark = pytest.mark.slow


def test_load_config_composes_what_the_command_runs(data_dir):
    overrides = ["training.epochs=2", "training.batch_size=8", "training.learning_rate=3e-5"]
    ours = load_config("baseline_kobart", overrides)
    theirs = compose_train(["experiment=baseline_kobart", *overrides])
    job = [key for key in theirs if key != "hydra"]
    assert OmegaConf.to_container(OmegaConf.masked_copy(ours, job)) == \
        OmegaConf.to_container(OmegaConf.masked_copy(theirs, job))
    assert ours.hydra.run.dir.startswith("outputs/baseline_kobart/")
    assert ours.hydra.job.name == "train"
    assert ours.model.name == "kobart" and ours.training.epochs == 2
    assert list(ours.hydra.overrides.task) == ["experiment=baseline_kobart", *overrides]


def test_command_modules_do_not_hide_the_functions():
    import summarizer.commands.average
    import summarizer.commands.predict
    import summarizer.commands.score
    import summarizer.commands.train
    import summarizer.commands.tune

    assert summarizer.train is train and summarizer.predict is predict
    assert summarizer.score is score and summarizer.average is average
    assert summarizer.tune is tune


def test_train_without_load_config_says_how(data_dir):
    cfg = OmegaConf.masked_copy(load_config(overrides=["debug=fast"]), ["model", "training"])
    with pytest.raises(SummarizerError, match="load_config"):
        train(cfg)


@pytest.fixture(scope="module")
def two_runs(data_dir, tmp_path_factory, monkeypatch_module):
    """A notebook loop: two trainings in one process, WandB offline."""
    base = tmp_path_factory.mktemp("api")
    monkeypatch_module.chdir(base)
    handlers_before = list(logging.getLogger().handlers)
    results = []
    for lr in (1e-3, 3e-3):
        cfg = load_config(overrides=["debug=fast", "logger=wandb", "logger.mode=offline",
                                     f"training.learning_rate={lr}"])
        results.append(train(cfg))
    assert logging.getLogger().handlers == handlers_before
    return results


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_train_twice_in_one_process(two_runs):
    first, second = two_runs
    assert isinstance(first, TrainResult) and first.run_dir != second.run_dir
    for result, lr in zip(two_runs, (1e-3, 3e-3), strict=True):
        run_dir = result.run_dir
        assert run_dir.is_absolute() and (run_dir / ".hydra" / "config.yaml").is_file()
        assert OmegaConf.load(run_dir / ".hydra" / "config.yaml").training.learning_rate == lr
        assert f"training.learning_rate={lr}" in (run_dir / ".hydra" / "overrides.yaml").read_text()
        metrics = read_json(run_dir / "metrics.json")
        assert result["eval_metrics"]["eval_rouge_sum"] == metrics["eval_rouge_sum"]
        assert result.objective == metrics["eval_rouge_sum"]
        assert result["final_model_path"] == run_dir / "final_model"
        assert (result.final_model_path / "config.json").is_file()
        assert result.best_checkpoint == str(run_dir / metrics["best_checkpoint"])
        log = (run_dir / "train.log").read_text(encoding="utf-8")
        # One handler per run: every record once, and none of the other run's records.
        assert log.count("[summarizer.pipeline][INFO] Data sample") == 1
        assert log.count("Final dev ROUGE-1/2/L") == 1
        assert "'eval_rouge_sum'" in log  # the printed evaluations reach the file too
        offline = list((run_dir / "wandb").glob("offline-run-*"))
        assert len(offline) == 1
        debug = (offline[0] / "logs" / "debug.log").read_text(encoding="utf-8")
        assert "finishing run" in debug and "exitcode: 0" in debug


def test_a_run_from_python_records_its_own_overrides_as_its_command(two_runs):
    for result, lr in zip(two_runs, (1e-3, 3e-3), strict=True):
        command = ("python -m summarizer.train debug=fast logger=wandb logger.mode=offline "
                   f"training.learning_rate={lr}")
        summary = (result.run_dir / "summary.md").read_text(encoding="utf-8")
        card = (result.run_dir / "final_model" / "README.md").read_text(encoding="utf-8")
        # Nothing from the process's own command line (pytest's arguments).
        assert re.findall(r"python -m summarizer\.train[^`\n]*", summary) == [command]
        assert re.findall(r"python -m summarizer\.train[^`\n]*", card) == [command]


def test_predict_keeps_the_shape_and_order(trained_run, data_dir):
    dev = pd.read_csv(data_dir / "sample" / "dev.csv", keep_default_na=False).head(12)
    frame = dev.iloc[::-1].set_index(pd.Index(range(100, 112)))
    references = frame["summary"].copy()
    out = predict(trained_run, frame)
    assert list(out.index) == list(frame.index) and list(out["fname"]) == list(frame["fname"])
    assert frame["summary"].equals(references)  # a copy gets the summaries, not the input
    as_list = predict(trained_run, frame["dialogue"].tolist())
    assert as_list == out["summary"].tolist()
    series = predict(trained_run, frame["dialogue"])
    assert list(series.index) == list(frame.index) and series.tolist() == as_list
    one = predict(trained_run, frame["dialogue"].iloc[0])
    assert isinstance(one, str) and one == as_list[0]
    # The same model and generation settings as the run's final evaluation; length-sorted
    # batches may flip a rare near-tie in greedy decoding.
    final = pd.read_csv(trained_run / "dev_predictions.csv", keep_default_na=False)
    expected_predictions = final.set_index("fname").loc[frame["fname"], "prediction"].tolist()
    assert sum(a == b for a, b in zip(as_list, expected_predictions, strict=True)) >= 10


def test_predict_from_a_dataframe_to_a_submission(trained_run, data_dir, tmp_path):
    test = pd.read_csv(data_dir / "sample" / "test.csv", keep_default_na=False).head(8)
    submission = write_submission(predict(trained_run / "final_model", test),
                                  tmp_path / "sub" / "submission.csv")
    written = pd.read_csv(submission, keep_default_na=False)
    assert list(written.columns) == ["fname", "summary"]
    assert written["fname"].tolist() == test["fname"].tolist()
    assert (written["summary"].str.len() > 0).all()
    with pytest.raises(SummarizerError, match="'text'"):
        predict(trained_run, test, text_column="text")


def test_score_equals_the_command(tmp_path, data_dir):
    dev = pd.read_csv(data_dir / "sample" / "dev.csv", keep_default_na=False).head(20)
    pred = pd.DataFrame({"fname": dev["fname"][::-1], "summary": dev["dialogue"].str[:40][::-1]})
    pred.to_csv(tmp_path / "pred.csv", index=False)
    dev.to_csv(tmp_path / "ref.csv", index=False)
    out = tmp_path / "scores.json"
    proc = subprocess.run([sys.executable, "-m", "summarizer.score",
                           f"predictions={tmp_path / 'pred.csv'}",
                           f"references={tmp_path / 'ref.csv'}", f"output={out}",
                           f"hydra.run.dir={tmp_path / 'log'}"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    command = json.loads(out.read_text(encoding="utf-8"))
    assert score(tmp_path / "pred.csv", tmp_path / "ref.csv") == command
    assert score(str(tmp_path / "pred.csv"), str(tmp_path / "ref.csv")) == command
    assert score(pred, dev) == command
    aligned = pred.set_index("fname").loc[dev["fname"], "summary"].tolist()
    assert score(aligned, dev["summary"].tolist())["max"] == command["max"]
    with pytest.raises(SummarizerError, match="2 predictions but 1"):
        score(["a", "b"], ["a"])


def test_readme_python_example_runs_as_written(data_dir, tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md (Python API)", "exec"), namespace)
    result = namespace["result"]
    assert result.run_dir.is_relative_to(tmp_path / "outputs")
    test = pd.read_csv(data_dir / "sample" / "test.csv", keep_default_na=False)
    submission = pd.read_csv(result.run_dir / "submission.csv", keep_default_na=False)
    assert list(submission.columns) == ["fname", "summary"]
    assert submission["fname"].tolist() == test["fname"].tolist()
    assert namespace["scores"]["n"] == len(pd.read_csv(data_dir / "sample" / "dev.csv"))
    assert namespace["scores"]["max"]["rouge_sum"] == pytest.approx(
        sum(namespace["scores"]["max"][k] for k in ("rouge1", "rouge2", "rougeL")))
