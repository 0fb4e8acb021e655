"""Speed features: a light start-up, length-grouped and length-sorted batches, the dataset cache,
the GPU settings, and the benchmark against a plain Seq2SeqTrainer script."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, SHARED_RUN_ARGS, compose_train, read_json, run_train

HEAVY_MODULES = ("torch", "transformers")


def imported_modules(*args: str) -> set[str]:
    """Top-level names of every module `python -X importtime <args>` imported."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    assert lines, proc.stderr[-3000:]
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines[1:]}


@pytest.mark.parametrize("flag", ["--help", "--cfg job",
                                  "hparams_search=optuna launcher=joblib --cfg job",
                                  "hparams_search=optuna launcher=submitit_slurm --cfg job"])
def test_train_command_starts_without_torch_or_transformers(flag):
    modules = imported_modules("-m", "summarizer.train", *flag.split())
    assert "summarizer" in modules and "hydra" in modules
    assert not modules & set(HEAVY_MODULES), modules & set(HEAVY_MODULES)


def test_package_api_imports_without_torch_or_transformers():
    script = ("import sys; from summarizer import load_config, train, predict, score, "
              "write_submission, average, tune; import summarizer.commands.train, "
              "summarizer.commands.predict, summarizer.commands.score, "
              "summarizer.commands.average, summarizer.commands.tune; "
              "import summarizer as s; assert s.train is train and callable(s.predict); "
              f"print(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "[]"


def test_training_modules_leave_plotting_and_rouge_imports_for_later():
    # matplotlib (curves at the end of a run) and rouge-score's nltk (first evaluation) would add
    # about 0.4 s before every run's first step.
    script = ("import sys, summarizer.pipeline, summarizer.trainer, summarizer.metrics; "
              "print(sorted(m for m in ('matplotlib', 'nltk', 'rouge_score') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"  # after transformers' notes


def build_args(overrides: list[str], tmp_path):
    from hydra.utils import execution_whitelist, instantiate

    from summarizer.resolvers import register_resolvers
    from summarizer.whitelist import EXECUTION_WHITELIST

    register_resolvers()
    cfg = compose_train(overrides)
    with execution_whitelist(EXECUTION_WHITELIST):
        return instantiate(cfg.training.args, output_dir=str(tmp_path), report_to=[],
                           _convert_="all")


def test_training_batches_are_length_grouped_by_default(tmp_path):
    assert build_args(["model=kobart"], tmp_path).train_sampling_strategy == "group_by_length"
    off = build_args(["model=kobart", "training.group_by_length=false"], tmp_path)
    assert off.train_sampling_strategy == "random"
    # The tiny preset switches it off (docs/training.md, "Speed"); the command line still wins.
    assert build_args([], tmp_path).train_sampling_strategy == "random"
    on = build_args(["training.group_by_length=true"], tmp_path)
    assert on.train_sampling_strategy == "group_by_length"


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


def test_length_grouped_batches_are_those_transformers_would_draw(tiny_parts, tmp_path):
    import torch
    from transformers import Seq2SeqTrainer

    _, _, _, dataset = tiny_parts
    shuffled = dataset.shuffle(seed=3)  # an indices mapping: lengths must follow it
    trainer = make_trainer(tiny_parts, tmp_path, dataset,
                           train_sampling_strategy="group_by_length",
                           gradient_accumulation_steps=2)
    torch.manual_seed(11)
    ours = list(trainer._get_train_sampler(shuffled))
    torch.manual_seed(11)
    theirs = list(Seq2SeqTrainer._get_train_sampler(trainer, shuffled))
    assert ours == theirs and sorted(ours) == list(range(len(dataset)))
    assert trainer._get_train_sampler(shuffled).lengths == [len(r) for r in shuffled["input_ids"]]


@pytest.mark.parametrize("batches_per_group", [1, 2, 5])
def test_length_group_batches_sets_how_many_batches_are_sorted_together(batches_per_group):
    import torch

    from summarizer.sampling import GroupedLengthSampler

    lengths = [(7 * k) % 23 + 1 for k in range(40)]
    sampler = GroupedLengthSampler(4, lengths, batches_per_group)
    torch.manual_seed(5)
    order = list(sampler)
    assert sorted(order) == list(range(40))
    group = 4 * batches_per_group
    groups = [order[start:start + group] for start in range(0, 40, group)]
    # Each group sorted longest first, except the longest row of all, swapped to the front.
    for found in groups[1:]:
        assert [lengths[i] for i in found] == sorted((lengths[i] for i in found), reverse=True)
    assert lengths[order[0]] == max(lengths)
    torch.manual_seed(5)
    assert list(sampler) == order  # seeded by torch's generator, as transformers' is


def test_the_trainer_draws_batches_with_the_configured_group(tiny_parts, tmp_path):
    from summarizer.sampling import GroupedLengthSampler

    _, _, _, dataset = tiny_parts
    trainer = make_trainer(tiny_parts, tmp_path, dataset,
                           train_sampling_strategy="group_by_length")
    trainer.length_group_batches = 3
    sampler = trainer._get_train_sampler()
    assert isinstance(sampler, GroupedLengthSampler) and sampler.batches_per_group == 3
    cfg = compose_train(["training.length_group_batches=3"])
    assert cfg.training.trainer.length_group_batches == 3


def test_sort_by_length_and_restore_order_round_trip(tiny_parts):
    from summarizer.data.features import restore_order, sort_by_length

    _, _, _, dataset = tiny_parts
    ordered, order = sort_by_length(dataset)
    lengths = [len(ids) for ids in ordered["input_ids"]]
    assert lengths == sorted(lengths, reverse=True) and lengths[0] > lengths[-1]
    assert sorted(order) == list(range(len(dataset)))
    assert ordered["labels"] == [dataset["labels"][i] for i in order]
    assert restore_order(ordered["input_ids"], order) == dataset["input_ids"]
    with pytest.raises(ValueError):
        restore_order([1, 2], [0])


def test_rouge_metrics_put_sorted_predictions_back_in_row_order(tiny_parts):
    from transformers import EvalPrediction

    from summarizer.data.features import sort_by_length
    from summarizer.metrics import RougeMetrics

    tokenizer, _, frame, dataset = tiny_parts
    _, order = sort_by_length(dataset)
    references = frame["summary"].tolist()
    # A perfect model's output, delivered in the sorted order the evaluation runs in.
    ids = tokenizer([references[i] for i in order], padding=True)["input_ids"]
    metrics = RougeMetrics(tokenizer, references, order)
    scores = metrics(EvalPrediction(predictions=np.array(ids), label_ids=None))
    assert metrics.last_predictions == references
    assert scores["rouge1"] == pytest.approx(100)
    unsorted = RougeMetrics(tokenizer, references)(EvalPrediction(np.array(ids), None))
    assert unsorted["rouge1"] < 90  # the same ids without the order are misaligned


def test_sorted_evaluation_of_the_trained_model_equals_the_stored_order(trained_run, data_dir,
                                                                        tmp_path):
    """Final evaluation over length-sorted dev rows: every prediction is the one of its own row,
    and ROUGE is that of generating over the rows in file order."""
    from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainingArguments

    from summarizer.data.features import build_dataset, sort_by_length
    from summarizer.inference import load_model, summarize
    from summarizer.metrics import RougeMetrics
    from summarizer.trainer import SummarizationTrainer

    cfg = compose_train(SHARED_RUN_ARGS)
    model, tokenizer = load_model(trained_run)
    dev = pd.read_csv(data_dir / "sample" / "dev.csv", keep_default_na=False).iloc[:60]
    source, target = cfg.data.max_source_length, cfg.data.max_target_length
    written = pd.read_csv(trained_run / "dev_predictions.csv", keep_default_na=False)
    # Inference sorts by length on its own and restores the order of the dialogues it is given.
    assert written["prediction"].tolist() == summarize(model, tokenizer, dev["dialogue"].tolist(),
                                                       source, cfg.training.eval_batch_size)

    stored = build_dataset(dev, tokenizer, "dialogue", "summary", source, target)
    results = {}
    for name, (dataset, order) in {"stored": (stored, None),
                                   "sorted": sort_by_length(stored)}.items():
        metrics = RougeMetrics(tokenizer, dev["summary"].tolist(), order)
        trainer = SummarizationTrainer(
            model=model, processing_class=tokenizer, compute_metrics=metrics,
            data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
            args=Seq2SeqTrainingArguments(
                output_dir=str(tmp_path / name), report_to=[], use_cpu=True,
                per_device_eval_batch_size=cfg.training.eval_batch_size,
                predict_with_generate=True, generation_num_beams=1,
                generation_max_length=cfg.training.generation.max_length))
        results[name] = trainer.predict(dataset, metric_key_prefix="eval").metrics
        results[name]["predictions"] = metrics.last_predictions
    assert results["sorted"]["predictions"] == written["prediction"].tolist()
    assert results["sorted"]["eval_rouge_sum"] == pytest.approx(
        read_json(trained_run / "metrics.json")["eval_rouge_sum"], abs=1e-9)
    same = np.mean([a == b for a, b in zip(results["stored"]["predictions"],
                                           results["sorted"]["predictions"], strict=True)])
    assert same >= 0.9, same
    for key in ("eval_rouge1", "eval_rouge2", "eval_rougeL", "eval_rouge_sum"):
        assert results["sorted"][key] == pytest.approx(results["stored"][key], abs=0.1)


def test_cached_dataset_builds_once_and_repeats_its_log_lines(tiny_parts, tmp_path, caplog):
    from summarizer.data.cache import cached_dataset
    from summarizer.data.features import build_dataset

    tokenizer, _, frame, dataset = tiny_parts
    calls = []

    def build(notes, path):
        calls.append(1)
        return build_dataset(frame, tokenizer, "dialogue", "summary", 12, 8, split="dev",
                             notes=notes, path=path)

    with caplog.at_level(logging.INFO, logger="summarizer"):
        first = cached_dataset(str(tmp_path), "k1", build)
        built_lines = [r.getMessage() for r in caplog.records if "truncated" in r.getMessage()]
        caplog.clear()
        second = cached_dataset(str(tmp_path), "k1", build)
        reused_lines = [r.getMessage() for r in caplog.records if "truncated" in r.getMessage()]
    assert len(calls) == 1
    assert second["input_ids"] == first["input_ids"] and second["labels"] == first["labels"]
    assert built_lines and reused_lines == built_lines
    assert built_lines[0].startswith("dev: ")
    assert [p.name for p in (tmp_path / "datasets").iterdir()] == ["k1"]  # no temporary left
    cached_dataset(None, "k1", build)
    assert len(calls) == 2


def test_chunked_tokenization_gives_the_ids_and_counts_of_one_pass(tiny_parts, tmp_path,
                                                                   monkeypatch):
    """Splits are tokenized and written a chunk of rows at a time (bounded memory); the ids,
    column types and truncation counts are those of tokenizing all rows in one call."""
    from datasets import Dataset

    from summarizer.data import features
    from summarizer.data.cache import texts_fingerprint
    from summarizer.data.features import build_dataset, encode_texts

    tokenizer, _, frame, _ = tiny_parts
    key = texts_fingerprint(frame, ["dialogue", "summary"])
    notes = []
    sources = encode_texts(tokenizer, frame["dialogue"].tolist(), 12, bos=True, what="dialogues",
                           split="train", notes=notes)
    labels = encode_texts(tokenizer, frame["summary"].tolist(), 2, bos=False, what="summaries",
                          split="train", notes=notes)
    one_pass = Dataset.from_dict({"input_ids": sources,
                                  "attention_mask": [[1] * len(s) for s in sources],
                                  "labels": labels})
    assert len(notes) == 2  # both kinds of truncation happen in this data

    monkeypatch.setattr(features, "CHUNK_ROWS", 7)  # 40 rows: 6 chunks, the last one short
    in_memory_notes, on_disk_notes = [], []
    in_memory = build_dataset(frame, tokenizer, "dialogue", "summary", 12, 2, split="train",
                              notes=in_memory_notes)
    on_disk = build_dataset(frame, tokenizer, "dialogue", "summary", 12, 2, split="train",
                            notes=on_disk_notes, path=tmp_path / "data.arrow")
    for dataset in (in_memory, on_disk):
        assert dataset.to_dict() == one_pass.to_dict()
        assert dataset.features == one_pass.features
    assert in_memory_notes == on_disk_notes == notes
    assert [f["filename"] for f in on_disk.cache_files] == [str(tmp_path / "data.arrow")]
    # The cache key is hashed chunk by chunk too, and does not depend on the chunk size.
    assert texts_fingerprint(frame, ["dialogue", "summary"]) == key


def test_the_tokenizer_trained_from_data_is_the_one_of_all_texts_at_once(data_dir,
                                                                          monkeypatch):
    """`build_tokenizer` streams the texts to the trainer a chunk of rows at a time; the
    tokenizer is the one a list of every dialogue and summary gives."""
    from hydra.utils import execution_whitelist, instantiate

    from summarizer.data import features
    from summarizer.modeling import build_tokenizer
    from summarizer.tokenization import train_tokenizer
    from summarizer.whitelist import EXECUTION_WHITELIST

    monkeypatch.setattr(features, "CHUNK_ROWS", 64)
    cfg = compose_train(["data.max_train_samples=300"])
    with execution_whitelist(EXECUTION_WHITELIST):
        data = instantiate(cfg.data)
        train = data.load("train")
        built = build_tokenizer(cfg.model, data, train)
    texts = train["dialogue"].tolist() + train["summary"].tolist()
    direct = train_tokenizer(texts, list(data.special_tokens), cfg.model.tokenizer.vocab_size,
                             cfg.model.tokenizer.min_frequency)
    assert built.backend_tokenizer.to_str() == direct.backend_tokenizer.to_str()


def test_tokenizer_fingerprint_survives_saving_and_tells_tokenizers_apart(tiny_parts, tmp_path):
    from transformers import AutoTokenizer

    from summarizer.data.cache import tokenizer_fingerprint
    from summarizer.tokenization import train_tokenizer

    tokenizer, _, frame, _ = tiny_parts
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert tokenizer_fingerprint(reloaded) == tokenizer_fingerprint(tokenizer)
    # A call with truncation leaves its settings in the backend; they are no part of the key.
    reloaded(frame["dialogue"].tolist(), truncation=True, max_length=5)
    assert tokenizer_fingerprint(reloaded) == tokenizer_fingerprint(tokenizer)
    other = train_tokenizer(frame["summary"].tolist(), [], vocab_size=100, min_frequency=1)
    assert tokenizer_fingerprint(other) != tokenizer_fingerprint(tokenizer)


def test_a_tokenizer_trained_from_data_is_reused_with_identical_files(data_dir, tmp_path):
    from hydra.utils import execution_whitelist, instantiate

    from summarizer.data.splits import build_split
    from summarizer.modeling import build_tokenizer
    from summarizer.whitelist import EXECUTION_WHITELIST

    cfg = compose_train(["data.max_train_samples=200", "data.max_dev_samples=20"])
    with execution_whitelist(EXECUTION_WHITELIST):
        data = instantiate(cfg.data)
        train, dev = data.load("train"), data.load("dev")
        fresh = build_tokenizer(cfg.model, data, train)
        cache = str(tmp_path / "cache")
        first = build_tokenizer(cfg.model, data, train, cache)
        reused = build_tokenizer(cfg.model, data, train, cache)
        changed = build_tokenizer(cfg.model, data, train.iloc[:150], cache)
    assert len(list((tmp_path / "cache" / "tokenizers").iterdir())) == 2
    assert reused.encode(dev["dialogue"][0]) == fresh.encode(dev["dialogue"][0])
    assert changed.get_vocab() != reused.get_vocab()
    for name, tok in (("fresh", fresh), ("reused", reused)):
        tok.save_pretrained(tmp_path / name)
    for file in ("tokenizer.json", "tokenizer_config.json"):
        assert (tmp_path / "fresh" / file).read_bytes() == (tmp_path / "reused" / file).read_bytes()

    # Splits: one entry per split, texts, tokenizer and lengths; the same inputs either way.
    fresh_dev = build_split(dev, "dev", data, fresh)
    assert build_split(dev, "dev", data, reused, cache)["input_ids"] == fresh_dev["input_ids"]
    assert build_split(dev, "dev", data, first, cache)["labels"] == fresh_dev["labels"]
    build_split(dev.iloc[:10], "dev", data, reused, cache)
    build_split(dev, "dev", data, changed, cache)
    data.max_source_length = 32
    short = build_split(dev, "dev", data, reused, cache)
    assert max(map(len, short["input_ids"])) == 32
    assert len(list((tmp_path / "cache" / "datasets").iterdir())) == 4


def test_a_second_run_reuses_the_cache_and_gets_the_same_results(data_dir, tmp_path):
    cache = tmp_path / "cache"
    runs = []
    for name in ("first", "second"):
        run_dir = tmp_path / name
        run_dir.mkdir()
        proc = run_train(["debug=fast", f"paths.cache_dir={cache}"], run_dir)
        runs.append((read_json(run_dir / "metrics.json"), proc.stdout + proc.stderr))
    assert "Reused" not in runs[0][1]
    assert "Reused the tokenizer trained from the same data" in runs[1][1]
    assert runs[1][1].count("Reused the tokenized split") == 2
    for key in ("eval_loss", "eval_rouge_sum", "train_loss"):
        assert runs[1][0][key] == runs[0][0][key], key


@pytest.mark.parametrize("cuda,tf32,expected", [
    (False, False, {"pad": None, "tf32": None, "bf16": False, "fp16": False}),
    (True, False, {"pad": 8, "tf32": None, "bf16": False, "fp16": True}),  # e.g. a T4
    (True, True, {"pad": 8, "tf32": True, "bf16": True, "fp16": False}),  # Ampere and newer
])
def test_gpu_settings_follow_the_machine(monkeypatch, cuda, tf32, expected):
    import torch

    from summarizer import hardware

    monkeypatch.setattr(hardware, "has_cuda", lambda: cuda)
    monkeypatch.setattr(hardware, "supports_tf32", lambda: tf32)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: tf32)
    cfg = compose_train([])
    training = cfg.training
    got = {"pad": training.collator.pad_to_multiple_of, "tf32": training.args.tf32,
           "bf16": training.args.bf16, "fp16": training.args.fp16}
    assert got == expected
    assert training.args.torch_compile is False
    forced = compose_train(["training.pad_to_multiple_of=16", "training.tf32=false",
                            "training.torch_compile=true"]).training
    assert forced.collator.pad_to_multiple_of == 16 and forced.args.tf32 is False
    assert forced.args.torch_compile is True
    collator = compose_train(["training.pad_to_multiple_of=null"]).training.collator
    assert collator.pad_to_multiple_of is None


@pytest.mark.parametrize("override", ["training.pad_to_multiple_of=0",
                                      "training.pad_to_multiple_of=eight", "training.tf32=yes"])
def test_gpu_settings_reject_invalid_values(override):
    from omegaconf import OmegaConf
    from omegaconf.errors import InterpolationResolutionError

    key = override.split("=")[0]
    with pytest.raises(InterpolationResolutionError, match=key):
        OmegaConf.to_container(compose_train([override]).training, resolve=True)


def test_cpu_training_arguments_use_the_fused_adamw_and_no_gpu_settings(tmp_path):
    args = build_args([], tmp_path)
    # transformers' default with torch >= 2.8, on CPU and CUDA alike.
    assert args.optim == "adamw_torch_fused"
    assert args.tf32 is None and args.torch_compile is False


@pytest.mark.slow
def test_the_benchmark_reports_both_sides(tmp_path):
    report = tmp_path / "report.md"
    proc = subprocess.run(
        [sys.executable, "benchmarks/train_speed.py", "--steps", "2", "--train-rows", "64",
         "--dev-rows", "8", "--batch-size", "8", "--report", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = report.read_text(encoding="utf-8")
    assert text.startswith("Command: `python benchmarks/train_speed.py --steps 2")
    for row in ("training samples/s", "training tokens/s", "evaluation wall time",
                "prediction wall time", "peak RSS", "ROUGE sum, evaluation (same model)",
                "on, filled (a sweep's second trial)", "Load average"):
        assert row in text, row
    assert "same predictions in both orders: yes" in text
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    for side in ("project", "plain"):
        assert stats[side]["train_samples_per_s"] > 0 and stats[side]["peak_rss_mib"] > 100
    assert stats["project"]["eval_rouge_sum"] == pytest.approx(stats["plain"]["eval_rouge_sum"],
                                                               abs=0.1)
    for cache in ("off", "cold", "warm"):
        first_step = stats["first_steps"][cache]
        assert 0 < first_step["first_step_s"] < first_step["process_wall_s"]
        assert first_step["train_rows"] == 64


@pytest.mark.slow
def test_the_benchmark_times_first_steps_alone_on_repeated_rows(data_dir, tmp_path):
    import shutil

    folder = shutil.copytree(data_dir / "sample", tmp_path / "data")
    rows = len(pd.read_csv(folder / "train.csv"))
    proc = subprocess.run(
        [sys.executable, "benchmarks/train_speed.py", "--data-dir", str(folder), "--dev-rows",
         "8", "--train-repeat", "2", "--first-step-only"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "(2 copies of all train rows, 8 dev rows)" in proc.stdout
    assert "training samples/s" not in proc.stdout
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(stats) == {"first_steps"}
    assert {s["train_rows"] for s in stats["first_steps"].values()} == {2 * rows}
    assert len(pd.read_csv(data_dir / "sample" / "train.csv")) == rows  # the original untouched


def test_the_benchmark_repeats_rows_only_of_a_data_folder():
    proc = subprocess.run([sys.executable, "benchmarks/train_speed.py", "--train-repeat", "2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--train-repeat needs --data-dir" in proc.stderr
