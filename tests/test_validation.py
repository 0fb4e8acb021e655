"""User mistakes in data, config, resume and predict paths stop with one message, before any model
is loaded."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from hydra.utils import execution_whitelist
from omegaconf import open_dict
from safetensors.torch import save_file

from summarizer.checkpoints import resolve_checkpoint
from summarizer.commands.predict import run as run_predict
from summarizer.data.features import build_dataset
from summarizer.data.module import SummarizationData
from summarizer.errors import SummarizerError
from summarizer.inference import model_dir
from summarizer.options import check_best_metric, check_training_values
from summarizer.resolvers import register_resolvers
from summarizer.tokenization import train_tokenizer
from summarizer.whitelist import EXECUTION_WHITELIST
from tests.conftest import CONF, ROOT, compose_train

register_resolvers()


def make_data(directory: Path, **overrides) -> SummarizationData:
    fields = dict(name="t", dir=str(directory), train_file="train.csv", dev_file="dev.csv",
                  test_file="test.csv", id_column="fname", text_column="dialogue",
                  summary_column="summary", max_source_length=64, max_target_length=16)
    return SummarizationData(**{**fields, **overrides})


def unloadable_model(directory: Path) -> Path:
    """A model directory that passes predict's checks (files present, weights whole) but whose
    config cannot load: whatever predict reports was found before it tried."""
    directory.mkdir(exist_ok=True)
    for name in ("config.json", "tokenizer_config.json"):
        (directory / name).write_text("not a model")
    save_file({"weight": torch.zeros(2)}, directory / "model.safetensors")
    return directory


def write_csv(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def rows(n: int, **blank) -> list[dict]:
    """`n` rows t0..t<n-1>; `blank={"dialogue": [1, 3]}` empties those cells."""
    table = [{"fname": f"t{i}", "dialogue": f"#Person1#: 안녕 {i}", "summary": f"인사 {i}"}
             for i in range(n)]
    for column, indices in blank.items():
        for i in indices:
            table[i][column] = ""
    return table


def task_config(overrides: list[str] = ()):
    """What `summarizer.train` hands the pipeline: the composed config without Hydra's node."""
    cfg = compose_train(overrides)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


# --- data files -----------------------------------------------------------------------------

def test_missing_file_names_the_file_and_key(tmp_path):
    with pytest.raises(SummarizerError, match=re.escape("train.csv does not exist (set by data.")):
        make_data(tmp_path).load("train")


def test_non_utf8_file_names_the_byte_and_line(tmp_path):
    """A spreadsheet's usual Korean export: CP949 throughout."""
    head = "fname,dialogue,summary\nt0,hello,hi\nt1,"
    (tmp_path / "train.csv").write_bytes(f"{head}감사합니다,인사\n".encode("cp949"))
    with pytest.raises(SummarizerError) as err:
        make_data(tmp_path).load("train")
    message = str(err.value)
    assert f"{tmp_path / 'train.csv'} is not UTF-8 text: byte {len(head)} (line 3)" in message
    assert "Re-save it with UTF-8" in message and "iconv -f cp949 -t utf-8 train.csv" in message


@pytest.mark.parametrize("name,content,expected", [
    ("train.csv", "", "is empty (set by data.train_file)"),
    ("train.csv", "fname,dialogue,summary\n", "has no rows (only a header)"),
    ("train.jsonl", "\n\n", "has no rows (set by data.train_file)"),
    ("train.json", "[]", "has no rows (set by data.train_file)"),
])
def test_empty_file_says_it_has_no_rows(tmp_path, name, content, expected):
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(SummarizerError, match=f"{name} {re.escape(expected)}"):
        make_data(tmp_path, train_file=name).load("train")


