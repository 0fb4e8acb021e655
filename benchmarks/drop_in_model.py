"""Standard Hugging Face code on a run's `final_model/`: a plain `Seq2SeqTrainer` script that
tokenizes as transformers' examples do (`tokenizer(dialogue)`, `tokenizer(text_target=summary)`,
`DataCollatorForSeq2Seq`), trained afresh from the final model's config with the run's data and
settings (early stopping included), against the project's own run.

    python benchmarks/drop_in_model.py [--run RUN_DIR] [--report FILE] [-- overrides]

Without `--run` the project's run is trained first (`python -m summarizer.train` with the
overrides). The sides, each one seed (the run's):

* project: the run's final dev rouge_sum (`metrics.json`);
* plain: the script given `final_model/`'s tokenizer, which adds `<s> ... </s>`;
* plain, project labels: the same with each label's leading `<s>` dropped
  (`tokenizer(text_target=...)["input_ids"][1:]`, docs/runs.md), i.e. the project's ids exactly;
* plain, bare tokenizer: the script given the tokenizer the model trained with, which adds no
  special tokens: what `final_model/` held before it added them (labels without EOS).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from publish import publish
from train_speed import plain_trainer

ROOT = Path(__file__).resolve().parents[1]


def train_project(overrides: list[str], run_dir: Path) -> None:
    subprocess.run([sys.executable, "-m", "summarizer.train", f"hydra.run.dir={run_dir}",
                    "logger=none", *overrides], cwd=ROOT, check=True)


def plain_side(run_dir: Path, overrides: list[str], tokenizer_dir: Path, drop_label_bos: bool,
               work_dir: Path) -> float:
    """Best dev rouge_sum of the plain script over the run's epochs."""
    from datasets import Dataset
    from hydra.utils import instantiate
    from transformers import (
        AutoConfig,
        AutoModelForSeq2SeqLM,
        AutoTokenizer,
        EarlyStoppingCallback,
        set_seed,
    )

    from summarizer import load_config
    from summarizer.metric_names import OBJECTIVE
    from summarizer.metrics import RougeMetrics
    from summarizer.run_files import FINAL_MODEL

    cfg = load_config(overrides=[*overrides, "logger=none"])
    data = instantiate(cfg.data)
    train_frame, dev_frame = data.load("train"), data.load("dev")
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    set_seed(cfg.seed)
    model = AutoModelForSeq2SeqLM.from_config(AutoConfig.from_pretrained(run_dir / FINAL_MODEL))
    model.generation_config = type(model.generation_config).from_pretrained(run_dir / FINAL_MODEL)

    def encode(frame) -> Dataset:
        features = tokenizer(frame[data.text_column].tolist(),
                             max_length=data.max_source_length, truncation=True)
        extra = 1 if drop_label_bos else 0
        labels = tokenizer(text_target=frame[data.summary_column].tolist(),
                           max_length=data.max_target_length + extra,
                           truncation=True)["input_ids"]
        if drop_label_bos:
            labels = [ids[1:] for ids in labels]
        return Dataset.from_dict({**features, "labels": labels})

    metrics = RougeMetrics(tokenizer, dev_frame[data.summary_column].tolist(),
                           rouge_tokenizer=data.rouge_tokenizer)
    trainer = plain_trainer(cfg, model, tokenizer, encode(train_frame), encode(dev_frame),
                            metrics, work_dir, num_train_epochs=cfg.training.epochs,
                            eval_strategy="epoch", save_strategy="epoch", save_total_limit=1,
                            load_best_model_at_end=True, metric_for_best_model=OBJECTIVE,
                            greater_is_better=True)
    if cfg.training.callbacks.get("early_stopping") is not None:
        trainer.add_callback(EarlyStoppingCallback(cfg.training.early_stopping_patience))
    trainer.train()
    return float(trainer.state.best_metric)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="a finished run directory (default: train one)")
    parser.add_argument("--report", help="also write the markdown report here")
    parser.add_argument("overrides", nargs="*", help="overrides of the run (after --)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        run_dir = args.run or Path(scratch) / "run"
        if args.run is None:
            train_project(args.overrides, run_dir)
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        bare = run_dir / metrics["best_checkpoint"]  # the trainer's tokenizer, as trained with
        sides = {"project": metrics["eval_rouge_sum"]}
        for name, tokenizer_dir, drop in (("plain", run_dir / "final_model", False),
                                          ("plain, project labels", run_dir / "final_model", True),
                                          ("plain, bare tokenizer", bare, False)):
            sides[name] = plain_side(run_dir, args.overrides, tokenizer_dir, drop,
                                     Path(scratch) / name.replace(", ", "-").replace(" ", "_"))
    rows = "\n".join(f"| {name} | {value:.1f} |" for name, value in sides.items())
    body = f"| side | best dev rouge_sum |\n|---|---|\n{rows}\n"
    publish(body, sides, args.report)


if __name__ == "__main__":
    main()
