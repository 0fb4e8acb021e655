"""Tests of the score command (summarizer.score) and its Python API."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from summarizer.atomic_files import write_json_atomic
from summarizer.errors import SummarizerError
from summarizer.scoring import score_files
from tests.rouge_reference import TYPES, close, default_tokenizer_expected, expected, mean_of

REPO = Path(__file__).resolve().parents[1]
KEYS = {"n", "tokenizer", "references", "max", "mean", "per_reference"}


def write_csv(path: Path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# Predictions and two references with commas, quotes and newlines inside quoted fields,
# and an empty prediction. The reference file lists the fnames in another order.
PREDS = {
    "dev_0": "#Person1#은 내일 오후 3시에, 사무실에서 만나기로 했다.",
    "dev_1": "#Person2#는 휴대폰을 잃어버렸다.\n#Person1#이 \"경찰서\"에 가라고 했다",
    "dev_2": "",
    "dev_3": "두 사람은 영화를 보기로 했다",
}
REFS = {
    "dev_0": ("#Person1#은 내일 오후 3시에, 사무실에서 #Person2#를 만나기로 했다.",
              "#Person1#과 #Person2#는 내일 만난다"),
    "dev_1": ("#Person2#는 휴대폰을 잃어버렸고\n#Person1#이 \"경찰서\"에 가라고 했다",
              "#Person2#는 휴대폰을 잃어버렸다."),
    "dev_2": ("회의는, 다음 주로 미뤄졌다", "회의가 연기되었다"),
    "dev_3": ("두 사람은 주말에 영화를 보기로 했다", "두 사람은 영화를 보기로 했다"),
}
ORDER = ["dev_2", "dev_0", "dev_3", "dev_1"]


@pytest.fixture()
def files(tmp_path):
    pred = write_csv(tmp_path / "pred.csv", ["fname", "summary"], [[f, PREDS[f]] for f in PREDS])
    ref = write_csv(
        tmp_path / "ref.csv",
        ["fname", "dialogue", "summary1", "summary2"],
        [[f, "대화, 내용\n둘째 줄", *REFS[f]] for f in ORDER],
    )
    return pred, ref


def expected_result():
    table = {f: [expected(PREDS[f], r) for r in REFS[f]] for f in PREDS}
    per_ref = {
        name: mean_of([table[f][j] for f in PREDS])
        for j, name in enumerate(["summary1", "summary2"])
    }
    best = mean_of([{t: max(s[t] for s in table[f]) for t in TYPES} for f in PREDS])
    avg = mean_of([{t: sum(s[t] for s in table[f]) / 2 for t in TYPES} for f in PREDS])
    return best, avg, per_ref


def check_result(got):
    assert set(got) == KEYS
    assert got["n"] == 4
    assert got["tokenizer"] == "whitespace"
    assert got["references"] == ["summary1", "summary2"]
    best, avg, per_ref = expected_result()
    close(got["max"], best)
    close(got["mean"], avg)
    assert list(got["per_reference"]) == ["summary1", "summary2"]
    for name in per_ref:
        close(got["per_reference"][name], per_ref[name])


def run_cli(*overrides, cwd=REPO):
    env = dict(os.environ)
    env.pop("HYDRA_FULL_ERROR", None)
    env["HF_HUB_OFFLINE"] = "1"
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "summarizer.score", *map(str, overrides)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


# ---------------------------------------------------------------- Python API


def test_score_files_joins_on_fname_and_matches_independent_values(files):
    pred, ref = files
    got = score_files(pred, ref)
    check_result(got)
    assert json.loads(json.dumps(got)) == got  # plain JSON types


def test_single_reference_all_aggregates_agree(tmp_path):
    pred = write_csv(tmp_path / "p.csv", ["fname", "summary"], [[f, PREDS[f]] for f in PREDS])
    ref = write_csv(tmp_path / "r.csv", ["fname", "summary"], [[f, REFS[f][0]] for f in ORDER])
    got = score_files(pred, ref)
    assert got["references"] == ["summary"]
    want = mean_of([expected(PREDS[f], REFS[f][0]) for f in PREDS])
    close(got["max"], want)
    close(got["mean"], want)
    close(got["per_reference"]["summary"], want)


def test_column_selection(tmp_path):
    # training's dev_predictions.csv layout: fname,prediction,reference
    pred = write_csv(
        tmp_path / "dev_predictions.csv",
        ["fname", "prediction", "reference"],
        [[f, PREDS[f], REFS[f][0]] for f in PREDS],
    )
    ref = write_csv(
        tmp_path / "r.csv",
        ["fname", "summary2", "summary10", "summary1", "topic"],
        [[f, REFS[f][1], "x", REFS[f][0], "t"] for f in ORDER],
    )
    got = score_files(pred, ref)
    assert got["references"] == ["summary1", "summary2", "summary10"]
    want = mean_of([expected(PREDS[f], REFS[f][0]) for f in PREDS])
    close(got["per_reference"]["summary1"], want)

    got = score_files(pred, ref, reference_columns=["summary2"])
    assert got["references"] == ["summary2"]
    close(got["max"], mean_of([expected(PREDS[f], REFS[f][1]) for f in PREDS]))

    # the predictions file scored against its own reference column
    got = score_files(pred, pred)
    assert got["references"] == ["reference"]
    close(got["max"], mean_of([expected(PREDS[f], REFS[f][0]) for f in PREDS]))

    # an explicit prediction column
    got = score_files(ref, ref, reference_columns="summary1", prediction_column="summary1")
    assert got["max"]["rouge_sum"] == pytest.approx(300)

    with pytest.raises(SummarizerError, match="no column"):
        score_files(pred, ref, prediction_column="nope")
    with pytest.raises(SummarizerError, match="summary9"):
        score_files(pred, ref, reference_columns=["summary9"])


def test_other_tokenizers_run(files):
    pred, ref = files
    for mode in ("char", "morpheme", "compat"):
        got = score_files(pred, ref, tokenizer=mode)
        assert got["tokenizer"] == mode
        assert 0 < got["max"]["rouge_sum"] < 300
    with pytest.raises(SummarizerError, match="tokenizer"):
        score_files(pred, ref, tokenizer="bpe")


def test_api_errors(tmp_path, files):
    pred, ref = files
    with pytest.raises(SummarizerError, match="does not exist"):
        score_files(tmp_path / "missing.csv", ref)
    no_id = write_csv(tmp_path / "noid.csv", ["id", "summary"], [["dev_0", "x"]])
    with pytest.raises(SummarizerError, match="no 'fname' column"):
        score_files(no_id, ref)
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(SummarizerError, match="empty"):
        score_files(tmp_path / "empty.csv", ref)


def test_write_json_atomic(tmp_path):
    target = tmp_path / "sub" / "scores.json"
    write_json_atomic({"a": 1, "한": "글"}, target)
    write_json_atomic({"a": 2}, target)
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": 2}
    assert sorted(p.name for p in target.parent.iterdir()) == ["scores.json"]


# ---------------------------------------------------------------- command line


def test_cli_writes_scores_json_into_the_run_dir(files, tmp_path):
    pred, ref = files
    run_dir = tmp_path / "run"
    proc = run_cli(f"predictions={pred}", f"references={ref}", f"hydra.run.dir={run_dir}")
    assert proc.returncode == 0, proc.stderr
    check_result(json.loads((run_dir / "scores.json").read_text(encoding="utf-8")))
    assert "rouge_sum" in proc.stdout and "summary2" in proc.stdout
    assert (run_dir / ".hydra" / "config.yaml").exists()
    assert "version_base" not in proc.stderr


def test_cli_output_and_options(files, tmp_path):
    pred, ref = files
    out = tmp_path / "nested" / "s.json"
    proc = run_cli(
        f"predictions={pred}", f"references={ref}", "reference_columns=[summary2]",
        "tokenizer=compat", f"output={out}", f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    assert set(got) == KEYS
    assert got["tokenizer"] == "compat" and got["references"] == ["summary2"]
    assert list(got["per_reference"]) == ["summary2"]
    assert got["max"] == got["mean"] == got["per_reference"]["summary2"]
    assert not (tmp_path / "run" / "scores.json").exists()


def test_cli_and_api_score_english_like_rouge_score(tmp_path):
    preds = {"d0": "The runners were running late.", "d1": "She DOESN'T like studying!"}
    refs = {"d0": "Runners ran late, as usual", "d1": "she doesn't like to study"}
    pred = write_csv(tmp_path / "pred.csv", ["fname", "summary"], list(preds.items()))
    ref = write_csv(tmp_path / "ref.csv", ["fname", "summary"], list(refs.items()))
    out = tmp_path / "s.json"
    proc = run_cli(f"predictions={pred}", f"references={ref}", "tokenizer=english_stem",
                   f"output={out}", f"hydra.run.dir={tmp_path / 'run'}")
    assert proc.returncode == 0, proc.stderr
    stemmed = json.loads(out.read_text(encoding="utf-8"))
    assert stemmed["tokenizer"] == "english_stem"
    close(stemmed["max"], mean_of([default_tokenizer_expected(preds[f], refs[f], stem=True)
                                   for f in preds]))

    from summarizer import score

    plain = score(list(preds.values()), list(refs.values()), tokenizer="english")
    close(plain["max"], mean_of([default_tokenizer_expected(preds[f], refs[f], stem=False)
                                 for f in preds]))
    assert plain["max"]["rouge1"] < stemmed["max"]["rouge1"]  # runners/running, studying


def _assert_clean_error(proc, *needles):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    for needle in needles:
        assert needle in proc.stdout + proc.stderr, (needle, proc.stdout, proc.stderr)


def test_cli_missing_fnames(files, tmp_path):
    pred, ref = files
    short = write_csv(tmp_path / "short.csv", ["fname", "summary"],
                      [[f, PREDS[f]] for f in ("dev_0", "dev_3")])
    proc = run_cli(f"predictions={short}", f"references={ref}", f"hydra.run.dir={tmp_path / 'r'}")
    _assert_clean_error(proc, str(short), "dev_1", "dev_2", "lacks")


def test_cli_extra_fnames(files, tmp_path):
    pred, ref = files
    extra = write_csv(tmp_path / "extra.csv", ["fname", "summary"],
                      [[f, PREDS[f]] for f in PREDS] + [["test_7", "추가"], ["test_8", "하나 더"]])
    proc = run_cli(f"predictions={extra}", f"references={ref}", f"hydra.run.dir={tmp_path / 'r'}")
    _assert_clean_error(proc, str(extra), str(ref), "test_7", "test_8")


def test_cli_duplicate_fnames(files, tmp_path):
    pred, ref = files
    dup = write_csv(tmp_path / "dup_ref.csv", ["fname", "summary"],
                    [[f, REFS[f][0]] for f in ORDER] + [["dev_3", "중복"]])
    proc = run_cli(f"predictions={pred}", f"references={dup}", f"hydra.run.dir={tmp_path / 'r'}")
    _assert_clean_error(proc, str(dup), "dev_3", "more than once")


def test_cli_missing_argument(files, tmp_path):
    pred, _ = files
    proc = run_cli(f"predictions={pred}", f"hydra.run.dir={tmp_path / 'r'}")
    _assert_clean_error(proc, "references")