def test_malformed_jsonl_names_the_line(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"fname": "t0"}\n{"fname": \n', encoding="utf-8")
    with pytest.raises(SummarizerError, match=r"train.jsonl could not be read as JSONL \(line 2\)"):
        make_data(tmp_path, train_file="train.jsonl").load("train")


def test_missing_column_lists_the_columns_there(tmp_path):
    lines = [json.dumps({"fname": "t0", "text": "안녕", "summary": "인사"}, ensure_ascii=False)]
    (tmp_path / "train.jsonl").write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(SummarizerError) as err:
        make_data(tmp_path, train_file="train.jsonl").load("train")
    assert str(err.value) == (
        f"{tmp_path / 'train.jsonl'} has no column 'dialogue' (set by data.text_column); its "
        "columns are 'fname', 'text', 'summary'. Rename the column or set data.text_column=<name>.")


def test_empty_training_rows_are_dropped_and_counted_in_one_line(tmp_path, caplog):
    table = rows(8, dialogue=[1, 6], summary=[3])
    table[4]["dialogue"] = "   "
    write_csv(tmp_path / "train.csv", table)
    with caplog.at_level(logging.WARNING, logger="summarizer"):
        frame = make_data(tmp_path).load("train")
    assert frame["fname"].tolist() == ["t0", "t2", "t5", "t7"]
    assert frame.index.tolist() == [0, 1, 2, 3]
    [record] = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert record.getMessage() == (
        f"train: dropped 4 of 8 rows of {tmp_path / 'train.csv'} with an empty 'dialogue' or "
        "'summary': 't1' (row 2), 't3' (row 4), 't4' (row 5), 't6' (row 7). Set "
        "data.empty_rows=fail to stop on them instead.")


def test_json_nulls_count_as_empty(tmp_path):
    table = rows(3)
    table[1]["summary"] = None
    (tmp_path / "dev.json").write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(SummarizerError, match=r"1 rows with an empty 'summary': 't1' \(row 2\)"):
        make_data(tmp_path, dev_file="dev.json", empty_rows="fail").load("dev")


def test_empty_training_rows_can_stop_the_run(tmp_path):
    write_csv(tmp_path / "train.csv", rows(12, dialogue=range(1, 8)))
    with pytest.raises(SummarizerError) as err:
        make_data(tmp_path, empty_rows="fail").load("train")
    assert str(err.value) == (
        f"{tmp_path / 'train.csv'} has 7 rows with an empty 'dialogue': 't1' (row 2), "
        "'t2' (row 3), 't3' (row 4), 't4' (row 5), 't5' (row 6) and 2 more. Fill in or delete "
        "these rows, or set data.empty_rows=drop to skip them.")


def test_unknown_empty_rows_option_is_refused(tmp_path):
    write_csv(tmp_path / "train.csv", rows(2))
    with pytest.raises(SummarizerError, match="data.empty_rows=skip is invalid: use drop or fail"):
        make_data(tmp_path, empty_rows="skip").load("train")


def test_unknown_rouge_tokenizer_is_refused_before_reading(tmp_path):
    # No file there: the option is checked first.
    with pytest.raises(SummarizerError) as err:
        make_data(tmp_path, rouge_tokenizer="rouge_score").load("dev")
    assert str(err.value).startswith(
        "data.rouge_tokenizer=rouge_score is invalid: use one of whitespace, char, morpheme, "
        "compat, english, english_stem (docs/rouge.md)")


def test_prediction_split_fails_on_empty_dialogues(tmp_path):
    table = [{k: v for k, v in row.items() if k != "summary"} for row in rows(4, dialogue=[2])]
    write_csv(tmp_path / "test.csv", table)
    with pytest.raises(SummarizerError) as err:
        make_data(tmp_path).load("test", for_prediction=True)
    assert str(err.value) == (
        f"{tmp_path / 'test.csv'} has 1 rows with an empty 'dialogue' (set by data.text_column): "
        "'t2' (row 3). A submission needs a summary for every row: fill in these dialogues.")


def test_prediction_split_fails_on_duplicate_ids(tmp_path):
    table = rows(6)
    table[3]["fname"] = table[5]["fname"] = "t0"
    table[4]["fname"] = "t1"
    write_csv(tmp_path / "test.csv", table)
    with pytest.raises(SummarizerError) as err:
        make_data(tmp_path).load("test", for_prediction=True)
    assert str(err.value) == (
        f"{tmp_path / 'test.csv'} has duplicate 'fname' values (set by data.id_column): "
        "'t0' (rows 1, 4, 6), 't1' (rows 2, 5). A submission needs one row per id: remove or "
        "rename the duplicates.")


@pytest.fixture(scope="module")
def tokenizer():
    texts = [row["dialogue"] + " " + row["summary"] for row in rows(50)]
    return train_tokenizer(texts, special_tokens=["#Person1#"], vocab_size=200, min_frequency=1)


@pytest.fixture(scope="module")
def bart_style_tokenizer():
    """A tokenizer that adds `<s>`/`</s>` itself, like BART's."""
    from tokenizers import processors

    texts = [row["dialogue"] + " " + row["summary"] for row in rows(50)]
    tok = train_tokenizer(texts, special_tokens=["#Person1#"], vocab_size=200, min_frequency=1)
    ids = [("<s>", tok.bos_token_id), ("</s>", tok.eos_token_id)]
    tok.backend_tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A </s>",
                                                                         special_tokens=ids)
    return tok


