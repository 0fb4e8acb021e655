"""One readable log line per evaluation, next to transformers' progress bars and raw dicts."""

from __future__ import annotations

import logging

from transformers import TrainerCallback, TrainingArguments

from summarizer.metric_names import (
    EVAL_PREFIX,
    EVAL_ROUGE1,
    EVAL_ROUGE2,
    EVAL_ROUGE_SUM,
    EVAL_ROUGEL,
)
from summarizer.reports.history import best_evaluation, format_epoch

log = logging.getLogger(__name__)


def best_metric_key(args: TrainingArguments) -> str | None:
    """`metric_for_best_model` as it appears in evaluation logs (the trainer adds `eval_`)."""
    metric = args.metric_for_best_model
    if metric is None:
        return None
    return metric if metric.startswith("eval_") else f"eval_{metric}"


def evaluation_line(metrics: dict, epoch: float, epochs: float, metric: str | None,
                    best: dict | None) -> str:
    """`epoch 3/10: eval loss 4.1230, ROUGE-1/2/L 20.12 / 5.33 / 18.00, rouge_sum 43.45, new best`.

    `metrics` is this evaluation's (with its `step`); `best` is the best evaluation so far,
    this one included.
    """
    head = f"epoch {format_epoch(epoch)}/{format_epoch(epochs)}: "
    parts = [f"{head}eval loss {metrics['eval_loss']:.4f}"]
    if all(key in metrics for key in (EVAL_ROUGE1, EVAL_ROUGE2, EVAL_ROUGEL)):
        parts.append(f"ROUGE-1/2/L {metrics[EVAL_ROUGE1]:.2f} / {metrics[EVAL_ROUGE2]:.2f} / "
                     f"{metrics[EVAL_ROUGEL]:.2f}")
    if EVAL_ROUGE_SUM in metrics:
        parts.append(f"rouge_sum {metrics[EVAL_ROUGE_SUM]:.2f}")
    if metric is not None and best is not None:
        if best["step"] == metrics.get("step"):
            parts.append("new best")
        else:
            parts.append(f"best so far {best[metric]:.2f} ({metric.removeprefix(EVAL_PREFIX)}) "
                         f"at epoch {format_epoch(best['epoch'])}")
    return ", ".join(parts)


class EvaluationLogCallback(TrainerCallback):
    """Logs `evaluation_line` after each evaluation, judged against the whole run's history.

    The trainer appends the evaluation to `state.log_history` before this runs, and a resumed
    run restores the earlier evaluations, so "best so far" covers the run from its first epoch.
    """

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not state.is_world_process_zero or not metrics or "eval_loss" not in metrics:
            return
        metric = best_metric_key(args)
        best = None
        if metric is not None:
            best = best_evaluation(state.log_history, metric, args.greater_is_better)
        current = {**metrics, "step": state.global_step}
        log.info("%s", evaluation_line(current, state.epoch, args.num_train_epochs, metric, best))
