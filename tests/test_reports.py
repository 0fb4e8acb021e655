"""The run reports, written from a synthetic `log_history` (no training)."""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from transformers import (
    MBartConfig,
    MBartForConditionalGeneration,
    Seq2SeqTrainingArguments,
)

from summarizer.data.module import SummarizationData
from summarizer.reports import curves, run_reports
from summarizer.reports.config_tree import write_config_tree
from summarizer.reports.evaluation_log import EvaluationLogCallback, evaluation_line
from summarizer.reports.facts import RunFacts, run_facts, summary_language
from summarizer.reports.history import best_evaluation, evaluations, train_losses
from summarizer.reports.model_card import ROUGE_TOKENIZATION, model_card_markdown
from summarizer.reports.rerun import rerun_command, training_command
from summarizer.reports.summary import format_duration, summary_markdown
from summarizer.resolvers import register_resolvers
from summarizer.rouge import TOKENIZER_MODES
from tests.conftest import CONF, image_is_a_real_plot

register_resolvers()


def evaluation(epoch: int, step: int, rouge1: float, rouge2: float, rougeL: float, loss: float):
    return {"epoch": float(epoch), "step": step, "eval_loss": loss, "eval_rouge1": rouge1,
            "eval_rouge2": rouge2, "eval_rougeL": rougeL,
            "eval_rouge_sum": rouge1 + rouge2 + rougeL,
            "eval_gen_len": 20.0, "eval_runtime": 1.0}


# Four epochs of 10 steps, a loss logged every 5 steps; epoch 3 is the best, epoch 4 ties it.
EVALUATIONS = [
    evaluation(1, 10, 20.0, 5.0, 18.0, 7.0),
    evaluation(2, 20, 30.0, 10.0, 27.0, 6.0),
    evaluation(3, 30, 35.5, 12.25, 31.0, 5.5),
    evaluation(4, 40, 35.5, 12.25, 31.0, 5.4),
]
BEST = EVALUATIONS[2]
LOG_HISTORY = sorted(
    [*({"epoch": step / 10, "step": step, "loss": 8.0 - step / 10, "learning_rate": 1e-3,
        "grad_norm": 1.0} for step in range(5, 45, 5)), *EVALUATIONS],
    key=lambda entry: (entry["step"], "eval_loss" in entry),
) + [{"epoch": 4.0, "step": 40, "train_loss": 6.5, "train_runtime": 125.0,
      "train_samples_per_second": 51.2, "total_flos": 1.0}]
FINAL = {"eval_rouge1": 35.5, "eval_rouge2": 12.25, "eval_rougeL": 31.0, "eval_rouge_sum": 78.75,
         "eval_loss": 5.5, "eval_gen_len": 20.0, "train_runtime": 125.0,
         "train_samples_per_second": 51.2, "epoch": 4.0, "best_checkpoint": "checkpoint-30",
         "best_metric": 78.75}


def facts(tmp_path: Path, log_history=LOG_HISTORY, base_model=None, command=None,
          rouge_tokenizer="whitespace", language="ko") -> RunFacts:
    return RunFacts(
        name="tiny_sample", run_dir=tmp_path, metrics=FINAL, log_history=log_history,
        metric="eval_rouge_sum", greater_is_better=True, base_model=base_model,
        architecture="MBartForConditionalGeneration", parameters=1_270_000, data_name="sample",
        data_dir=tmp_path / "data", train_rows=1200, dev_rows=60, max_source_length=256,
        rouge_tokenizer=rouge_tokenizer,
        hyperparameters={"learning rate": 0.001, "epochs (planned)": 4},
        command=command or "python -m summarizer.train logger=csv", language=language)


def test_history_splits_losses_evaluations_and_the_best():
    assert [e["step"] for e in train_losses(LOG_HISTORY)] == list(range(5, 45, 5))
    assert evaluations(LOG_HISTORY) == EVALUATIONS
    # A tie keeps the earlier evaluation, as the trainer does.
    assert best_evaluation(LOG_HISTORY, "eval_rouge_sum", True) is BEST
    assert best_evaluation(LOG_HISTORY, "eval_loss", False)["epoch"] == 4.0
    assert best_evaluation(train_losses(LOG_HISTORY), "eval_rouge_sum", True) is None


