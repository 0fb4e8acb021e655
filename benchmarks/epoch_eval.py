"""Lighter evaluation after each epoch (`training.epoch_eval`): the evaluation time it saves and
whether it picks the same best checkpoint as the full evaluation.

    python benchmarks/epoch_eval.py [--seeds 1 2 3] [--data-dir DIR] [--train-rows N]
        [--dev-rows N] [--light 'NAME=override ...'] [--report FILE] [-- overrides for all]
        (or: make bench-epoch-eval ARGS="...")

For each seed, one run of `python -m summarizer.train` in a fresh process with the full
evaluation after every epoch (the seed project's settings: 4 beams, up to 100 tokens, every dev
row; `--full` changes them) and every checkpoint kept. Its log gives each epoch's full rouge_sum
and evaluation time. Then each light setting (`--light`, default: greedy over every dev row, and
greedy over half of them) evaluates every checkpoint of that run through the trainer a run
builds, timed the same way. Light and full evaluations thus judge the same checkpoints: the
report gives the evaluation time of each, the epoch each would pick as best, the full rouge_sum
of the light pick against the full pick, and the rank correlation of the two over the epochs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from data_options import add_data_arguments, data_overrides
from device_info import cpu_name
from publish import publish

ROOT = Path(__file__).resolve().parents[1]
FULL = ["training.generation.num_beams=4", "training.generation.max_length=100"]
# Every epoch's evaluation as the final evaluation does it, whatever the preset's own
# `training.epoch_eval` (interpolations, resolved in the run); the other benchmarks time that
# evaluation too.
EVERY_EPOCH_FULL = ["training.epoch_eval.num_beams=${training.generation.num_beams}",
                    "training.epoch_eval.max_length=${training.generation.max_length}",
                    "training.epoch_eval.dev_rows=null", "training.epoch_eval.every_epochs=1"]
LIGHT = ["greedy=training.epoch_eval.num_beams=1 training.epoch_eval.dev_rows=null",
         "greedy_half=training.epoch_eval.num_beams=1 training.epoch_eval.dev_rows=HALF"]


def base_overrides(args: argparse.Namespace) -> list[str]:
    return [*data_overrides(args), *args.full, *args.overrides]


def full_run(args: argparse.Namespace, seed: int) -> tuple[Path, dict]:
    """The run with full evaluations, every checkpoint kept; its epochs' full scores and times."""
    import pandas as pd
    from omegaconf import OmegaConf

    run_dir = Path(args.work_dir) / f"seed{seed}"
    cmd = [sys.executable, "-m", "summarizer.train", *base_overrides(args), *EVERY_EPOCH_FULL,
           f"seed={seed}", "training.save_total_limit=null", "logger=csv",
           f"hydra.run.dir={run_dir}"]
    launched = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"})
    wall = time.time() - launched
    if proc.returncode != 0:
        raise SystemExit(f"seed {seed} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    # The epochs' evaluations; the final one of the best model is in metrics.json only.
    log = pd.read_csv(run_dir / "log.csv").dropna(subset=["eval_rouge_sum"])
    evaluations = [{"step": int(row.step), "epoch": float(row.epoch),
                    "rouge_sum": float(row.eval_rouge_sum), "seconds": float(row.eval_runtime)}
                   for row in log.itertuples()]
    final = json.loads((run_dir / "metrics.json").read_text())
    saved = OmegaConf.load(run_dir / ".hydra" / "config.yaml").training
    return run_dir, {"wall_s": wall, "evaluations": evaluations,
                     "epoch_num_beams": saved.epoch_eval.num_beams,
                     "final_rouge_sum": final["eval_rouge_sum"],
                     "dev_rows": len(pd.read_csv(run_dir / "dev_predictions.csv"))}


def light_scores(args: argparse.Namespace, run_dir: Path, seed: int, overrides: list[str],
                 steps: list[int]) -> list[dict]:
    """Each checkpoint's light evaluation (rouge_sum, seconds), through a run's trainer."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from summarizer import build_trainer, load_config
    from summarizer.metric_names import OBJECTIVE

    cfg = load_config(overrides=[*base_overrides(args), f"seed={seed}", "logger=none",
                                 f"paths.cache_dir={run_dir / 'light_cache'}", *overrides])
    scores = []
    for step in steps:
        checkpoint = run_dir / f"checkpoint-{step}"
        trainer = build_trainer(cfg, model=AutoModelForSeq2SeqLM.from_pretrained(checkpoint),
                                tokenizer=AutoTokenizer.from_pretrained(checkpoint),
                                output_dir=run_dir / "light")
        start = time.perf_counter()
        metrics = trainer.evaluate()
        scores.append({"step": step, "rouge_sum": metrics[OBJECTIVE],
                       "seconds": time.perf_counter() - start})
    return scores


def spearman(first: list[float], second: list[float]) -> float:
    """Spearman's rank correlation (Pearson's of the ranks, ties given their mean rank)."""
    import pandas as pd

    return float(pd.Series(first).rank().corr(pd.Series(second).rank()))


def compare(full: list[dict], light: list[dict]) -> dict:
    """What the light evaluation would have chosen, judged by the full one."""
    full_scores = [e["rouge_sum"] for e in full]
    light_scores_ = [e["rouge_sum"] for e in light]
    # As the trainer picks: the first epoch with the highest score.
    full_pick = max(range(len(full)), key=lambda i: (full_scores[i], -i))
    light_pick = max(range(len(light)), key=lambda i: (light_scores_[i], -i))
    return {"full_s": sum(e["seconds"] for e in full),
            "light_s": sum(e["seconds"] for e in light),
            "full_best_epoch": full[full_pick]["epoch"],
            "light_best_epoch": full[light_pick]["epoch"],
            "full_best": full_scores[full_pick],
            "full_of_light_pick": full_scores[light_pick],
            "same_pick": full_pick == light_pick,
            "spearman": spearman(full_scores, light_scores_)}


def report(args: argparse.Namespace, results: dict, load: str) -> str:
    lines = [
        f"Data: {args.data_dir or 'bundled sample'} ({args.train_rows or 'all'} train rows, "
        f"{args.dev_rows or 'all'} dev rows); full evaluation `{' '.join(args.full)}`; "
        f"overrides for all: `{' '.join(args.overrides) or 'none'}`.",
        f"Machine: {cpu_name()}, {len(os.sched_getaffinity(0))} usable cores. Load average "
        f"(1/5/15 min) before and after: {load}.",
        "",
        "| light setting | seed | evaluation time, full -> light, s | best epoch, full / light | "
        "full rouge_sum of the best / of the light pick | rank correlation over epochs |",
        "|---|---|---|---|---|---|",
    ]
    for name, overrides in args.light_settings.items():
        same = 0
        for seed, result in results.items():
            row = result["light"][name]
            same += row["same_pick"]
            lines.append(
                f"| {name} (`{' '.join(overrides)}`) | {seed} | {row['full_s']:.0f} -> "
                f"{row['light_s']:.0f} ({row['full_s'] / row['light_s']:.1f}x less) | "
                f"{row['full_best_epoch']:g} / {row['light_best_epoch']:g} | "
                f"{row['full_best']:.2f} / {row['full_of_light_pick']:.2f} | "
                f"{row['spearman']:.2f} |")
        lines.append(f"| {name}: same best checkpoint | {same} of {len(results)} seeds | | | | |")
    lines += ["", "Full runs (every epoch's evaluation full): " + "; ".join(
        f"seed {seed}: {r['wall_s']:.0f} s launch to exit, final rouge_sum "
        f"{r['final_rouge_sum']:.2f}" for seed, r in results.items()) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    add_data_arguments(parser)
    parser.add_argument("--full", nargs="+", default=FULL, metavar="OVERRIDE",
                        help="the full evaluation's settings")
    parser.add_argument("--light", action="append", metavar="'NAME=override ...'",
                        help="a light setting; HALF stands for half the dev rows")
    parser.add_argument("--report", help="also write the markdown report to this file")
    parser.add_argument("overrides", nargs="*", help="config overrides for every run")
    args = parser.parse_args()

    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="epoch_eval-") as work_dir:
        args.work_dir = work_dir
        if not args.data_dir:
            from summarizer.data import sample

            sample.ensure(Path(work_dir) / "sample")
        for seed in args.seeds:
            run_dir, result = full_run(args, seed)
            half = result["dev_rows"] // 2
            args.light_settings = {name: overrides.replace("HALF", str(half)).split()
                                   for name, _, overrides in
                                   (text.partition("=") for text in args.light or LIGHT)}
            steps = [e["step"] for e in result["evaluations"]]
            result["light"] = {}
            for name, overrides in args.light_settings.items():
                light = light_scores(args, run_dir, seed, overrides, steps)
                result["light"][name] = {**compare(result["evaluations"], light),
                                         "evaluations": light}
            results[seed] = result
    load = f"{load_before}; {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    publish(report(args, results, load), results, args.report)


if __name__ == "__main__":
    main()