@pytest.mark.parametrize("which", ["tokenizer", "bart_style_tokenizer"])
def test_truncated_dialogues_are_counted_once_per_split(request, which, caplog):
    tok = request.getfixturevalue(which)
    frame = pd.DataFrame({"dialogue": ["짧다", "안녕 " * 40, "#Person1#: 안녕 " * 30],
                          "summary": ["인사", "인사", "인사 " * 20]})
    with caplog.at_level(logging.INFO, logger="summarizer"):
        dataset = build_dataset(frame, tok, "dialogue", "summary", 16, 8, split="train")
    lines = [r.getMessage() for r in caplog.records if "truncated" in r.getMessage()]
    assert lines == ["train: 2 of 3 dialogues longer than 16 tokens were truncated",
                     "train: 1 of 3 summaries longer than 8 tokens were truncated"]
    sources, labels = dataset["input_ids"], dataset["labels"]
    assert [len(s) for s in sources] == [len(sources[0]), 16, 16]
    assert max(map(len, labels)) <= 8
    assert all(s[0] == tok.bos_token_id and s[-1] == tok.eos_token_id for s in sources)
    assert all(seq[-1] == tok.eos_token_id for seq in labels)
    # Cut where the tokenizer's own truncation cuts.
    expected = tok(frame["dialogue"][1], add_special_tokens=False)["input_ids"][:14]
    assert sources[1][1:-1] == expected


# --- config values --------------------------------------------------------------------------

@pytest.mark.parametrize("overrides", [
    [], ["model=kobart"], ["experiment=baseline_kobart"], ["debug=fast"], ["logger=csv"],
    ["logger=tensorboard"], ["logger=none"], ["data=dialogsum_ko"], ["data=dialogsum"],
])
def test_shipped_configs_pass_the_checks(overrides):
    check_training_values(task_config(overrides))


@pytest.mark.parametrize("override,expected", [
    ("training.learning_rate=0", "a number > 0"),
    ("training.learning_rate=-0.001", "a number > 0"),
    ("training.learning_rate=fast", "a number > 0"),
    ("training.batch_size=0", "an integer >= 1"),
    ("training.eval_batch_size=0", "an integer >= 1"),
    ("training.epochs=0", "a number > 0"),
    ("training.generation.num_beams=0", "an integer >= 1"),
    ("training.generation.max_length=0", "an integer >= 1"),
    ("data.max_source_length=0", "an integer >= 4"),
    ("data.max_target_length=1", "an integer >= 2"),
    ("data.max_train_samples=0", "an integer >= 1 or null"),
    ("training.early_stopping_patience=-1", "an integer >= 0"),
    ("training.warmup_steps=-5", "a number >= 0"),
])
def test_bad_training_values_are_refused(override, expected):
    key, _, value = override.partition("=")
    value = value if re.fullmatch(r"-?[\d.e-]+", value) else repr(value)
    with pytest.raises(SummarizerError) as err:
        check_training_values(task_config([override]))
    assert str(err.value) == (f"{key}={value} is invalid: it must be {expected}. Override it on "
                              f"the command line, e.g. {key}=<value>.")


