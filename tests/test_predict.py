"""`python -m summarizer.predict` on the shared trained run."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import read_json

pytestmark = pytest.mark.slow

CONTROL_TOKENS = ("<s>", "</s>", "<pad>", "<usr>", "<sys>", "<unk>", "<mask>")


def run_predict(args, cwd):
    return subprocess.run([sys.executable, "-m", "summarizer.predict", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def submission(trained_run, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("predict")
    proc = run_predict([f"run={trained_run}", "data=sample", f"output={out / 'sub.csv'}",
                        "generation.num_beams=2", f"hydra.run.dir={out / 'log'}"], out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out / "sub.csv"


def test_submission_matches_the_test_split(submission, data_dir):
    test = pd.read_csv(data_dir / "sample" / "test.csv", keep_default_na=False)
    sub = pd.read_csv(submission, keep_default_na=False)
    assert list(sub.columns) == ["fname", "summary"]
    assert sub["fname"].tolist() == test["fname"].tolist()
    assert (sub["summary"].str.strip() != "").all()
    for token in CONTROL_TOKENS:
        assert not sub["summary"].str.contains(token, regex=False).any(), token
    assert sub["summary"].str.contains("#Person", regex=False).any()


def test_predict_on_dev_reports_the_training_rouge(trained_run, data_dir, tmp_path):
    """Same model and generation settings as the final evaluation. Batches are formed differently
    (length-sorted), which can flip a rare near-tie in greedy decoding, hence the small
    tolerance."""
    proc = run_predict([f"run={trained_run / 'final_model'}", "split=dev",
                        f"output={tmp_path / 'dev.csv'}", f"hydra.run.dir={tmp_path / 'log'}"],
                       tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # The run's own data settings: its data folder, and the 60 dev rows it was evaluated on.
    output = proc.stdout + proc.stderr
    assert f"split dev from {data_dir / 'sample' / 'dev.csv'}" in output
    assert "Wrote 60 summaries" in output
    scores = read_json(tmp_path / "dev_rouge.json")
    metrics = read_json(trained_run / "metrics.json")
    assert scores["rouge_sum"] == pytest.approx(metrics["eval_rouge_sum"], abs=0.5)


def test_text_mode_prints_one_summary(trained_run, data_dir, tmp_path):
    text = "'#Person1#: 내일 3시에 회의실에서 만나요. #Person2#: 네 좋아요.'"
    proc = run_predict([f"run={trained_run}", f"text={text}",
                        f"hydra.run.dir={tmp_path / 'log'}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in proc.stdout)


def test_predict_without_a_model_says_so(data_dir, tmp_path):
    proc = run_predict([f"run={tmp_path}", f"hydra.run.dir={tmp_path / 'log'}"], tmp_path)
    assert proc.returncode == 2
    assert f"{tmp_path} holds no model" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_generation_settings_transformers_refuses_end_in_the_message(trained_run, tmp_path):
    proc = run_predict([f"run={trained_run}", "generation.max_length=1",
                        f"hydra.run.dir={tmp_path / 'log'}"], tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output[-3000:]
    assert "transformers refused the generation settings {'max_length': 1}" in output
    assert "Traceback" not in output and not (tmp_path / "log" / "submission.csv").exists()
