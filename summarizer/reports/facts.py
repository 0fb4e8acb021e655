"""What the end-of-run reports say about a run, gathered once from the trainer."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import Seq2SeqTrainer

from summarizer.data.module import SummarizationData
from summarizer.output_checks import OutputCheck
from summarizer.reports.evaluation_log import best_metric_key
from summarizer.reports.history import best_evaluation
from summarizer.reports.rerun import rerun_command


@dataclass
class RunFacts:
    name: str
    run_dir: Path
    metrics: dict  # metrics.json: the best model's final dev metrics and the training metrics
    log_history: list[dict]
    metric: str | None  # metric_for_best_model as logged (`eval_rouge_sum`)
    greater_is_better: bool
    base_model: str | None  # None: trained from scratch
    architecture: str
    parameters: int
    data_name: str
    data_dir: Path
    train_rows: int
    dev_rows: int
    max_source_length: int
    rouge_tokenizer: str  # the ROUGE mode of the dev metrics (`data.rouge_tokenizer`)
    hyperparameters: dict[str, Any]
    command: str | None  # the training command, secrets masked; None: no overrides recorded
    outputs: OutputCheck | None = None  # the final dev predictions: empty, repeated, distinct
    language: str | None = None  # ISO 639-1 code of the dev summaries; None: not recognised

    @property
    def best(self) -> dict | None:
        if self.metric is None:
            return None
        return best_evaluation(self.log_history, self.metric, self.greater_is_better)

    @property
    def final_model(self) -> Path:
        return self.run_dir / "final_model"

    @property
    def predict_command(self) -> str:
        # Predict takes the run's data settings (folder, files, columns) from the run itself.
        return shlex.join(["python", "-m", "summarizer.predict", f"run={self.run_dir}"])


def summary_language(summaries: Sequence[str]) -> str | None:
    """"ko" when Hangul makes up at least a third of the letters (Korean summaries keep English
    names and masks such as `#Person1#`), "en" when Latin letters make up nearly all of them."""
    letters = [char for text in summaries for char in text if char.isalpha()]
    if not letters:
        return None
    hangul = sum("\uac00" <= char <= "\ud7a3" or "\u3131" <= char <= "\u318e" for char in letters)
    if hangul >= len(letters) / 3:
        return "ko"
    latin = sum(char.isascii() for char in letters)
    return "en" if latin >= 0.95 * len(letters) else None


def run_facts(trainer: Seq2SeqTrainer, metrics: dict, data: SummarizationData, run_dir: Path,
              outputs: OutputCheck | None = None, references: Sequence[str] = ()) -> RunFacts:
    args, model = trainer.args, trainer.model
    generation = model.generation_config
    precision = "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32"
    return RunFacts(
        name=args.run_name or run_dir.name,
        run_dir=run_dir.resolve(),
        metrics=metrics,
        log_history=list(trainer.state.log_history),
        metric=best_metric_key(args),
        greater_is_better=bool(args.greater_is_better),
        # A model built from a config has no name or path; pretrained weights keep theirs.
        base_model=model.config.name_or_path or None,
        architecture=type(model).__name__,
        parameters=model.num_parameters(),
        data_name=data.name,
        data_dir=Path(data.dir).resolve(),
        train_rows=len(trainer.train_dataset),
        # The final evaluation's rows; each epoch's may be fewer (training.epoch_eval).
        dev_rows=len(references) if references else len(trainer.eval_dataset),
        max_source_length=data.max_source_length,
        rouge_tokenizer=data.rouge_tokenizer,
        hyperparameters={
            "epochs (planned)": args.num_train_epochs,
            "batch size per device": args.per_device_train_batch_size,
            "gradient accumulation steps": args.gradient_accumulation_steps,
            "learning rate": args.learning_rate,
            "scheduler": str(getattr(args.lr_scheduler_type, "value", args.lr_scheduler_type)),
            "warm-up steps": args.warmup_steps,
            "weight decay": args.weight_decay,
            "precision": precision,
            "seed": args.seed,
            "best model by": args.metric_for_best_model,
            "generation": f"num_beams={generation.num_beams}, max_length={generation.max_length}",
        },
        command=rerun_command(run_dir),
        outputs=outputs,
        language=summary_language(references),
    )
