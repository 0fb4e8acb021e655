"""End-to-end: the real entry point in a subprocess, on the generated sample data."""

from __future__ import annotations

import csv
import os
import re
import shlex
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from rouge_score import rouge_scorer
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

from summarizer.loggers.samples import COLUMNS as PREDICTION_COLUMNS
from tests.conftest import (
    LITERAL_SECRET,
    SECRET_ENV,
    SHARED_EPOCHS,
    SHARED_RUN_ARGS,
    image_is_a_real_plot,
    read_json,
    run_train,
)
from tests.rouge_reference import SplitTokenizer
from tests.wandb_records import wandb_records

pytestmark = pytest.mark.slow


def test_run_directory_has_everything(trained_run):
    assert (trained_run / ".hydra" / "config.yaml").is_file()
    assert "logger=csv" in (trained_run / ".hydra" / "overrides.yaml").read_text()
    log = (trained_run / "train.log").read_text(encoding="utf-8")
    assert "'loss':" in log and "'eval_rouge_sum':" in log and "Final dev ROUGE" in log
    checkpoints = sorted(trained_run.glob("checkpoint-*"))
    assert 1 <= len(checkpoints) <= 2  # save_total_limit=2 keeps the best and the latest
    metrics = read_json(trained_run / "metrics.json")
    for key in ("eval_rouge1", "eval_rouge2", "eval_rougeL", "eval_rouge_sum", "eval_loss",
                "eval_gen_len", "train_runtime", "train_samples_per_second"):
        assert isinstance(metrics[key], float), key
    assert metrics["eval_rouge_sum"] == pytest.approx(
        metrics["eval_rouge1"] + metrics["eval_rouge2"] + metrics["eval_rougeL"])
    # Relative to the run directory, so that it still holds when the directory moves.
    assert metrics["best_checkpoint"].startswith("checkpoint-")
    assert (trained_run / metrics["best_checkpoint"]).is_dir()
    # Results are for sharing: readable by others like every file the run writes.
    for name in ("metrics.json", "dev_predictions.csv", "summary.md"):
        assert (trained_run / name).stat().st_mode & 0o777 == 0o644, name


def test_rouge_sum_rises_and_the_best_checkpoint_is_kept(trained_run):
    log = pd.read_csv(trained_run / "log.csv")
    evals = log.dropna(subset=["eval_rouge_sum"])
    assert len(evals) == SHARED_EPOCHS
    first, best = evals["eval_rouge_sum"].iloc[0], evals["eval_rouge_sum"].max()
    assert best >= first + 20, evals["eval_rouge_sum"].tolist()
    # The final model is the best epoch's, not the last one's.
    metrics = read_json(trained_run / "metrics.json")
    assert metrics["eval_rouge_sum"] == pytest.approx(best, abs=1e-6)
    assert metrics["best_metric"] == pytest.approx(best, abs=1e-9)


def test_reported_rouge_equals_an_independent_computation(trained_run, data_dir):
    """metrics.json against rouge-score with the test's own tokenizer, on the raw dev file."""
    predictions = pd.read_csv(trained_run / "dev_predictions.csv", keep_default_na=False)
    dev = pd.read_csv(data_dir / "sample" / "dev.csv", keep_default_na=False).iloc[:60]
    assert list(predictions.columns) == ["fname", "prediction", "reference"]
    assert predictions["fname"].tolist() == dev["fname"].tolist()
    assert predictions["reference"].tolist() == dev["summary"].tolist()
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=SplitTokenizer())
    scores = [scorer.score(ref, pred)
              for ref, pred in zip(dev["summary"], predictions["prediction"], strict=True)]
    expected = {k: 100 * sum(s[k].fmeasure for s in scores) / len(scores)
                for k in ("rouge1", "rouge2", "rougeL")}
    metrics = read_json(trained_run / "metrics.json")
    for key, value in expected.items():
        assert metrics[f"eval_{key}"] == pytest.approx(value, abs=1e-9)
    assert metrics["eval_rouge_sum"] == pytest.approx(sum(expected.values()), abs=1e-9)
    assert expected["rouge1"] > 10  # Korean text really scored, not deleted by a tokenizer


