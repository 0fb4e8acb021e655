"""MBR ensembles: the choice among candidates (no model needed), the candidates of seq2seq and
causal models mixed, and `python -m summarizer.predict 'run=[...]' ensemble=mbr` end to end."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from omegaconf import OmegaConf

import summarizer
from summarizer.api import predict_ensemble
from summarizer.ensemble import (
    check_ensemble,
    mbr_choices,
    model_runs,
    oracle,
    report,
    select,
    warn_if_folds_overlap,
)
from summarizer.errors import SummarizerError
from summarizer.rouge import rouge
from tests.causal_like import tiny_tokenizer
from tests.conftest import read_json
from tests.test_causal_predict import SAVED_LENGTH, qwen2_decoder, save_merged, tiny_seq2seq

CONSENSUS = "#Person1# 은 내일 오후 세 시에 회의실 에서 #Person2# 를 만나기로 했다 ."
NEAR = "#Person1# 은 내일 세 시에 회의실 에서 #Person2# 를 만난다 ."
CLOSE = "#Person1# 과 #Person2# 는 내일 오후 세 시에 회의실 에서 만나기로 했다 ."
ODD = "#Person2# 는 저녁 으로 김치찌개 를 먹고 싶어 한다 ."


def test_mbr_picks_the_candidate_the_others_agree_with():
    rows = [[NEAR, CLOSE, CONSENSUS], [ODD, NEAR, CONSENSUS, CLOSE]]
    assert mbr_choices(rows, "whitespace") == [2, 2]
    # Four models, one candidate each: the one closest to all the others wins.
    result = select([[[NEAR]], [[ODD]], [[CONSENSUS]], [[CLOSE]]], "whitespace")
    assert result.summaries == [CONSENSUS] and result.chosen == [(2, 0)]


def test_mbr_equals_a_single_model_when_all_candidates_agree():
    single = [[CONSENSUS], [ODD], [NEAR]]
    result = select([single, single, single], "whitespace")
    assert result.summaries == [CONSENSUS, ODD, NEAR]
    assert result.chosen == [(0, 0)] * 3
    # One candidate per row: nothing to choose, the model's own summaries.
    assert select([single], "whitespace").summaries == [CONSENSUS, ODD, NEAR]


def test_ties_and_rows_of_one_candidate():
    assert mbr_choices([[NEAR, NEAR], [ODD], ["", ""]], "whitespace") == [0, 0, 0]


def test_oracle_is_at_least_the_ensemble_and_every_model():
    references = [CONSENSUS, ODD, "#Person1# 은 집 에 간다 ."]
    models = [
        [[NEAR, ODD], [ODD, CLOSE], ["#Person1# 은 집 에 간다 ."]],
        [[CLOSE], [NEAR], ["#Person2# 는 회의실 에 간다 ."]],
        [[CONSENSUS], [CONSENSUS], ["#Person1# 은 집 에 간다 ."]],
    ]
    result = select(models, "whitespace")
    scores = report(result, references, "whitespace", ["a", "b", "c"])
    assert scores["oracle"]["rouge_sum"] >= scores["ensemble"]["rouge_sum"]
    for model in scores["models"]:
        assert scores["oracle"]["rouge_sum"] >= model["rouge"]["rouge_sum"]
    assert oracle(models, references, "whitespace") == [CONSENSUS, ODD, references[2]]
    assert scores["oracle"]["rouge_sum"] == pytest.approx(300.0)
    assert scores["ensemble"] == rouge(result.summaries, references, tokenizer="whitespace")
    assert [model["run"] for model in scores["models"]] == ["a", "b", "c"]
    assert sum(model["chosen_rows"] for model in scores["models"]) == 3
    assert scores["candidates_per_model"] == 2 and scores["rows"] == 3


def test_the_choice_uses_the_given_rouge_mode():
    """Character ROUGE sees shared syllables that whitespace tokens hide."""
    rows = [["회의 는 내일", "회의실에서만나요", "회의실 에서 만나요"]]
    assert mbr_choices(rows, "whitespace") == [0]  # no token in common: the first
    assert mbr_choices(rows, "char") == [1]


@pytest.mark.parametrize("method,models,per_model,message", [
    (None, 2, 1, "run= names 2 models but no ensemble: set ensemble=mbr"),
    (None, 1, 3, "ensemble_candidates=3 needs ensemble=mbr"),
    ("vote", 2, 1, "ensemble=vote is invalid: use mbr"),
    ("mbr", 1, 1, "ensemble=mbr has one candidate per row to choose from"),
])
def test_an_ensemble_that_cannot_choose_is_refused(method, models, per_model, message):
    with pytest.raises(SummarizerError, match=message):
        check_ensemble(method, models, per_model)
    check_ensemble("mbr", 1, 2)
    check_ensemble(None, 1, 1)


def test_run_takes_one_directory_or_a_list():
    assert model_runs("outputs/a") == ["outputs/a"]
    assert model_runs(OmegaConf.create({"run": ["a", "b"]}).run) == ["a", "b"]


def test_fold_runs_on_their_dev_are_flagged(tmp_path, caplog):
    runs = []
    for fold in range(2):
        (tmp_path / f"fold{fold}" / ".hydra").mkdir(parents=True)
        OmegaConf.save(OmegaConf.create({"data": {"folds": 2, "fold": fold}}),
                       tmp_path / f"fold{fold}" / ".hydra" / "config.yaml")
        runs.append(str(tmp_path / f"fold{fold}"))
    warn_if_folds_overlap(runs, "test")
    warn_if_folds_overlap(runs[:1] * 2, "dev")
    assert not caplog.records
    warn_if_folds_overlap(runs, "dev")
    assert "training rows of others" in caplog.text


@pytest.fixture(scope="module")
def dialogues(data_dir) -> list[str]:
    return pd.read_csv(data_dir / "sample" / "dev.csv")["dialogue"].head(5).tolist()


@pytest.fixture(scope="module")
def mixed_models(data_dir, tmp_path_factory) -> list:
    """A random tiny causal model and a random tiny seq2seq model, saved as runs save them."""
    frame = pd.read_csv(data_dir / "sample" / "train.csv").head(200)
    tokenizer = tiny_tokenizer(frame)
    folder = tmp_path_factory.mktemp("mixed")
    causal = save_merged(qwen2_decoder(tokenizer), tokenizer, folder / "causal")
    seq2seq = tiny_seq2seq(tokenizer)
    seq2seq.generation_config.max_length = SAVED_LENGTH
    seq2seq.save_pretrained(folder / "seq2seq")
    tokenizer.save_pretrained(folder / "seq2seq")
    return [causal, folder / "seq2seq"]


def test_causal_and_seq2seq_candidates_mix(mixed_models, dialogues):
    result = predict_ensemble(mixed_models, dialogues, "mbr", ensemble_candidates=2,
                              max_source_length=256, batch_size=2)
    assert [len(model) for model in result.candidates] == [len(dialogues)] * 2
    assert all(len(texts) == 2 for model in result.candidates for texts in model)
    for model, candidates in zip(mixed_models, result.candidates, strict=True):
        # The best of 2 returned beams is what beam search with 2 beams predicts alone.
        alone = summarizer.predict(model, dialogues, num_beams=2, max_source_length=256,
                                   batch_size=2)
        assert [texts[0] for texts in candidates] == alone
    for row, (model, beam) in enumerate(result.chosen):
        assert result.summaries[row] == result.candidates[model][row][beam]
    # The Python API returns the same choice, in the shape it was given.
    series = summarizer.predict(mixed_models, pd.Series(dialogues, index=range(10, 15)),
                                ensemble="mbr", ensemble_candidates=2, max_source_length=256,
                                batch_size=2)
    assert series.tolist() == result.summaries and list(series.index) == list(range(10, 15))


def test_several_models_need_an_ensemble(mixed_models, dialogues):
    with pytest.raises(SummarizerError, match="set ensemble=mbr"):
        summarizer.predict(mixed_models, dialogues)


@pytest.mark.slow
def test_an_ensemble_of_one_run_twice_predicts_as_the_run(trained_run, dialogues):
    alone = summarizer.predict(trained_run, dialogues)
    assert summarizer.predict([trained_run, trained_run], dialogues, ensemble="mbr") == alone


@pytest.mark.slow
def test_the_command_writes_the_ensemble_and_its_comparison(trained_run, data_dir, tmp_path):
    checkpoint = sorted(trained_run.glob("checkpoint-*"))[0]
    runs = f"run=['{trained_run}','{checkpoint}']"
    proc = subprocess.run(
        [sys.executable, "-m", "summarizer.predict", runs, "ensemble=mbr",
         "ensemble_candidates=2", "split=dev", "data.max_dev_samples=8",
         f"output={tmp_path / 'dev.csv'}", f"hydra.run.dir={tmp_path / 'log'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "Wrote 8 summaries" in output and "of the MBR ensemble" in output
    submission = pd.read_csv(tmp_path / "dev.csv", keep_default_na=False)
    assert len(submission) == 8
    scores = read_json(tmp_path / "dev_ensemble.json")
    assert [model["run"] for model in scores["models"]] == [str(trained_run), str(checkpoint)]
    assert scores["rows"] == 8 and scores["candidates_per_model"] == 2
    assert scores["tokenizer"] == "whitespace"
    assert sum(model["chosen_rows"] for model in scores["models"]) == 8
    assert scores["ensemble"] == read_json(tmp_path / "dev_rouge.json")
    best = max(model["rouge"]["rouge_sum"] for model in scores["models"])
    assert scores["oracle"]["rouge_sum"] >= max(best, scores["ensemble"]["rouge_sum"])
