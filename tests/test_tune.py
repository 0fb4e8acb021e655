"""`python -m summarizer.tune` and `summarizer.tune()`: a decoding search on a copy of the shared
trained run, and `predict generation=tuned` reading what it chose."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from summarizer import tune
from summarizer.decoding_search import Decoder, split_positions
from summarizer.errors import SummarizerError
from summarizer.tuned_generation import GENERATION_FILE, generation_settings, write_tuned
from tests.conftest import image_is_a_real_plot

N_TRIALS = 3
# Small ranges, each away from the run's saved settings (greedy, 64 tokens, no n-gram block):
# every trial's summaries differ from the run's own.
SPACE = {"num_beams": [1, 2], "length_penalty": [0.8, 1.5], "no_repeat_ngram_size": [2, 3],
         "repetition_penalty": [1.0, 1.3], "max_new_tokens": [8, 16], "min_new_tokens": [0, 4]}
SPACE_OVERRIDES = [f"space.{name}=[{low},{high}]" for name, (low, high) in SPACE.items()]


def run_command(module: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


# ------------------------------------------------------------------ without a model

def test_the_split_is_disjoint_complete_and_stable():
    tuning, held = split_positions(60, 0.5, seed=0)
    assert len(tuning) == len(held) == 30
    assert not set(tuning) & set(held) and set(tuning) | set(held) == set(range(60))
    assert split_positions(60, 0.5, seed=0) == (tuning, held)
    assert split_positions(60, 0.5, seed=1) != (tuning, held)
    assert split_positions(60, 0.0, seed=0) == (list(range(60)), [])


def test_tuned_settings_are_read_and_explicit_keys_win(tmp_path):
    write_tuned({"num_beams": 3, "max_new_tokens": 40, "repetition_penalty": 1.2}, tmp_path)
    nulls = {"num_beams": None, "max_length": None, "max_new_tokens": None, "tuned": True}
    assert generation_settings(nulls, tmp_path) == {
        "num_beams": 3, "max_length": None, "max_new_tokens": 40, "repetition_penalty": 1.2}
    assert generation_settings({**nulls, "num_beams": 1}, tmp_path)["num_beams"] == 1
    # A typed summary length replaces the file's, whichever of the two keys it uses.
    typed = generation_settings({**nulls, "max_length": 12}, tmp_path)
    assert typed["max_length"] == 12 and typed["max_new_tokens"] is None
    # Without `tuned` the file is not read.
    assert generation_settings({**nulls, "tuned": False}, tmp_path) == {
        "num_beams": None, "max_length": None, "max_new_tokens": None}


def test_a_missing_tuned_file_names_it_and_the_tune_command(tmp_path):
    with pytest.raises(SummarizerError) as err:
        generation_settings({"num_beams": None, "tuned": True}, tmp_path)
    assert str(tmp_path / "tune" / GENERATION_FILE) in str(err.value)
    assert f"python -m summarizer.tune run={tmp_path}" in str(err.value)


# ------------------------------------------------------------------ on the shared run

@pytest.fixture(scope="module")
def run_copy(trained_run, tmp_path_factory) -> Path:
    """The shared run without its checkpoints: the search writes into the run directory."""
    copy = tmp_path_factory.mktemp("tune") / "run"
    shutil.copytree(trained_run, copy, ignore=shutil.ignore_patterns("checkpoint-*"))
    return copy


class Spy:
    """Decoder.rouge recording the rows and settings of every call; `fail_at` makes that call
    (0-based) raise as a CUDA out-of-memory would."""

    def __init__(self, fail_at: int | None = None):
        self.calls: list[tuple[list[str], dict]] = []
        self.fail_at = fail_at
        self.real = Decoder.rouge

    def rouge(self, decoder, rows, settings):
        self.calls.append((list(rows.fnames), dict(settings)))
        if len(self.calls) - 1 == self.fail_at:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (simulated)")
        return self.real(decoder, rows, settings)


@pytest.fixture(scope="module")
def searched(run_copy):
    spy = Spy()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Decoder, "rouge", lambda *args: spy.rouge(*args))
        result = tune(run_copy, n_trials=N_TRIALS, space=SPACE)
    return result, spy.calls


@pytest.mark.slow
def test_the_search_writes_its_files_with_differing_trials(searched, run_copy):
    result, _ = searched
    directory = run_copy / "tune"
    assert result.tune_dir == directory and result.n_trials == N_TRIALS
    trials = pd.read_csv(directory / "trials.csv")
    assert len(trials) == N_TRIALS and (trials["state"] == "COMPLETE").all()
    settings = trials[list(SPACE)]
    assert len(settings.drop_duplicates()) == N_TRIALS
    for name, (low, high) in SPACE.items():
        assert settings[name].between(low, high).all(), name
    assert (trials["seconds"] > 0).all() and trials["rouge_sum"].notna().all()
    assert result.settings == yaml.safe_load((directory / GENERATION_FILE).read_text())
    assert result.scores["tuning"]["tuned"]["rouge_sum"] == pytest.approx(
        trials["rouge_sum"].max())
    summary = (directory / "summary.md").read_text(encoding="utf-8")
    for part in ("tuning", "held-out"):
        assert f"| {part} | 30 | default |" in summary and f"| {part} | 30 | tuned |" in summary
    image_is_a_real_plot(directory / "decoding_search.png")
    assert (directory / "study.db").is_file()


@pytest.mark.slow
def test_no_trial_sees_a_held_out_row(searched):
    result, calls = searched
    trial_calls, report_calls = calls[:N_TRIALS], calls[N_TRIALS:]
    tuning_rows = set(trial_calls[0][0])
    assert len(tuning_rows) == 30
    assert all(set(rows) == tuning_rows for rows, _ in trial_calls)
    held_out = {fname for rows, _ in report_calls for fname in rows} - tuning_rows
    assert len(held_out) == 30  # the other half of the 60 dev rows
    # Held-out rows were generated only for the best settings and the run's own ({}).
    for rows, settings in report_calls:
        if set(rows) & held_out:
            assert set(rows) == held_out and settings in ({}, result.settings)


@pytest.mark.slow
def test_predict_reads_the_tuned_settings_and_a_typed_key_wins(searched, run_copy, tmp_path):
    outputs = (tmp_path / f"{number}.csv" for number in itertools.count())

    def predict(*args: str) -> list[str]:
        output = next(outputs)
        proc = run_command("summarizer.predict", [
            f"run={run_copy}", "split=dev", "data.max_dev_samples=12", f"output={output}",
            f"hydra.run.dir={tmp_path / 'log'}", *args], tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return pd.read_csv(output, keep_default_na=False)["summary"].tolist()

    default, tuned = predict(), predict("generation=tuned")
    assert tuned != default
    # max_new_tokens of the search is at most 16; a typed 2 beats the file's.
    typed = predict("generation=tuned", "generation.max_new_tokens=2")
    assert typed != tuned and all(len(summary.split()) <= 2 for summary in typed)


@pytest.mark.slow
def test_a_rerun_continues_the_study_and_a_failed_trial_is_recorded(searched, run_copy,
                                                                    tmp_path):
    # The command itself, continuing the API's study.
    proc = run_command("summarizer.tune", [f"run={run_copy}", "n_trials=1", *SPACE_OVERRIDES,
                                           f"hydra.run.dir={tmp_path / 'log'}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(pd.read_csv(run_copy / "tune" / "trials.csv")) == N_TRIALS + 1

    spy = Spy(fail_at=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Decoder, "rouge", lambda *args: spy.rouge(*args))
        result = tune(run_copy, n_trials=2, space=SPACE)
    trials = pd.read_csv(run_copy / "tune" / "trials.csv", keep_default_na=False)
    assert result.n_trials == len(trials) == N_TRIALS + 3
    failed = trials[trials["state"] == "FAIL"]
    assert failed["trial"].tolist() == [N_TRIALS + 1]
    assert "out of memory" in failed["failure_reason"].iloc[0]
    assert trials.iloc[-1]["state"] == "COMPLETE"  # the study went on
    assert "out of memory" in (run_copy / "tune" / "summary.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_rerun_on_another_split_is_refused(searched, run_copy):
    with pytest.raises(SummarizerError, match="seed=0 holdout=0.5"):
        tune(run_copy, n_trials=1, seed=1, space=SPACE)


@pytest.mark.slow
def test_predict_without_a_search_says_to_run_tune(trained_run, tmp_path):
    proc = run_command("summarizer.predict", [f"run={trained_run}", "generation=tuned",
                                              f"hydra.run.dir={tmp_path / 'log'}"], tmp_path)
    assert proc.returncode == 2, proc.stderr[-3000:]
    output = proc.stdout + proc.stderr
    assert str(trained_run / "tune" / GENERATION_FILE) in output
    assert f"python -m summarizer.tune run={trained_run}" in output
