"""Speed features: a light start-up, length-grouped and length-sorted batches, the dataset cache."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import ROOT, compose_train

HEAVY_MODULES = ("torch", "transformers")


def imported_modules(*args: str) -> set[str]:
    """Top-level names of every module `python -X importtime <args>` imported."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    assert lines, proc.stderr[-3000:]
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines[1:]}


@pytest.mark.parametrize("flag", ["--help", "--cfg job"])
def test_train_command_starts_without_torch_or_transformers(flag):
    modules = imported_modules("-m", "summarizer.train", *flag.split())
    assert "summarizer" in modules and "hydra" in modules
    assert not modules & set(HEAVY_MODULES), modules & set(HEAVY_MODULES)


def test_package_api_imports_without_torch_or_transformers():
    script = ("import sys; from summarizer import load_config, train, predict, score, "
              "write_submission; import summarizer.train, summarizer.predict, summarizer.score; "
              "import summarizer as s; assert s.train is train and callable(s.predict); "
              f"print(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "[]"


def build_args(overrides: list[str], tmp_path):
    from hydra.utils import execution_whitelist, instantiate

    from summarizer.config import EXECUTION_WHITELIST, register_resolvers

    register_resolvers()
    cfg = compose_train(overrides)
    with execution_whitelist(EXECUTION_WHITELIST):
        return instantiate(cfg.training.args, output_dir=str(tmp_path), report_to=[],
                           _convert_="all")


def test_training_batches_are_length_grouped_by_default(tmp_path):
    assert build_args([], tmp_path).train_sampling_strategy == "group_by_length"
    assert build_args(["model=kobart"], tmp_path).train_sampling_strategy == "group_by_length"
    off = build_args(["training.group_by_length=false"], tmp_path)
    assert off.train_sampling_strategy == "random"


def test_group_by_length_rejects_non_booleans(tmp_path):
    from omegaconf.errors import InterpolationResolutionError

    with pytest.raises(InterpolationResolutionError, match="training.group_by_length"):
        build_args(["training.group_by_length=sometimes"], tmp_path)


@pytest.fixture(scope="module")
def tiny_parts():
    """A small tokenizer and model, and a dataset whose rows have very different lengths."""
    from transformers import MBartConfig

    from summarizer.data.features import build_dataset
    from summarizer.modeling import from_config
    from summarizer.tokenization import train_tokenizer

    words = ["가방", "나무", "다리", "마음", "바다", "사람", "아침", "저녁"]
    dialogues = [" ".join(words[i % 8] for i in range(3 + 5 * (k % 7))) for k in range(40)]
    summaries = [f"{words[k % 8]} {words[(k + 3) % 8]}" for k in range(40)]
    tokenizer = train_tokenizer(dialogues + summaries, [], vocab_size=100, min_frequency=1)
    config = MBartConfig(d_model=16, encoder_layers=1, decoder_layers=1,
                         encoder_attention_heads=2, decoder_attention_heads=2,
                         encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64)
    model = from_config(config, tokenizer)
    frame = pd.DataFrame({"dialogue": dialogues, "summary": summaries})
    dataset = build_dataset(frame, tokenizer, "dialogue", "summary", 48, 8)
    return tokenizer, model, frame, dataset


def make_trainer(tiny_parts, tmp_path, eval_dataset, metrics=None, **args):
    from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainingArguments

    from summarizer.trainer import SummarizationTrainer

    tokenizer, model, _, dataset = tiny_parts
    return SummarizationTrainer(
        model=model, processing_class=tokenizer, train_dataset=dataset,
        eval_dataset=eval_dataset, compute_metrics=metrics,
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
        args=Seq2SeqTrainingArguments(output_dir=str(tmp_path), report_to=[],
                                      per_device_train_batch_size=4,
                                      per_device_eval_batch_size=4, use_cpu=True, **args),
    )


def test_length_grouped_training_keeps_evaluation_in_stored_order(tiny_parts, tmp_path):
    from transformers.trainer_pt_utils import LengthGroupedSampler

    _, _, _, dataset = tiny_parts
    trainer = make_trainer(tiny_parts, tmp_path, dataset,
                           train_sampling_strategy="group_by_length")
    assert isinstance(trainer._get_train_sampler(), LengthGroupedSampler)
    seen = [row for batch in trainer.get_eval_dataloader() for row in batch["input_ids"].tolist()]
    pad = tiny_parts[0].pad_token_id
    assert [[t for t in row if t != pad] for row in seen] == dataset["input_ids"]