@pytest.mark.parametrize("metric,greater", [
    ("eval_rouge_sum", True), ("rouge_sum", True), ("eval_rouge1", True), ("rougeL", True),
    ("eval_loss", False), ("loss", False), ("eval_gen_len", True), ("gen_len", False),
])
def test_metrics_the_evaluation_reports_are_accepted(metric, greater):
    args = task_config([f"training.args.metric_for_best_model={metric}",
                        f"training.args.greater_is_better={greater}"]).training.args
    check_best_metric(args)


def test_a_metric_the_evaluation_does_not_report_is_refused():
    cfg = task_config(["training.args.metric_for_best_model=eval_bleu"])
    with pytest.raises(SummarizerError) as err:
        check_training_values(cfg)
    assert str(err.value) == (
        "training.args.metric_for_best_model=eval_bleu is not a metric the evaluation reports; "
        "use one of eval_loss, eval_rouge1, eval_rouge2, eval_rougeL, eval_rouge_sum, "
        "eval_gen_len (the eval_ prefix is optional).")


def test_loss_as_best_metric_needs_lower_is_better():
    cfg = task_config(["training.args.metric_for_best_model=eval_loss"])
    expected = "greater_is_better=True would keep the worst checkpoint. Set training.args."
    with pytest.raises(SummarizerError, match=re.escape(expected + "greater_is_better=false")):
        check_training_values(cfg)