def test_evaluation_line_says_whether_it_is_the_best():
    first = EVALUATIONS[0]
    line = evaluation_line(first, 1.0, 4, "eval_rouge_sum", first)
    assert line == ("epoch 1/4: eval loss 7.0000, ROUGE-1/2/L 20.00 / 5.00 / 18.00, "
                    "rouge_sum 43.00, new best")
    last = EVALUATIONS[-1]
    assert evaluation_line(last, 4.0, 4, "eval_rouge_sum", BEST).endswith(
        "rouge_sum 78.75, best so far 78.75 (rouge_sum) at epoch 3")


def test_callback_logs_one_line_per_evaluation(caplog):
    args = SimpleNamespace(metric_for_best_model="rouge_sum", greater_is_better=True,
                           num_train_epochs=4)
    callback = EvaluationLogCallback()
    with caplog.at_level(logging.INFO, logger="summarizer.reports.evaluation_log"):
        for entry in EVALUATIONS:
            # The trainer appends an evaluation to the history before calling back.
            seen = LOG_HISTORY[:LOG_HISTORY.index(entry) + 1]
            state = SimpleNamespace(is_world_process_zero=True, log_history=seen,
                                    global_step=entry["step"], epoch=entry["epoch"])
            metrics = {k: v for k, v in entry.items() if k.startswith("eval_")}
            callback.on_evaluate(args, state, None, metrics=metrics)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 4
    assert [line.endswith("new best") for line in lines] == [True, True, True, False]
    assert lines[3].startswith("epoch 4/4: eval loss 5.4000")


def test_learning_curves_png(tmp_path):
    path = curves.write_learning_curves(LOG_HISTORY, tmp_path / "curves.png", "eval_rouge_sum",
                                        True, "tiny_sample")
    image = image_is_a_real_plot(path)
    assert image.shape[:2] == (450, 1200)
    assert not list(tmp_path.glob(".*.tmp"))


def test_learning_curves_best_marker_and_empty_panels():
    figure = curves.learning_curves(LOG_HISTORY, "eval_rouge_sum", True, "t")
    loss_axes, rouge_axes = figure.axes
    assert {line.get_label() for line in loss_axes.lines} == {
        "train loss", "eval loss", "best epoch (3)"}
    best = [line for line in rouge_axes.lines if line.get_label().startswith("best")]
    assert best[0].get_label() == "best rouge_sum 78.75 (epoch 3)"
    assert list(best[0].get_xdata()) == [3.0] and list(best[0].get_ydata()) == [78.75]
    # A run that logged nothing yet still gets a figure that says so.
    empty = curves.learning_curves([], "eval_rouge_sum", True, "t")
    assert [t.get_text() for ax in empty.axes for t in ax.texts] == [
        "no loss logged", "no ROUGE logged"]


def test_summary_names_the_best_epoch_metrics_and_predict_command(tmp_path):
    text = summary_markdown(facts(tmp_path))
    assert "| best epoch | 3 of 4 trained (`checkpoint-30`) |" in text
    for row in ("| ROUGE-1 | 35.50 |", "| ROUGE-2 | 12.25 |", "| ROUGE-L | 31.00 |",
                "| rouge_sum | 78.75 |", "| eval loss | 5.5000 |",
                f"| final model | `{tmp_path / 'final_model'}` |", "| training time | 2 min 05 s |",
                "| throughput | 51.2 samples/s |"):
        assert row in text, row
    assert f"\npython -m summarizer.predict run={tmp_path}\n" in text