def test_final_model_loads_and_writes_korean(trained_run, data_dir):
    final = trained_run / "final_model"
    tokenizer = AutoTokenizer.from_pretrained(final)
    model = AutoModelForSeq2SeqLM.from_pretrained(final)
    assert (final / "generation_config.json").is_file()
    dialogue = pd.read_csv(data_dir / "sample" / "test.csv")["dialogue"].iloc[0]
    inputs = tokenizer([dialogue], return_tensors="pt", truncation=True, max_length=256)
    output = model.generate(**inputs, max_new_tokens=40)
    text = tokenizer.decode(output[0], skip_special_tokens=True)
    assert any("\uac00" <= ch <= "\ud7a3" for ch in text), text


def best_epoch(run_dir) -> int:
    evals = pd.read_csv(run_dir / "log.csv").dropna(subset=["eval_rouge_sum"])
    return int(evals.loc[evals["eval_rouge_sum"].idxmax(), "epoch"])


def code_block(markdown: str, language: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", markdown, re.DOTALL)
    assert len(blocks) == 1, markdown
    return blocks[0]


def test_train_log_has_one_line_per_evaluation(trained_run):
    log = (trained_run / "train.log").read_text(encoding="utf-8")
    lines = re.findall(r"epoch (\d+)/(\d+): eval loss \d+\.\d{4}, ROUGE-1/2/L [\d.]+ / [\d.]+ / "
                       r"[\d.]+, rouge_sum ([\d.]+), (new best|best so far [\d.]+ \(rouge_sum\) "
                       r"at epoch \d+)", log)
    assert [(int(e), int(n)) for e, n, _, _ in lines] == [
        (epoch, SHARED_EPOCHS) for epoch in range(1, SHARED_EPOCHS + 1)]
    evals = pd.read_csv(trained_run / "log.csv").dropna(subset=["eval_rouge_sum"])
    assert [float(s) for _, _, s, _ in lines] == pytest.approx(
        evals["eval_rouge_sum"].round(2).tolist(), abs=0.006)
    assert lines[0][3] == "new best"
    assert max(int(e) for e, _, _, best in lines if best == "new best") == best_epoch(trained_run)


def test_learning_curves_are_drawn(trained_run):
    image = image_is_a_real_plot(trained_run / "learning_curves.png")
    assert image.shape[:2] == (450, 1200)


def test_summary_names_the_run_metrics_and_a_working_predict_command(trained_run, tmp_path):
    summary = (trained_run / "summary.md").read_text(encoding="utf-8")
    metrics = read_json(trained_run / "metrics.json")
    assert f"| best epoch | {best_epoch(trained_run)} of {SHARED_EPOCHS} trained" in summary
    for name, key in (("ROUGE-1", "eval_rouge1"), ("ROUGE-2", "eval_rouge2"),
                      ("ROUGE-L", "eval_rougeL"), ("rouge_sum", "eval_rouge_sum")):
        assert f"| {name} | {metrics[key]:.2f} |" in summary, name
    assert f"| throughput | {metrics['train_samples_per_second']:.1f} samples/s |" in summary
    assert f"`{trained_run / 'final_model'}`" in summary
    assert summary in (trained_run / "train.log").read_text(encoding="utf-8")
    command = shlex.split(code_block(summary, "bash"))
    assert command[:3] == ["python", "-m", "summarizer.predict"]
    proc = subprocess.run([sys.executable, *command[1:], "text='#Person1#: 내일 3시에 만나요.'",
                           f"hydra.run.dir={tmp_path}"], cwd=tmp_path, check=False,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in proc.stdout), proc.stdout


def test_model_card_describes_the_final_model(trained_run, capsys):
    card = (trained_run / "final_model" / "README.md").read_text(encoding="utf-8")
    meta = yaml.safe_load(re.match(r"---\n(.*?)\n---\n", card, re.DOTALL).group(1))
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "summarization"
    assert meta["language"] == ["ko"]  # the sample's summaries
    metrics = read_json(trained_run / "metrics.json")
    reported = {m["type"]: m["value"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    for kind in ("rouge1", "rouge2", "rougeL", "rouge_sum", "loss"):
        assert reported[kind] == pytest.approx(metrics[f"eval_{kind}"], abs=1e-4), kind
    assert f"| rouge_sum | {metrics['eval_rouge_sum']:.2f} |" in card
    assert "trained from scratch" in card and "data option `sample`" in card.lower()
    assert "60 dev rows" in card
    command = code_block(card, "bash")
    assert command.startswith("python -m summarizer.train ") and "logger=csv" in command
    assert "+hub_token=***" in command
    # The usage example in the card runs as written.
    exec(code_block(card, "python"), {})
    assert any("\uac00" <= ch <= "\ud7a3" for ch in capsys.readouterr().out)


def test_reports_hide_the_configs_secrets(trained_run):
    tree = (trained_run / "config_tree.txt").read_text(encoding="utf-8")
    assert "hub_token: ***" in tree and "report_note: ***" in tree
    assert "max_dev_samples: 60" in tree
    secrets = (LITERAL_SECRET, os.environ[SECRET_ENV])
    for name in ("config_tree.txt", "train.log", "summary.md", "final_model/README.md",
                 ".hydra/config.yaml", ".hydra/overrides.yaml", ".hydra/hydra.yaml"):
        text = (trained_run / name).read_text(encoding="utf-8")
        for secret in secrets:
            assert secret not in text, name


def test_resume_continues_from_a_checkpoint(trained_run, tmp_path):
    checkpoint = sorted(trained_run.glob("checkpoint-*"),
                        key=lambda path: int(path.name.split("-")[1]))[-1]
    step = int(checkpoint.name.split("-")[1])
    run_dir = tmp_path / "resumed"
    args = [a for a in SHARED_RUN_ARGS if not a.startswith("training.epochs")]
    run_train([*args, f"training.epochs={SHARED_EPOCHS + 1}",
               f"training.resume_from_checkpoint={trained_run}"], run_dir)
    log = pd.read_csv(run_dir / "log.csv")
    # Only the one extra epoch ran: the first logged step lies beyond the checkpoint.
    assert log["step"].min() > step
    assert log.dropna(subset=["eval_rouge_sum"])["epoch"].tolist() == [SHARED_EPOCHS + 1.0]
    steps_per_epoch = step // SHARED_EPOCHS
    assert f"checkpoint-{step + steps_per_epoch}" in {p.name for p in run_dir.glob("checkpoint-*")}


def test_early_stopping_stops(data_dir, tmp_path):
    # A learning rate this small leaves predictions unchanged: no improvement after epoch 1.
    run_train(["debug=fast", "training.epochs=6", "training.early_stopping_patience=1",
               "training.learning_rate=1e-12", "logger=csv"], tmp_path / "run")
    metrics = read_json(tmp_path / "run" / "metrics.json")
    assert metrics["epoch"] == 2.0


def test_seed_makes_cpu_runs_reproducible(data_dir, tmp_path):
    runs = [tmp_path / "a", tmp_path / "b"]
    for run_dir in runs:
        run_train(["debug=fast", "seed=3"], run_dir)
    first, second = (read_json(r / "metrics.json") for r in runs)
    assert first["eval_loss"] == second["eval_loss"]
    first_rows, second_rows = ((run / "dev_predictions.csv").read_text() for run in runs)
    assert first_rows == second_rows


def test_wandb_offline_run_is_written_and_finished(data_dir, tmp_path):
    run_dir = tmp_path / "run"
    run_train(["debug=fast", "logger=wandb", "logger.mode=offline", "logger.tags=[smoke]",
               "logger.prediction_rows=2", f"+hub_token={LITERAL_SECRET}"], run_dir)
    offline = list((run_dir / "wandb").glob("offline-run-*"))
    assert len(offline) == 1
    # A table of the first dev rows' predictions after each evaluation, as its media file.
    tables = sorted((offline[0] / "files" / "media" / "table" / "eval").glob("predictions_*.json"))
    assert len(tables) == len(list(run_dir.glob("checkpoint-*"))) == 2
    for path in tables:
        table = read_json(path)
        assert table["columns"] == list(PREDICTION_COLUMNS)
        assert [row[0] for row in table["data"]] == ["dev_0", "dev_1"]
        assert all(row[1].startswith("#Person1#:") and row[2] for row in table["data"])
    # wandb 0.31 keeps an offline run as one binary transaction log (no wandb-summary.json);
    # the summary's keys and values are stored in its records as text.
    record = wandb_records(next(offline[0].glob("run-*.wandb")))
    metrics = read_json(run_dir / "metrics.json")
    assert b"best_checkpoint" in record and metrics["best_checkpoint"].encode() in record
    assert b"eval_rouge_sum" in record and b"smoke" in record
    # The config WandB gets has the secret masked.
    assert b"hub_token" in record and LITERAL_SECRET.encode() not in record
    debug = (offline[0] / "logs" / "debug.log").read_text(encoding="utf-8")
    assert "finishing run" in debug and "exitcode: 0" in debug


@pytest.mark.parametrize("override,expected", [
    ("data.train_file=missing.csv", ["missing.csv", "data.train_file"]),
    ("data.summary_column=abstract",
     ["train.csv", "'abstract'", "data.summary_column", "'dialogue'"]),
])
def test_bad_data_stops_with_a_clear_message(data_dir, tmp_path, override, expected):
    proc = run_train(["debug=fast", override], tmp_path / "run", check=False)
    assert proc.returncode == 2
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output
    for fragment in expected:
        assert fragment in output


def test_bad_rows_in_csv_are_reported_by_file(data_dir, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    with (raw / "train.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["fname", "text"], ["t0", "안녕"]])
    proc = run_train(["debug=fast", "data=dialogsum_ko", f"data.dir={raw}"], tmp_path / "run",
                     check=False)
    assert proc.returncode == 2
    assert f"{raw / 'train.csv'} has no column 'dialogue'" in proc.stdout + proc.stderr


def test_kobart_trains_from_a_local_directory(data_dir, tmp_path):
    from tests.kobart_like import build_kobart_like_dir

    local = build_kobart_like_dir(tmp_path / "kobart-base-v2")
    run_dir = tmp_path / "run"
    run_train(["model=kobart", f"model.name_or_path={local}", "debug=fast",
               "data.max_train_samples=400", "training.epochs=6", "training.learning_rate=3e-3",
               "training.generation.max_length=24", "training.early_stopping_patience=6"], run_dir)
    metrics = read_json(run_dir / "metrics.json")
    assert metrics["epoch"] == 6.0 and metrics["eval_rouge_sum"] > 0
    # Generated tags reach dev_predictions.csv with their particle attached (`#Person2#는`):
    # unfixed, KoBART's tokenizer decodes them as `#Person2# 는`, or drops them as special tokens.
    predictions = pd.read_csv(run_dir / "dev_predictions.csv", keep_default_na=False)["prediction"]
    assert predictions.str.contains(r"#Person\d#[가-힣]", regex=True).any(), predictions.tolist()
    tokenizer = AutoTokenizer.from_pretrained(run_dir / "final_model")
    model = AutoModelForSeq2SeqLM.from_pretrained(run_dir / "final_model")
    assert model.get_input_embeddings().num_embeddings == len(tokenizer)
    # KoBART's tokenizer adds no BOS/EOS by itself; the runner's inputs carry both.
    summary = "#Person1#은 #PhoneNumber#로 연락하기로 했다."
    assert tokenizer.decode(tokenizer(summary, add_special_tokens=False)["input_ids"]) == summary


def test_score_command_reproduces_the_training_metric(trained_run, data_dir, tmp_path):
    """Parity: `summarizer.score` on dev_predictions.csv against the raw dev rows."""
    import subprocess
    import sys

    # The shared run evaluates the first 60 dev rows; keep exactly those rows of the raw file.
    lines = pd.read_csv(data_dir / "sample" / "dev.csv", keep_default_na=False).iloc[:60]
    references = tmp_path / "dev60.csv"
    lines.to_csv(references, index=False)
    out = tmp_path / "scores.json"
    subprocess.run([sys.executable, "-m", "summarizer.score",
                    f"predictions={trained_run / 'dev_predictions.csv'}",
                    f"references={references}", f"output={out}", f"hydra.run.dir={tmp_path}"],
                   check=True, capture_output=True, timeout=300)
    scores = read_json(out)
    metrics = read_json(trained_run / "metrics.json")
    assert scores["n"] == 60 and scores["references"] == ["summary"]
    for key in ("rouge1", "rouge2", "rougeL", "rouge_sum"):
        assert scores["max"][key] == pytest.approx(metrics[f"eval_{key}"], abs=1e-9)
