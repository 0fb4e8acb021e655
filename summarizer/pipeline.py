"""The steps of a training run, shared by `python -m summarizer.train` and `summarizer.train()`."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from pathlib import Path

import pandas as pd
from hydra.utils import instantiate
from omegaconf import DictConfig
from transformers import Seq2SeqTrainer

from summarizer.atomic_files import directory_replaced_whole, write_json_atomic
from summarizer.checkpoints import resolve_checkpoint
from summarizer.config_keys import to_container
from summarizer.console_log import tee_output
from summarizer.data.io import write_csv_atomic
from summarizer.data.module import SummarizationData
from summarizer.distributed import is_main_process
from summarizer.final_model import save_final_model
from summarizer.metric_names import EVAL_ROUGE_METRICS
from summarizer.metrics import RougeMetrics
from summarizer.modeling import adapter_settings, prompt_settings
from summarizer.options import check_training_values
from summarizer.output_checks import report_outputs
from summarizer.overrides import command_line_overrides
from summarizer.remote_code import check_trust_remote_code
from summarizer.reports.analysis import TOPIC_COLUMN, AnalysisInput
from summarizer.reports.config_tree import write_config_tree
from summarizer.reports.run_reports import write_run_reports
from summarizer.results import TrainResult
from summarizer.run_files import (
    FAILED_FILE,
    FINAL_MODEL,
    mark_failed,
    path_in_run,
)
from summarizer.secrets import redact
from summarizer.trainer import assemble_trainer

log = logging.getLogger(__name__)

TRAIN_METRICS = ("train_runtime", "train_samples_per_second", "train_steps_per_second",
                 "train_loss", "epoch")


def run(cfg: DictConfig, run_dir: Path) -> TrainResult:
    """A training run in an existing run directory, its console mirrored into `train.log`.
    Of a distributed run's processes only the main one writes the files."""
    main = is_main_process()
    try:
        with tee_output(run_dir / "train.log") if main else nullcontext():
            final = train(cfg, run_dir)
    except BaseException as err:
        if main:
            mark_failed(run_dir, err)
        raise
    if main:
        (run_dir / FAILED_FILE).unlink(missing_ok=True)  # a resumed run that had failed before
    best = final["best_checkpoint"]  # relative to the run directory
    return TrainResult(
        run_dir=run_dir,
        final_model_path=run_dir / FINAL_MODEL,
        best_checkpoint=None if best is None else str(run_dir / best),
        eval_metrics={k: v for k, v in final.items() if k.startswith("eval_")},
        metrics=final,
    )


def train(cfg: DictConfig, run_dir: Path) -> dict:
    """Train, keep the best checkpoint, and write `final_model/`, `metrics.json` and predictions."""
    main = is_main_process()
    check_training_values(cfg)  # the execution whitelist too, before any target is imported
    check_trust_remote_code(cfg, command_line_overrides())
    if main:
        write_config_tree(cfg, run_dir)
    checkpoint = resolve_checkpoint(cfg.training.resume_from_checkpoint, run_dir)

    logger = instantiate(cfg.logger)
    data: SummarizationData = instantiate(cfg.data)
    train_frame, dev_frame = data.load("train"), data.load("dev")
    log.info("Data %s: %d train / %d dev rows from %s", data.name, len(train_frame),
             len(dev_frame), data.dir)
    # The step `summarizer.build_trainer` takes too, with the run's own files and objects.
    trainer = assemble_trainer(cfg, data, train_frame, dev_frame, run_dir, logger)
    with logger.run(run_dir, redact(to_container(cfg))) if main else nullcontext():
        result = trainer.train(resume_from_checkpoint=checkpoint)
        final = finish(trainer, result.metrics, dev_frame, data, run_dir, cfg)
        if main:
            logger.summarize(final, trainer.state.best_model_checkpoint)
    return final


def finish(trainer: Seq2SeqTrainer, train_metrics: dict, dev_frame: pd.DataFrame,
           data: SummarizationData, run_dir: Path, cfg: DictConfig) -> dict:
    """Score the best model on every dev row with `training.generation` and save everything a
    user opens after a run."""
    final_evaluation = trainer.final_evaluation
    metrics: RougeMetrics = final_evaluation.metrics
    trainer.compute_metrics = metrics
    # Every process takes part in the evaluation and in saving (FSDP and DeepSpeed gather the
    # weights); the main process writes the rest.
    evaluation = trainer.predict(final_evaluation.dataset, metric_key_prefix="eval",
                                 **final_evaluation.generation).metrics
    with directory_replaced_whole(run_dir / FINAL_MODEL, is_main_process()) as partial:
        save_final_model(trainer, partial, adapter_settings(cfg), prompt_settings(cfg.model),
                         trust_remote_code=cfg.model.get("trust_remote_code", False))
    final = {
        **evaluation,
        **{key: train_metrics[key] for key in TRAIN_METRICS if key in train_metrics},
        "best_checkpoint": path_in_run(trainer.state.best_model_checkpoint, run_dir),
        "best_metric": trainer.state.best_metric,
    }
    if not is_main_process():
        return final
    write_csv_atomic(pd.DataFrame({
        "fname": dev_frame[data.id_column],
        "prediction": metrics.last_predictions,
        "reference": dev_frame[data.summary_column],
    }), run_dir / "dev_predictions.csv")
    write_json_atomic(final, run_dir / "metrics.json")
    log.info("Final dev ROUGE-1/2/L %.2f / %.2f / %.2f, sum %.2f; model in %s",
             *(final[name] for name in EVAL_ROUGE_METRICS), run_dir / FINAL_MODEL)
    outputs = report_outputs(metrics.last_predictions, "the dev predictions")
    analysis = AnalysisInput(
        ids=dev_frame[data.id_column], predictions=metrics.last_predictions,
        references={data.summary_column: dev_frame[data.summary_column]},
        tokenizer=metrics.rouge_tokenizer, dialogues=dev_frame[data.text_column],
        topics=dev_frame[TOPIC_COLUMN] if TOPIC_COLUMN in dev_frame.columns else None)
    write_run_reports(trainer, final, data, run_dir, outputs, metrics.references, analysis)
    return final
