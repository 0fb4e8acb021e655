"""Empty or one-sentence outputs are reported with numbers: log, summary.md, Python warnings."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from dataclasses import replace

import pandas as pd
import pytest

from summarizer import DegenerateOutputWarning, predict, write_submission
from summarizer.output_checks import check_outputs, report_outputs
from summarizer.reports import run_reports
from summarizer.reports.summary import summary_markdown
from tests.test_reports import facts, fake_trainer, sample_data

SENTENCE = "#Person1#과 #Person2#가 주말 계획에 대해 이야기합니다."


def varied(rows: int) -> list[str]:
    """Outputs of a model that summarizes: different texts, a few of them alike."""
    return [f"#Person1#이 {index % (rows - 3)}번 방에 대해 #Person2#에게 묻습니다."
            for index in range(rows)]


def test_all_empty_predictions():
    check = check_outputs([""] * 499 + ["  "], "the dev predictions")
    assert (check.rows, check.empty, check.distinct) == (500, 500, 1)
    assert (check.empty_share, check.most_common, check.most_common_share) == (1.0, "", 1.0)
    assert check.warning.startswith(
        "The dev predictions look degenerate: 500 of 500 are empty (100%), 500 (100%) are the "
        "same text '', 1 distinct of 500. Train longer (training.epochs)")
    for advice in ("training.learning_rate", "generation.max_length", "dev_predictions.csv"):
        assert advice in check.warning, advice


def test_one_sentence_repeated_over_500_rows():
    check = check_outputs([SENTENCE] * 500, "the test summaries")
    assert (check.rows, check.empty, check.distinct, check.most_common_count) == (500, 0, 1, 500)
    assert check.most_common == SENTENCE
    assert (f"0 of 500 are empty (0%), 500 (100%) are the same text {SENTENCE!r}, 1 distinct "
            "of 500") in check.warning
    assert check.numbers == "1 distinct of 500; most common 500 times (100%); 0 empty (0%)"


def test_varied_outputs_pass():
    check = check_outputs(varied(500))
    assert (check.rows, check.empty, check.distinct, check.most_common_count) == (500, 0, 497, 2)
    assert check.warning is None
    assert check.numbers == "497 distinct of 500; most common 2 times (<1%); 0 empty (0%)"


@pytest.mark.parametrize("predictions,degenerate", [
    (["안녕하세요."], False),  # one dialogue is always 100% its most common summary
    ([SENTENCE] * 9, False),  # too few rows for repetition to mean anything
    ([SENTENCE] * 10, True),
    (varied(99) + [""], True),  # a single empty row of a submission scores zero
    ([""], True),
    ([None, float("nan"), *varied(8)], True),  # missing values are empty
    # Five templates taking turns: none is the majority, but 5 distinct of 100 is not summarizing.
    ([f"템플릿 {index % 5}" for index in range(100)], True),
    ([SENTENCE] * 50 + varied(50), False),  # half the same: not more than half
    ([SENTENCE] * 51 + varied(49), True),
])
def test_thresholds(predictions, degenerate):
    assert (check_outputs(predictions).warning is not None) == degenerate


def test_long_sentences_are_quoted_short():
    check = check_outputs(["가" * 300] * 20)
    assert f"'{'가' * 80}...'" in check.warning and "가" * 81 not in check.warning


def test_report_logs_the_warning_only_when_degenerate(caplog):
    with caplog.at_level(logging.INFO, logger="summarizer.output_checks"):
        report_outputs(varied(60), "the dev predictions")
        assert not caplog.records
        report_outputs([SENTENCE] * 60, "the dev predictions")
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    assert caplog.records[0].getMessage().startswith("The dev predictions look degenerate: 0 of "
                                                     "60 are empty (0%), 60 (100%) are the same")


def test_write_submission_of_empty_summaries_warns_and_writes(tmp_path, caplog):
    path = tmp_path / "submission.csv"
    with caplog.at_level(logging.WARNING), pytest.warns(DegenerateOutputWarning) as record:
        write_submission(["", "", " "], path, fnames=["t0", "t1", "t2"])
    assert len(record) == 1 and record[0].filename == __file__  # points at the caller's line
    message = str(record[0].message)
    assert message.startswith(f"The summaries in {path} look degenerate: 3 of 3 are empty (100%)")
    assert message in caplog.text
    written = pd.read_csv(path, keep_default_na=False)
    assert written["fname"].tolist() == ["t0", "t1", "t2"]


def test_write_submission_of_varied_summaries_is_silent(tmp_path):
    frame = pd.DataFrame({"fname": [f"t{index}" for index in range(20)], "summary": varied(20)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateOutputWarning)
        write_submission(frame, tmp_path / "submission.csv")


def test_summary_shows_the_numbers_and_the_warning(tmp_path):
    healthy = summary_markdown(replace(facts(tmp_path), outputs=check_outputs(varied(60))))
    assert "| distinct predictions | 57 distinct of 60; most common 2 times (3%); 0 empty (0%) |" \
        in healthy
    assert "Warning" not in healthy
    empty = check_outputs([""] * 60, "the dev predictions")
    degenerate = summary_markdown(replace(facts(tmp_path), outputs=empty))
    assert "| distinct predictions | 1 distinct of 60; most common 60 times (100%); 60 empty " \
        "(100%) |" in degenerate
    assert f"**Warning:** {empty.warning}\n" in degenerate
    # Said before the metrics, so that the ROUGE numbers are read with it in mind.
    assert degenerate.index("**Warning:**") < degenerate.index("| ROUGE-1 |")


def test_run_reports_carry_the_numbers_into_summary_md(tmp_path):
    outputs = check_outputs([SENTENCE] * 60, "the dev predictions")
    run_reports.write_run_reports(fake_trainer(tmp_path), {"epoch": 4.0}, sample_data(tmp_path),
                                  tmp_path, outputs)
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert f"**Warning:** {outputs.warning}" in summary
    assert "| distinct predictions | 1 distinct of 60;" in summary


@pytest.mark.slow
def test_trained_run_summary_counts_its_dev_predictions(trained_run):
    dev = pd.read_csv(trained_run / "dev_predictions.csv", keep_default_na=False)
    check = check_outputs(dev["prediction"].tolist())
    summary = (trained_run / "summary.md").read_text(encoding="utf-8")
    assert f"| distinct predictions | {check.numbers} |" in summary
    assert (check.warning is None) == ("**Warning:**" not in summary)
    train_log = (trained_run / "train.log").read_text(encoding="utf-8")
    assert f"| distinct predictions | {check.numbers} |" in train_log


@pytest.mark.slow
def test_predict_warns_once_before_write_submission(trained_run, data_dir, tmp_path, caplog):
    """`max_length=2` leaves room for the start tokens only: every summary is empty."""
    dev = pd.read_csv(data_dir / "sample" / "dev.csv", keep_default_na=False).head(12)
    with caplog.at_level(logging.WARNING), pytest.warns(DegenerateOutputWarning) as record:
        summaries = predict(trained_run, dev, max_length=2)
        write_submission(summaries, tmp_path / "submission.csv")
    assert len(record) == 1 and record[0].filename == __file__
    assert str(record[0].message).startswith(
        "The predicted summaries look degenerate: 12 of 12 are empty (100%)")
    assert caplog.text.count("look degenerate") == 1
    assert (tmp_path / "submission.csv").is_file()
    with pytest.warns(DegenerateOutputWarning, match="The dev summaries look degenerate"):
        predict(trained_run, dev["dialogue"], max_length=2, split="dev")


@pytest.mark.slow
def test_predict_command_logs_the_warning_once(trained_run, data_dir, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "summarizer.predict", f"run={trained_run}", "data=sample",
         "generation.max_length=2", f"output={tmp_path / 'sub.csv'}",
         f"hydra.run.dir={tmp_path / 'log'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = len(pd.read_csv(tmp_path / "sub.csv", keep_default_na=False))
    output = proc.stdout + proc.stderr
    # One log line, not a Python warning print of the same paragraph as well.
    assert output.count("look degenerate") == 1
    assert (f"[WARNING] The test summaries look degenerate: {rows} of {rows} are empty (100%)"
            in output)
    assert "DegenerateOutputWarning" not in output