def test_unknown_group_option_lists_the_available_ones(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "summarizer.train", "model=kobrat"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert ("The command line does not compose into a config: In 'train': Could not find "
            "'model/kobrat' "
            "Available options in 'model': causal_lm kobart tiny tiny_causal.") in proc.stderr
    assert "Traceback" not in proc.stderr


# --- resume and predict paths ---------------------------------------------------------------

def test_resume_from_a_directory_without_checkpoints(tmp_path, caplog):
    run = tmp_path / "old_run"
    (run / "checkpoint-40").mkdir(parents=True)
    (run / "checkpoint-40" / "trainer_state.json").write_text("{}")
    with (caplog.at_level(logging.WARNING, logger="summarizer"),
          pytest.raises(SummarizerError) as err):
        resolve_checkpoint(str(run), tmp_path / "new_run")
    assert str(err.value).startswith(
        f"training.resume_from_checkpoint={run}: no complete checkpoint-* directory there")
    assert "or leave the key unset to start afresh" in str(err.value)
    assert f"Skipping incomplete checkpoint {run / 'checkpoint-40'}" in caplog.text


def test_resume_last_without_earlier_checkpoints(tmp_path):
    run = tmp_path / "tiny_sample" / "2026-01-02_03-04-05"
    run.mkdir(parents=True)
    (tmp_path / "tiny_sample" / "2026-01-01_00-00-00").mkdir()
    with pytest.raises(SummarizerError, match="=last found no complete checkpoint in"):
        resolve_checkpoint("last", run)


def test_resume_from_a_path_that_does_not_exist(tmp_path):
    with pytest.raises(SummarizerError, match="no such directory"):
        resolve_checkpoint(str(tmp_path / "nope"), tmp_path / "run")


@pytest.mark.parametrize("files,expected", [
    ([], "holds no model: expected a run directory with final_model/"),
    (["config.json"], "has config.json but no model.safetensors. Point run="),
    (["config.json", "pytorch_model.bin"],
     "no model.safetensors (its pytorch_model.bin is a pickle and is not loaded)"),
    (["config.json", "model.safetensors"], "has model weights but no tokenizer"),
])
def test_predict_needs_a_complete_model_directory(tmp_path, files, expected):
    final = tmp_path / "final_model"
    final.mkdir()
    for name in files:
        if name == "model.safetensors":
            save_file({"weight": torch.zeros(2)}, final / name)
        else:
            (final / name).write_text("{}")
    with pytest.raises(SummarizerError) as err:
        model_dir(tmp_path)
    assert expected in str(err.value)


def test_predict_checks_its_data_before_loading_the_model(tmp_path):
    """A model directory whose weights cannot load: the bad data must stop the command first."""
    model = unloadable_model(tmp_path / "model")
    raw = tmp_path / "raw"
    raw.mkdir()
    write_csv(raw / "test.csv", [{"fname": "a", "dialogue": "안녕"},
                                 {"fname": "a", "dialogue": "네"}])
    proc = subprocess.run(
        [sys.executable, "-m", "summarizer.predict", f"run={model}", "data=dialogsum_ko",
         f"data.dir={raw}", f"hydra.run.dir={tmp_path / 'log'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert (f"{raw / 'test.csv'} has duplicate 'fname' values (set by data.id_column): "
            "'a' (rows 1, 2)") in output
    assert "Traceback" not in output and "Loaded" not in output


@pytest.mark.parametrize("override,expected", [
    ("text=' '", "text= is empty: give the dialogue to summarize"),
    ("batch_size=0", "batch_size=0 is invalid: it must be an integer >= 1."),
    ("split=hiddentest", "split='hiddentest' is invalid: it must be one of train, dev, test."),
    ("split=Test", "split='Test' is invalid: it must be one of train, dev, test."),
])
def test_predict_arguments_are_checked_before_loading(tmp_path, override, expected):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    for name in ("config.json", "model.safetensors", "tokenizer_config.json"):
        (tmp_path / name).write_text("not a model")  # loading it would fail differently
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF)):
        cfg = compose("predict", overrides=[f"run={tmp_path}", override])
    # The whitelist `python -m summarizer.predict` instantiates under.
    with execution_whitelist(EXECUTION_WHITELIST), pytest.raises(SummarizerError,
                                                                 match=re.escape(expected)):
        run_predict(cfg, tmp_path)


def test_predict_scores_a_split_in_the_data_option_s_rouge_mode(tmp_path, monkeypatch):
    """`data=dialogsum` scores the dev split with English ROUGE (generation stubbed out)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from summarizer import api
    from tests.rouge_reference import default_tokenizer_expected

    unloadable_model(tmp_path)
    references = ["#Person1# runs late for the Meeting.", "They're studying French."]
    summaries = ["#Person1# is running late for the meeting", "they study french"]
    write_csv(tmp_path / "dev.csv", [{"fname": f"d{i}", "dialogue": "#Person1#: Hi.",
                                      "summary": text} for i, text in enumerate(references)])
    monkeypatch.setattr(api, "predict", lambda run, texts, **settings: summaries)
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF)):
        cfg = compose("predict", overrides=[f"run={tmp_path}", "data=dialogsum",
                                            f"data.dir={tmp_path}", "split=dev"])
    with execution_whitelist(EXECUTION_WHITELIST):
        output = run_predict(cfg, tmp_path)
    scores = json.loads(output.with_name("submission_rouge.json").read_text(encoding="utf-8"))
    want = [default_tokenizer_expected(summary, reference, stem=True)
            for summary, reference in zip(summaries, references, strict=True)]
    for metric in ("rouge1", "rouge2", "rougeL"):
        assert scores[metric] == pytest.approx((want[0][metric] + want[1][metric]) / 2)
    assert scores["rouge1"] > 85  # case, punctuation and inflections no longer count
