"""`summarizer.build_trainer`: the project's trainer around a caller's own model, tokenizer and
rows, as a notebook brings them."""

from __future__ import annotations

import pandas as pd
import pytest
from datasets import Dataset
from transformers import BartConfig, BartForConditionalGeneration

from summarizer import build_trainer, load_config
from summarizer.errors import SummarizerError
from summarizer.tokenization import train_tokenizer

ROUGE_KEYS = ("eval_rouge1", "eval_rouge2", "eval_rougeL", "eval_rouge_sum")


@pytest.fixture(scope="module")
def sample_rows(data_dir) -> tuple[pd.DataFrame, pd.DataFrame]:
    return tuple(pd.read_csv(data_dir / "sample" / f"{split}.csv", keep_default_na=False)
                 for split in ("train", "dev"))


@pytest.fixture(scope="module")
def own_tokenizer(sample_rows):
    train, _ = sample_rows
    cfg = load_config(overrides=["debug=fast"])
    texts = train["dialogue"].tolist() + train["summary"].tolist()
    return train_tokenizer(texts, list(cfg.data.special_tokens), vocab_size=600)


def own_model(tokenizer, vocab_size: int | None = None) -> BartForConditionalGeneration:
    """A small BART a user builds in a notebook, sized for the tokenizer's vocabulary."""
    config = BartConfig(
        vocab_size=vocab_size or len(tokenizer), d_model=32, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64,
        decoder_ffn_dim=64, max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id, forced_eos_token_id=None)
    return BartForConditionalGeneration(config)


@pytest.mark.slow
def test_a_callers_model_trains_in_the_projects_trainer(sample_rows, own_tokenizer, tmp_path):
    _, dev = sample_rows
    model = own_model(own_tokenizer)
    cfg = load_config(overrides=["debug=fast"])  # 64 training rows, 2 epochs, greedy decoding
    eval_rows = Dataset.from_pandas(dev.head(12))  # a `datasets.Dataset` of texts works too
    trainer = build_trainer(cfg, model=model, tokenizer=own_tokenizer, eval_dataset=eval_rows,
                            output_dir=tmp_path / "run")
    assert trainer.model is model and trainer.processing_class is own_tokenizer
    assert (len(trainer.train_dataset), len(trainer.eval_dataset)) == (64, 12)
    assert model.generation_config.max_length == cfg.training.generation.max_length

    trainer.train()
    assert trainer.model is model  # the best checkpoint is loaded into the caller's object
    assert trainer.state.global_step == 16 and trainer.state.best_model_checkpoint
    metrics = trainer.evaluate()
    assert set(ROUGE_KEYS) <= set(metrics)
    assert metrics["eval_rouge_sum"] == pytest.approx(
        metrics["eval_rouge1"] + metrics["eval_rouge2"] + metrics["eval_rougeL"])
    # Predictions come back in the caller's row order, though evaluation sorts by length.
    assert len(trainer.compute_metrics.last_predictions) == 12
    assert trainer.compute_metrics.references == dev["summary"].head(12).tolist()


def test_objects_left_out_are_built_from_the_config(sample_rows, tmp_path):
    """Without objects of the caller's, the config's own are built, as a run builds them."""
    cfg = load_config(overrides=["debug=fast", "training.sort_eval_by_length=false"])
    trainer = build_trainer(cfg, output_dir=tmp_path / "run")
    assert type(trainer).__name__ == "SummarizationTrainer"
    assert type(trainer.model).__name__ == "MBartForConditionalGeneration"
    assert trainer.compute_metrics.order is None  # the option is read where the trainer is built
    assert (len(trainer.train_dataset), len(trainer.eval_dataset)) == (64, 16)
    assert trainer.args.output_dir == str(tmp_path / "run")


@pytest.mark.parametrize("rows,message", [
    (Dataset.from_dict({"input_ids": [[0, 5, 1]], "labels": [[5, 1]]}),
     "train_dataset is already tokenized \\(columns input_ids, labels\\)"),
    (pd.DataFrame({"fname": ["t1"], "dialogue": ["#Person1#: 안녕"]}),
     "train_dataset has no 'summary' column; its columns are: fname, dialogue"),
    ([{"dialogue": "#Person1#: 안녕", "summary": "인사"}],
     "train_dataset is a list; give a pandas"),
    (pd.DataFrame({"dialogue": ["#Person1#: 안녕", None], "summary": ["인사", "인사"]}),
     "train_dataset has 1 rows whose 'dialogue' is empty or not text \\(rows 2,"),
    (pd.DataFrame({"dialogue": [], "summary": []}), "train_dataset has no rows"),
])
def test_rows_that_cannot_be_used_are_refused(data_dir, tmp_path, rows, message):
    cfg = load_config(overrides=["debug=fast"])
    with pytest.raises(SummarizerError, match=message):
        build_trainer(cfg, train_dataset=rows, output_dir=tmp_path)


def test_a_model_or_tokenizer_that_cannot_be_used_is_refused(sample_rows, own_tokenizer,
                                                             tmp_path):
    cfg = load_config(overrides=["debug=fast"])
    with pytest.raises(SummarizerError, match="model is a str; give a transformers seq2seq"):
        build_trainer(cfg, model="facebook/bart-base", output_dir=tmp_path)
    with pytest.raises(SummarizerError, match="tokenizer is a dict; give a fast"):
        build_trainer(cfg, tokenizer={}, output_dir=tmp_path)
    small = own_model(own_tokenizer, vocab_size=100)
    with pytest.raises(SummarizerError, match=f"has {len(own_tokenizer)} tokens but the model "
                                              "only 100 embeddings"):
        build_trainer(cfg, model=small, tokenizer=own_tokenizer, output_dir=tmp_path)
