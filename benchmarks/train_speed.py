"""Training, evaluation and prediction speed: the project's runner against a plain
Seq2SeqTrainer script.

    python benchmarks/train_speed.py [--data-dir DIR] [--steps 60] [--train-rows N] [--dev-rows N]
        [--train-repeat K] [--num-beams K] [--first-step-only] [--report FILE]
        (or: make bench-speed ARGS="...")

Both sides get the same machine, the project's model config (default `model=tiny`), the same
tokenizer (trained from the training split), the same seed and initial weights, the same token
ids per row (`build_dataset`), batch sizes, learning-rate schedule, generation settings and
dataloader workers. They differ only in what the project adds:

* project: `summarizer.pipeline`'s datasets (disk cache) and trainer (`SummarizationTrainer`,
  `training.group_by_length`), each evaluation over length-sorted dev rows with the order
  restored (`training.sort_eval_by_length`), prediction by `summarizer.inference.summarize`;
* plain: what `run_summarization.py` does by default: `Seq2SeqTrainer` with random sampling,
  dynamic padding by `DataCollatorForSeq2Seq`, evaluation and prediction by generating over the
  dev rows in stored order (`trainer.evaluate`, `trainer.predict`).

Each side trains `--steps` steps in a fresh process (peak RSS is that process's). Evaluation and
prediction are then timed on the same trained model (the project side's, saved to disk), so their
ROUGE must agree. Without `--data-dir` the bundled sample is generated into a temporary folder;
`--data-dir` takes competition-layout CSVs (`train.csv`, `dev.csv`); `--train-repeat K` trains on
K copies of the training rows (a larger data set of the same lengths). A last part times how soon
a fresh `python` process reaches its first training step with the dataset cache off, empty, and
filled by an earlier run (a sweep's first and second trial): from launching the process to the
trainer's first `on_step_begin`, imports included. `--first-step-only` runs that part alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from epoch_eval import EVERY_EPOCH_FULL
from publish import publish
from tokenize_memory import write_rows

ROOT = Path(__file__).resolve().parents[1]


def compose(args: argparse.Namespace, cache_dir: str | None):
    from summarizer import load_config

    overrides = ["logger=none", f"paths.cache_dir={cache_dir or 'null'}",
                 f"data.max_train_samples={args.train_rows or 'null'}",
                 f"data.max_dev_samples={args.dev_rows or 'null'}",
                 f"training.batch_size={args.batch_size}", f"seed={args.seed}",
                 # One training phase of `--steps` steps, nothing saved or evaluated inside it.
                 f"+training.args.max_steps={args.steps}", "training.args.eval_strategy=no",
                 "training.args.save_strategy=no", "training.args.load_best_model_at_end=false",
                 "training.callbacks.early_stopping=null", "training.logging_steps=1000",
                 "training.warmup_steps=0",
                 # The tiny preset switches grouping off for its own accuracy on the sample;
                 # the benchmark measures the speed features as the training defaults set them.
                 "training.group_by_length=true", *EVERY_EPOCH_FULL]
    if args.data_dir:
        overrides += ["data=dialogsum_ko", f"data.dir={Path(args.data_dir).resolve()}"]
    else:
        overrides += [f"paths.data_dir={args.work_dir}"]
    if args.num_beams:
        overrides += [f"training.generation.num_beams={args.num_beams}"]
    return load_config(overrides=overrides)


def setup(args: argparse.Namespace, cache_dir: str | None):
    """Config, data, frames, tokenizer and freshly initialised model, the same on both sides."""
    return parts(compose(args, cache_dir), cache_dir)


def parts(cfg, cache_dir: str | None):
    """`cfg` with its data, frames, tokenizer (trained or loaded as a run does, cached in
    `cache_dir`) and freshly initialised model."""
    from hydra.utils import instantiate
    from transformers import set_seed

    from summarizer.modeling import apply_generation, build_tokenizer

    set_seed(cfg.seed)
    data = instantiate(cfg.data)
    train_frame, dev_frame = data.load("train"), data.load("dev")
    tokenizer = build_tokenizer(cfg.model, data, train_frame, cache_dir)
    model = instantiate(cfg.model.model, tokenizer=tokenizer)
    apply_generation(model, cfg.training.generation)
    return cfg, data, train_frame, dev_frame, tokenizer, model


class CountingCollator:
    """Wraps a collator and counts real and padded tokens (sources plus labels) per batch."""

    def __init__(self, collator):
        self.collator, self.real, self.padded, self.training = collator, 0, 0, True

    def __call__(self, features):
        batch = self.collator(features)
        if self.training:
            self.real += int(batch["attention_mask"].sum()) + int((batch["labels"] != -100).sum())
            self.padded += batch["input_ids"].numel() + batch["labels"].numel()
        return batch


def train_stats(result, collator: CountingCollator) -> dict:
    runtime = result.metrics["train_runtime"]
    return {"train_runtime_s": runtime,
            "train_samples_per_s": result.metrics["train_samples_per_second"],
            "train_tokens_per_s": collator.real / runtime,
            "padding_share": 1 - collator.real / collator.padded}


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def rouge_sum(predictions, references) -> float:
    from summarizer.metric_names import ROUGE_SUM
    from summarizer.rouge import rouge

    return rouge(predictions, references)[ROUGE_SUM]


def run_project(args: argparse.Namespace) -> dict:
    from hydra.utils import execution_whitelist, instantiate

    from summarizer.inference import summarize
    from summarizer.metric_names import OBJECTIVE
    from summarizer.trainer import assemble_trainer
    from summarizer.whitelist import EXECUTION_WHITELIST

    cache_dir = str(Path(args.work_dir) / "cache")
    with execution_whitelist(EXECUTION_WHITELIST):
        cfg, data, train_frame, dev_frame, tokenizer, model = setup(args, cache_dir)
        references = dev_frame[data.summary_column].tolist()
        trainer = assemble_trainer(cfg, data, train_frame, dev_frame,
                                   Path(args.work_dir) / "project", instantiate(cfg.logger),
                                   model=model, tokenizer=tokenizer)
    metrics = trainer.compute_metrics
    collator = trainer.data_collator = CountingCollator(trainer.data_collator)
    stats = train_stats(trainer.train(), collator)
    stats["num_beams"] = cfg.training.generation.num_beams
    collator.training = False
    trainer.save_model(str(Path(args.work_dir) / "trained"))
    evaluation, stats["eval_s"] = timed(trainer.evaluate)
    stats["eval_rouge_sum"] = evaluation[OBJECTIVE]
    dialogues = dev_frame[data.text_column].tolist()
    predictions, stats["predict_s"] = timed(lambda: summarize(
        trainer.model, tokenizer, dialogues, data.max_source_length,
        cfg.training.eval_batch_size))
    stats["predict_rouge_sum"] = rouge_sum(predictions, references)
    stats["eval_predictions_match_prediction"] = metrics.last_predictions == predictions
    return stats


def plain_trainer(cfg, model, tokenizer, train_dataset, eval_dataset, metrics, output_dir,
                  **schedule):
    """What `run_summarization.py` builds, with the project's hyper-parameters; `schedule` gives
    the remaining training arguments (steps or epochs, evaluation and saving)."""
    from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments

    t = cfg.training
    args = Seq2SeqTrainingArguments(
        output_dir=str(output_dir), report_to=[],
        per_device_train_batch_size=t.batch_size, per_device_eval_batch_size=t.eval_batch_size,
        learning_rate=t.learning_rate, weight_decay=t.weight_decay, warmup_steps=t.warmup_steps,
        gradient_accumulation_steps=t.gradient_accumulation_steps, logging_steps=t.logging_steps,
        dataloader_num_workers=t.num_workers, dataloader_pin_memory=False,
        seed=cfg.seed, predict_with_generate=True,
        generation_max_length=t.generation.max_length, generation_num_beams=t.generation.num_beams,
        fp16=bool(cfg.training.args.fp16), bf16=bool(cfg.training.args.bf16), **schedule)
    return Seq2SeqTrainer(
        model=model, args=args, train_dataset=train_dataset, eval_dataset=eval_dataset,
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100),
        processing_class=tokenizer, compute_metrics=metrics)


ONE_PHASE = {"eval_strategy": "no", "save_strategy": "no"}


def run_plain(args: argparse.Namespace) -> dict:
    from transformers import AutoModelForSeq2SeqLM

    from summarizer.data.features import build_dataset
    from summarizer.metric_names import OBJECTIVE
    from summarizer.metrics import RougeMetrics
    from summarizer.tokenization import decode

    cfg, data, train_frame, dev_frame, tokenizer, model = setup(args, None)

    def dataset(frame):
        return build_dataset(frame, tokenizer, data.text_column, data.summary_column,
                             data.max_source_length, data.max_target_length)

    references = dev_frame[data.summary_column].tolist()
    train_dataset, eval_dataset = dataset(train_frame), dataset(dev_frame)
    metrics = RougeMetrics(tokenizer, references)
    trainer = plain_trainer(cfg, model, tokenizer, train_dataset, eval_dataset, metrics,
                            Path(args.work_dir) / "plain", max_steps=args.steps, **ONE_PHASE)
    collator = trainer.data_collator = CountingCollator(trainer.data_collator)
    stats = train_stats(trainer.train(), collator)
    collator.training = False
    stats["own_model_eval_rouge_sum"] = trainer.evaluate()[OBJECTIVE]
    # Evaluation and prediction timed on the project side's trained model.
    trained = AutoModelForSeq2SeqLM.from_pretrained(Path(args.work_dir) / "trained")
    trainer = plain_trainer(cfg, trained, tokenizer, train_dataset, eval_dataset, metrics,
                            Path(args.work_dir) / "plain", max_steps=args.steps, **ONE_PHASE)
    evaluation, stats["eval_s"] = timed(trainer.evaluate)
    stats["eval_rouge_sum"] = evaluation[OBJECTIVE]
    output, stats["predict_s"] = timed(lambda: trainer.predict(eval_dataset))
    predictions = decode(tokenizer, output.predictions)
    stats["predict_rouge_sum"] = rouge_sum(predictions, references)
    return stats


class FirstStep(Exception):
    pass


def run_first_step(args: argparse.Namespace) -> dict:
    """Everything a training run does before its first step; the process ends at that step."""
    from hydra.utils import execution_whitelist, instantiate
    from transformers import TrainerCallback

    from summarizer.trainer import assemble_trainer
    from summarizer.whitelist import EXECUTION_WHITELIST

    class StopAtFirstStep(TrainerCallback):
        def on_step_begin(self, *_, **__):
            raise FirstStep(time.time())

    cache_dir = args.cache_dir or None
    with execution_whitelist(EXECUTION_WHITELIST):
        cfg, data, train_frame, dev_frame, tokenizer, model = setup(args, cache_dir)
        trainer = assemble_trainer(cfg, data, train_frame, dev_frame,
                                   Path(args.work_dir) / "first_step", instantiate(cfg.logger),
                                   model=model, tokenizer=tokenizer)
    trainer.add_callback(StopAtFirstStep)
    try:
        trainer.train()
    except FirstStep as step:
        return {"first_step_at": step.args[0], "train_rows": len(trainer.train_dataset)}
    raise RuntimeError("training ended before its first step")


def child(args: argparse.Namespace, part: str, **extra) -> dict:
    """One part in a fresh process; its stats (with peak RSS and wall time) from its last line."""
    cmd = [sys.executable, __file__, "--part", part, "--work-dir", args.work_dir,
           "--steps", str(args.steps), "--batch-size", str(args.batch_size),
           "--seed", str(args.seed)]
    for name in ("data_dir", "train_rows", "dev_rows", "num_beams", "cache_dir"):
        value = extra.get(name, getattr(args, name))
        if value:
            cmd += [f"--{name.replace('_', '-')}", str(value)]
    launched = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.time() - launched
    if proc.returncode != 0:
        raise SystemExit(f"{part} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    if "first_step_at" in stats:
        stats["first_step_s"] = stats.pop("first_step_at") - launched
    return {**stats, "process_wall_s": wall}


def machine() -> dict:
    import datasets
    import tokenizers
    import torch
    import transformers
    from device_info import cpu_name

    cpu = cpu_name()
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU only"
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "device": device,
            "torch_threads": torch.get_num_threads(),
            "versions": f"Python {platform.python_version()}, torch {torch.__version__}, "
                        f"transformers {transformers.__version__}, datasets "
                        f"{datasets.__version__}, tokenizers {tokenizers.__version__}"}


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x"


def speed_rows(project: dict, plain: dict) -> list[str]:
    rows = [
        ("training samples/s", f"{project['train_samples_per_s']:.1f}",
         f"{plain['train_samples_per_s']:.1f}",
         ratio(project["train_samples_per_s"], plain["train_samples_per_s"])),
        ("training tokens/s (real tokens)", f"{project['train_tokens_per_s']:.0f}",
         f"{plain['train_tokens_per_s']:.0f}",
         ratio(project["train_tokens_per_s"], plain["train_tokens_per_s"])),
        ("padding share of training batches", f"{project['padding_share']:.1%}",
         f"{plain['padding_share']:.1%}", ""),
        ("evaluation wall time, s", f"{project['eval_s']:.1f}", f"{plain['eval_s']:.1f}",
         ratio(project["eval_s"], plain["eval_s"])),
        ("prediction wall time, s", f"{project['predict_s']:.1f}", f"{plain['predict_s']:.1f}",
         ratio(project["predict_s"], plain["predict_s"])),
        ("evaluation + prediction, s", f"{project['eval_s'] + project['predict_s']:.1f}",
         f"{plain['eval_s'] + plain['predict_s']:.1f}",
         ratio(project["eval_s"] + project["predict_s"], plain["eval_s"] + plain["predict_s"])),
        ("ROUGE sum, evaluation (same model)", f"{project['eval_rouge_sum']:.2f}",
         f"{plain['eval_rouge_sum']:.2f}", ""),
        ("ROUGE sum, prediction (same model)", f"{project['predict_rouge_sum']:.2f}",
         f"{plain['predict_rouge_sum']:.2f}", ""),
        ("ROUGE sum of each side's own trained model", f"{project['eval_rouge_sum']:.2f}",
         f"{plain['own_model_eval_rouge_sum']:.2f}", ""),
        ("peak RSS, MiB", f"{project['peak_rss_mib']:.0f}", f"{plain['peak_rss_mib']:.0f}", ""),
    ]
    return ["| | project | plain script | project / plain |", "|---|---|---|---|",
            *(f"| {name} | {a} | {b} | {c} |" for name, a, b, c in rows), "",
            "Evaluation of the same model gives the same predictions in both orders: "
            f"{'yes' if project['eval_predictions_match_prediction'] else 'no'} (project "
            "evaluation against project prediction).", ""]


def first_step_rows(first_steps: dict) -> list[str]:
    off, cold, warm = (first_steps[k]["first_step_s"] for k in ("off", "cold", "warm"))
    return [
        "From launching a fresh `python` process to its first training step (imports, config, "
        "data, tokenizer, tokenization, model, trainer):",
        "",
        "| dataset cache | seconds to the first step | process exit after it, s |",
        "|---|---|---|",
        *(f"| {name} | {first_steps[key]['first_step_s']:.2f}{extra} | "
          f"{first_steps[key]['process_wall_s'] - first_steps[key]['first_step_s']:.2f} |"
          for key, name, extra in (
              ("off", "off (`paths.cache_dir=null`)", ""),
              ("cold", "on, empty (a sweep's first trial)", ""),
              ("warm", "on, filled (a sweep's second trial)",
               f" ({ratio(off, warm)} sooner than off, {ratio(cold, warm)} than empty)"))),
        "",
    ]


def report(args, info: dict, load_before: str, load_after: str, first_steps: dict,
           project: dict | None = None, plain: dict | None = None) -> str:
    train_rows = args.train_rows or "all"
    if args.train_repeat > 1:
        train_rows = f"{args.train_repeat} copies of {train_rows}"
    lines = [f"Data: {args.source_data or 'bundled sample'} ({train_rows} train rows, "
             f"{args.dev_rows or 'all'} dev rows); batch size {args.batch_size}; seed {args.seed}."]
    if project is not None:
        lines[0] += (f" {args.steps} training steps; generation with {project['num_beams']} "
                     "beam(s).")
    lines += [
        f"Machine: {info['cpu']}, {info['cores']} usable cores, {info['device']}, "
        f"{info['torch_threads']} torch threads. {info['versions']}.",
        f"Load average (1/5/15 min) before: {load_before}, after: {load_after}. The machine is "
        "shared with other processes: absolute times vary between runs, ratios less.",
        "",
        *(speed_rows(project, plain) if project is not None else []),
        *first_step_rows(first_steps),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="competition-layout CSVs (default: the bundled sample)")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--train-rows", type=int, help="first N training rows (default: all)")
    parser.add_argument("--dev-rows", type=int, default=200, help="first N dev rows (0: all)")
    parser.add_argument("--train-repeat", type=int, default=1, metavar="K",
                        help="train on K copies of --data-dir's training rows (more data of "
                             "the same lengths)")
    parser.add_argument("--num-beams", type=int, help="default: the model config's")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--first-step-only", action="store_true",
                        help="time only the fresh processes' way to their first training step")
    parser.add_argument("--report", help="also write the markdown report to this file")
    parser.add_argument("--part", choices=["project", "plain", "first-step"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--work-dir", help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train_repeat > 1 and not args.data_dir:
        # The bundled sample is regenerated whenever its files differ from the shipped ones.
        parser.error("--train-repeat needs --data-dir (a folder of competition-layout CSVs)")

    if args.part:
        stats = {"project": run_project, "plain": run_plain,
                 "first-step": run_first_step}[args.part](args)
        stats["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(stats))
        return

    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    args.source_data = args.data_dir
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="train_speed-") as work_dir:
        args.work_dir = work_dir
        if not args.data_dir:
            from summarizer.data import sample

            sample.ensure(Path(work_dir) / "sample")
        if args.train_repeat > 1:
            from summarizer.data.io import read_csv

            args.data_dir = shutil.copytree(args.data_dir, Path(work_dir) / "data")
            train_csv = args.data_dir / "train.csv"
            rows = len(read_csv(train_csv))
            write_rows(train_csv, args.train_repeat * rows, train_csv)
        if not args.first_step_only:
            results["project"] = child(args, "project")
            results["plain"] = child(args, "plain")
        cache = str(Path(work_dir) / "first_step_cache")
        results["first_steps"] = {"off": child(args, "first-step"),
                                  "cold": child(args, "first-step", cache_dir=cache),
                                  "warm": child(args, "first-step", cache_dir=cache)}
    load_after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    publish(report(args, machine(), load_before, load_after, **results), results, args.report)


if __name__ == "__main__":
    main()
