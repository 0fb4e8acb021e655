"""Time to a target ROUGE: wall time from launching a fresh process to its first evaluation at or
above a target dev rouge_sum (MLPerf's measure), the project's runner against a plain
Seq2SeqTrainer script, over several seeds.

    python benchmarks/time_to_rouge.py --target 200 [--seeds 1 2 3] [--data-dir DIR]
        [--train-rows N] [--dev-rows N] [--threads 1] [--parallel 2]
        [--variant 'NAME=override ...'] [--no-plain] [--report FILE] [-- overrides for all]
        (or: make bench-time-to-rouge ARGS="...")

Each run is a fresh process with its own empty dataset cache, so its time includes the imports,
reading the CSVs, training the tokenizer and tokenizing.

* project: `python -m summarizer.train` as a user types it (the model preset's defaults plus the
  shared overrides); its evaluation times come from the timestamps of `train.log`'s evaluation
  lines, its best dev ROUGE from `metrics.json`.
* plain: what `run_summarization.py` does, given the same composed config: the same tokenizer
  (trained from the training split), token ids per row (`build_dataset`), model config and seed,
  batch size, learning-rate schedule, epochs, early stopping, generation settings and ROUGE
  (`RougeMetrics`); `Seq2SeqTrainer` with random batches, evaluation of the dev rows in stored
  order after every epoch, a checkpoint per epoch and the best one loaded at the end.
* `--variant 'NAME=override ...'` adds a project run with more overrides (e.g. another
  `training.length_group_batches`); `project` (no extra overrides) and `plain` always run unless
  `--no-plain`.

`--parallel 2 --threads 1` runs two processes at once, one torch thread each, a project run next
to the plain run of the same seed, so both sides share the machine alike. Without `--data-dir`
the bundled sample is generated into a temporary folder; `--data-dir` takes competition-layout
CSVs (`train.csv`, `dev.csv`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from data_options import add_data_arguments, data_overrides
from device_info import cpu_name
from publish import publish
from train_speed import parts, plain_trainer

ROOT = Path(__file__).resolve().parents[1]
PLAIN = "plain"
PROJECT = "project"
# Starts the plain script's lines for this script (transformers prints its own dicts).
MARK = "time_to_rouge:"


def run_plain(args: argparse.Namespace) -> None:
    """The plain script, in this process: prints one JSON line per evaluation, then the result."""
    from transformers import EarlyStoppingCallback, TrainerCallback

    from summarizer import load_config
    from summarizer.data.features import build_dataset
    from summarizer.metric_names import OBJECTIVE
    from summarizer.metrics import RougeMetrics

    cfg, data, train_frame, dev_frame, tokenizer, model = parts(
        load_config(overrides=[*args.run_overrides, "logger=none", "paths.cache_dir=null"]), None)

    def dataset(frame):
        return build_dataset(frame, tokenizer, data.text_column, data.summary_column,
                             data.max_source_length, data.max_target_length)

    class Timestamps(TrainerCallback):
        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            print(MARK, json.dumps({"at": time.time(), "epoch": state.epoch,
                                    "rouge_sum": metrics[OBJECTIVE]}), flush=True)

    training = cfg.training
    trainer = plain_trainer(
        cfg, model, tokenizer, dataset(train_frame), dataset(dev_frame),
        RougeMetrics(tokenizer, dev_frame[data.summary_column].tolist()),
        Path(args.work_dir), num_train_epochs=training.epochs, eval_strategy="epoch",
        save_strategy="epoch", save_total_limit=training.save_total_limit,
        load_best_model_at_end=True, metric_for_best_model=OBJECTIVE, greater_is_better=True)
    trainer.add_callback(Timestamps)
    if training.callbacks.get("early_stopping") is not None:
        trainer.add_callback(EarlyStoppingCallback(training.early_stopping_patience))
    trainer.train()
    print(MARK, json.dumps({"best_rouge_sum": trainer.state.best_metric}))


def log_time(line: str) -> float:
    """The time of a `train.log` line (`[2026-12-06 03:10:00,123][...`), as a Unix time."""
    return datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def project_evaluations(run_dir: Path) -> list[dict]:
    """Each evaluation of a project run: when its log line was written, its epoch and rouge_sum."""
    found = []
    for line in (run_dir / "train.log").read_text(encoding="utf-8").splitlines():
        if "][summarizer.reports.evaluation_log][" not in line or " rouge_sum " not in line:
            continue
        message = line.split("] ", 1)[1] if "] " in line else line.rsplit("]", 1)[1]
        epoch = message.split("epoch ", 1)[1].split("/", 1)[0]
        rouge_sum = message.split(" rouge_sum ", 1)[1].split(",", 1)[0]
        found.append({"at": log_time(line), "epoch": float(epoch), "rouge_sum": float(rouge_sum)})
    return found


def launch(args: argparse.Namespace, variant: str, overrides: list[str], seed: int) -> dict:
    """One run in a fresh process: its evaluations (seconds from launch), best ROUGE, wall time."""
    name = f"{variant}_seed{seed}"
    run_dir = Path(args.work_dir) / name
    run_overrides = [*data_overrides(args), *args.overrides, *overrides, f"seed={seed}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    if variant == PLAIN:
        cmd = [sys.executable, __file__, "--part", PLAIN, "--work-dir", str(run_dir),
               "--", *run_overrides]
    else:
        cmd = [sys.executable, "-m", "summarizer.train", *run_overrides, "logger=csv",
               f"hydra.run.dir={run_dir}", f"paths.cache_dir={run_dir / 'cache'}"]
    launched = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    wall = time.time() - launched
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    if variant == PLAIN:
        lines = [json.loads(line.removeprefix(MARK)) for line in proc.stdout.splitlines()
                 if line.startswith(MARK)]
        evaluations, best = lines[:-1], lines[-1]["best_rouge_sum"]
    else:
        evaluations = project_evaluations(run_dir)
        metrics = json.loads((run_dir / "metrics.json").read_text())
        best = metrics["eval_rouge_sum"]
    for evaluation in evaluations:
        evaluation["at"] -= launched
    return with_target({"variant": variant, "seed": seed, "wall_s": wall, "best_rouge_sum": best,
                        "evaluations": evaluations}, args.target)


def with_target(run: dict, target: float) -> dict:
    """`run` with the time and epoch of its first evaluation at or above `target`."""
    reached = next((e for e in run["evaluations"] if e["rouge_sum"] >= target), None)
    return {**run, "time_to_target_s": None if reached is None else reached["at"],
            "epoch_to_target": None if reached is None else reached["epoch"]}


def spread(values: list[float], digits: int = 1) -> str:
    """`median (min-max)` of `values`."""
    return (f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-"
            f"{max(values):.{digits}f})")


def mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1f} +- {sd:.1f}"


def median_time(runs: list[dict]) -> float | None:
    """The median time to the target, None unless every run reached it."""
    times = [run["time_to_target_s"] for run in runs]
    return None if None in times else statistics.median(times)


def variant_row(variant: str, overrides: list[str], runs: list[dict]) -> str:
    def each(key: str, style: str) -> str:
        return " / ".join("-" if run[key] is None else format(run[key], style) for run in runs)

    reached = [run["time_to_target_s"] for run in runs if run["time_to_target_s"] is not None]
    summary = (spread(reached) if len(reached) == len(runs)
               else f"{len(reached)} of {len(runs)} reached")
    best = [run["best_rouge_sum"] for run in runs]
    label = variant if not overrides else f"{variant} (`{' '.join(overrides)}`)"
    return (f"| {label} | {each('time_to_target_s', '.0f')} | {summary} | "
            f"{each('epoch_to_target', 'g')} | {each('best_rouge_sum', '.1f')} | {mean_sd(best)} | "
            f"{statistics.median(epoch_seconds(run) for run in runs):.1f} | "
            f"{statistics.median(run['wall_s'] for run in runs):.0f} |")


def epoch_seconds(run: dict) -> float:
    """The median time from one evaluation to the next: an epoch of training and evaluation."""
    times = [evaluation["at"] for evaluation in run["evaluations"]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    return statistics.median(gaps) if gaps else float("nan")


def report(args: argparse.Namespace, variants: dict, runs: list[dict], load: str) -> str:
    seeds = " / ".join(str(seed) for seed in args.seeds)
    lines = [
        f"Data: {args.data_dir or 'bundled sample'} ({args.train_rows or 'all'} train rows, "
        f"{args.dev_rows or 'all'} dev rows); target dev rouge_sum {args.target}; seeds {seeds}; "
        f"overrides for all: `{' '.join(args.overrides) or 'none'}`.",
        f"Machine: {cpu_name()}, {len(os.sched_getaffinity(0))} usable cores; {args.parallel} "
        f"process(es) at a time, {args.threads} torch thread(s) each. Load average (1/5/15 min) "
        f"before and after: {load}.",
        "",
        f"| side | time to {args.target}, s, per seed | median (min-max) | epoch reached | "
        "best dev rouge_sum per seed | mean +- sd | epoch with its evaluation, s, median | "
        "process wall time, s, median |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by_variant = {variant: [run for run in runs if run["variant"] == variant]
                  for variant in variants}
    lines += [variant_row(variant, overrides, by_variant[variant])
              for variant, overrides in variants.items()]
    medians = {variant: median_time(mine) for variant, mine in by_variant.items()}
    if medians.get(PLAIN):
        lines += ["", "Median time to the target against the plain script's: " + ", ".join(
            f"{variant} {median / medians[PLAIN]:.2f}x" for variant, median in medians.items()
            if variant != PLAIN and median is not None) + "."]
    return "\n".join(lines) + "\n"


def parse_variants(args: argparse.Namespace) -> dict[str, list[str]]:
    # The plain script second: with two processes at a time it runs beside the project's run.
    variants = {PROJECT: [], **({} if args.no_plain else {PLAIN: []})}
    for text in args.variant:
        name, _, overrides = text.partition("=")
        if not name or name in (PROJECT, PLAIN):
            raise SystemExit(f"--variant {text!r}: give it a name other than project or plain, "
                             "as 'NAME=override ...'")
        variants[name] = overrides.split()
    return variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", type=float, default=200.0,
                        help="dev rouge_sum to reach")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    add_data_arguments(parser)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--parallel", type=int, default=2, help="processes at a time")
    parser.add_argument("--variant", action="append", default=[], metavar="'NAME=override ...'")
    parser.add_argument("--no-plain", action="store_true", help="leave out the plain script")
    parser.add_argument("--report", help="also write the markdown report to this file")
    parser.add_argument("--runs", help="report on the runs of an earlier invocation (its JSON "
                                       "line, saved to this file) instead, e.g. for another "
                                       "--target; give it the same other options")
    parser.add_argument("--part", choices=[PLAIN], help=argparse.SUPPRESS)
    parser.add_argument("--work-dir", help=argparse.SUPPRESS)
    parser.add_argument("overrides", nargs="*", help="config overrides for every run")
    args = parser.parse_args()
    if args.part == PLAIN:
        args.run_overrides = args.overrides
        run_plain(args)
        return

    variants = parse_variants(args)
    if args.runs:
        runs = [with_target(run, args.target)
                for run in json.loads(Path(args.runs).read_text().splitlines()[-1])]
        publish(report(args, variants, runs, "as recorded"), runs, args.report)
        return
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="time_to_rouge-") as work_dir:
        args.work_dir = work_dir
        if not args.data_dir:
            from summarizer.data import sample

            sample.ensure(Path(work_dir) / "sample")
        # Seed by seed, each variant's run beside the others of that seed.
        jobs = [(variant, overrides, seed) for seed in args.seeds
                for variant, overrides in variants.items()]
        with ThreadPoolExecutor(args.parallel) as pool:
            runs = list(pool.map(lambda job: launch(args, *job), jobs))
    load = f"{load_before}; {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    publish(report(args, variants, runs, load), runs, args.report)


if __name__ == "__main__":
    main()