@pytest.mark.parametrize("seconds,text", [(4.24, "4.2 s"), (65, "1 min 05 s"),
                                          (3725, "1 h 02 min")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def front_matter(card: str) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", card, re.DOTALL)
    assert match, card[:200]
    return yaml.safe_load(match.group(1))


def test_model_card_is_a_hub_card_with_the_metrics(tmp_path):
    card = model_card_markdown(facts(tmp_path))
    meta = front_matter(card)
    assert meta["library_name"] == "transformers" and meta["language"] == ["ko"]
    assert meta["pipeline_tag"] == "summarization" and "summarization" in meta["tags"]
    assert "base_model" not in meta
    result = meta["model-index"][0]["results"][0]
    assert result["dataset"]["split"] == "dev"
    assert {m["type"]: m["value"] for m in result["metrics"]} == {
        "rouge1": 35.5, "rouge2": 12.25, "rougeL": 31.0, "rouge_sum": 78.75, "loss": 5.5}
    assert "trained from scratch" in card
    assert "1200 training rows, 60 dev rows" in card
    assert "| rouge_sum | 78.75 |" in card and "| learning rate | 0.001 |" in card
    assert "```bash\npython -m summarizer.train logger=csv\n```" in card
    assert "AutoModelForSeq2SeqLM.from_pretrained" in card and "AutoTokenizer" in card
    assert 'pipeline("summarization")' in card


def test_model_card_names_the_language_of_the_summaries(tmp_path):
    english = model_card_markdown(facts(tmp_path, language="en"))
    meta = front_matter(english)
    assert meta["language"] == ["en"] and "english" in meta["tags"]
    assert "\nA dialogue summarization model for English: `MBart" in english
    unknown = model_card_markdown(facts(tmp_path, language=None))
    assert "language" not in front_matter(unknown)
    assert "\nA dialogue summarization model: `MBart" in unknown


@pytest.mark.parametrize(("summaries", "language"), [
    (["#Person1#은 #Person2#에게 Tom의 생일 파티에 대해 묻는다."], "ko"),
    (["#Person1# asks #Person2# about Tom's birthday party."], "en"),
    (["#Person1#は#Person2#に駅の場所を尋ねる。"], None),
    ([], None),
])
def test_summary_language(summaries, language):
    assert summary_language(summaries) == language


def test_model_card_says_how_its_rouge_was_tokenized(tmp_path):
    assert set(ROUGE_TOKENIZATION) == set(TOKENIZER_MODES)
    assert "whitespace tokens, Hangul kept" in model_card_markdown(facts(tmp_path))
    english = model_card_markdown(facts(tmp_path, rouge_tokenizer="english_stem"))
    assert "default tokenizer with Porter stemming" in english and "Hangul" not in english


def test_model_card_names_a_hub_base_model_but_not_a_local_path(tmp_path):
    hub = front_matter(model_card_markdown(facts(tmp_path, base_model="gogamza/kobart-base-v2")))
    assert hub["base_model"] == "gogamza/kobart-base-v2"
    local = model_card_markdown(facts(tmp_path, base_model=str(tmp_path)))
    assert "base_model" not in front_matter(local) and f"fine-tuned from `{tmp_path}`" in local


def test_training_command_masks_secrets():
    argv = ["/x/summarizer/train.py", "logger=wandb", "+logger.api_key=abc123", "a b=c"]
    assert training_command(argv[1:]) == (
        "python -m summarizer.train logger=wandb '+logger.api_key=***' 'a b=c'")


def fake_trainer(run_dir: Path):
    """What the reports read from a trainer, around a real (tiny) model and real arguments."""
    model = MBartForConditionalGeneration(MBartConfig(
        vocab_size=64, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32))
    args = Seq2SeqTrainingArguments(output_dir=str(run_dir), run_name="tiny_sample",
                                    num_train_epochs=4, metric_for_best_model="eval_rouge_sum",
                                    eval_strategy="epoch", save_strategy="epoch",
                                    load_best_model_at_end=True, report_to=[])
    return SimpleNamespace(args=args, model=model, state=SimpleNamespace(log_history=LOG_HISTORY),
                           train_dataset=[0] * 1200, eval_dataset=[0] * 60)


def sample_data(tmp_path: Path) -> SummarizationData:
    return SummarizationData(name="sample", dir=str(tmp_path / "data"), train_file="train.csv",
                             dev_file="dev.csv", test_file="test.csv", id_column="fname",
                             text_column="dialogue", summary_column="summary",
                             max_source_length=256, max_target_length=64)


def record_overrides(run_dir: Path, overrides: list[str]) -> None:
    """The `.hydra/overrides.yaml` Hydra (or `summarizer.train()`) writes into a run."""
    (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))


def test_run_facts_from_a_trainer(tmp_path):
    record_overrides(tmp_path, ["seed=3"])
    gathered = run_facts(fake_trainer(tmp_path), FINAL, sample_data(tmp_path), tmp_path)
    assert gathered.base_model is None  # built from a config
    assert gathered.metric == "eval_rouge_sum" and gathered.greater_is_better
    assert gathered.best is BEST
    assert (gathered.train_rows, gathered.dev_rows) == (1200, 60)
    assert gathered.hyperparameters["precision"] == "fp32"
    assert gathered.hyperparameters["scheduler"] == "linear"
    assert gathered.rouge_tokenizer == "whitespace"
    assert gathered.command == "python -m summarizer.train seed=3"


def test_the_reports_repeat_the_runs_own_overrides_not_the_process_command(tmp_path,
                                                                             monkeypatch):
    # A sweep trial: its own overrides, with the sweep's settings, under a sweep's command line.
    monkeypatch.setattr("sys.argv", ["train.py", "--multirun", "hparams_search=optuna"])
    trial = tmp_path / "sweep" / "1"
    record_overrides(trial, ["training.learning_rate=0.003", "training.batch_size=16",
                             "debug=fast", "hparams_search=optuna", "launcher=joblib",
                             "hydra/sweeper/sampler=grid", "+hub_token=hf-secret"])
    expected = ("python -m summarizer.train training.learning_rate=0.003 training.batch_size=16 "
                "debug=fast '+hub_token=***'")
    assert rerun_command(trial) == expected
    run_reports.write_run_reports(fake_trainer(trial), FINAL, sample_data(tmp_path), trial)
    summary = (trial / "summary.md").read_text(encoding="utf-8")
    card = (trial / "final_model" / "README.md").read_text(encoding="utf-8")
    assert f"\n`{expected}`\n" in summary and f"```bash\n{expected}\n```" in card
    for text in (summary, card):
        assert "hparams_search" not in text and "--multirun" not in text
    # No record: the reports say so rather than name another command.
    assert rerun_command(tmp_path / "elsewhere") is None
    unrecorded = dataclasses.replace(facts(tmp_path), command=None)
    for text in (summary_markdown(unrecorded), model_card_markdown(unrecorded)):
        assert "(not recorded: the run has no `.hydra/overrides.yaml`" in text


def test_all_reports_are_written(tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        run_reports.write_run_reports(fake_trainer(tmp_path), FINAL, sample_data(tmp_path),
                                      tmp_path)
    image_is_a_real_plot(tmp_path / "learning_curves.png")
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "| rouge_sum | 78.75 |" in summary
    assert summary in caplog.text  # printed at the end of the run, too
    assert front_matter((tmp_path / "final_model" / "README.md").read_text(encoding="utf-8"))


def test_a_failing_plot_costs_only_the_plot(tmp_path, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(curves, "write_learning_curves", broken)
    with caplog.at_level(logging.WARNING):
        run_reports.write_run_reports(fake_trainer(tmp_path), FINAL, sample_data(tmp_path),
                                      tmp_path)
    assert "Could not write the learning curves" in caplog.text and "no fonts" in caplog.text
    assert not (tmp_path / "learning_curves.png").exists()
    assert (tmp_path / "summary.md").is_file()
    assert (tmp_path / "final_model" / "README.md").is_file()


def test_config_tree_masks_secrets_and_keeps_long_values(tmp_path, monkeypatch, capsys):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    monkeypatch.setenv("WANDB_API_KEY", "wandb-0123456789")
    long_dir = "/very/long/" + "directory/" * 20 + "data"
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF)):
        cfg = compose("train", overrides=["+hub_token=hf-literal-secret",
                                          "+logger.login=${oc.env:WANDB_API_KEY}",
                                          f"data.dir={long_dir}", "logger.tags=[smoke]"])
    path = write_config_tree(cfg, tmp_path)
    text = path.read_text(encoding="utf-8")
    printed = capsys.readouterr().out
    for shown in (text, printed):
        assert "hf-literal-secret" not in shown and "wandb-0123456789" not in shown
    assert "hub_token: ***" in text and "login: ***" in text
    assert f"dir: {long_dir}" in text
    assert "tags: [smoke]" in text and "learning_rate: 0.001" in text
    assert text.splitlines()[0] == "config" and "├── model" in text
