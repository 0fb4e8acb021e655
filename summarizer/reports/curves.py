"""`learning_curves.png`: losses against step and ROUGE against epoch, from the trainer's log."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from summarizer.atomic_files import write_bytes_atomic
from summarizer.metric_names import EVAL_ROUGE_METRICS, EVAL_ROUGEL, ROUGE_LABELS
from summarizer.reports.history import best_evaluation, evaluations, format_epoch, train_losses

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FILENAME = "learning_curves.png"


def _nothing_logged(axes, what: str) -> None:
    axes.text(0.5, 0.5, f"no {what} logged", ha="center", va="center", transform=axes.transAxes)


def learning_curves(log_history: Sequence[dict], metric: str | None, greater_is_better: bool,
                    title: str) -> Figure:
    # Imported here, not at the top: matplotlib adds a third of a second to every run's start,
    # and the curves are drawn only at its end. The Agg canvas directly, without pyplot: no
    # display is needed and no global backend is switched for the importing process.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    loss_axes, rouge_axes = figure.subplots(1, 2)
    figure.suptitle(title)
    train, evals = train_losses(log_history), evaluations(log_history)
    best = best_evaluation(log_history, metric, greater_is_better) if metric else None

    if train:
        loss_axes.plot([e["step"] for e in train], [e["loss"] for e in train], label="train loss")
    if evals:
        loss_axes.plot([e["step"] for e in evals], [e["eval_loss"] for e in evals], marker="o",
                       label="eval loss")
    if best is not None:
        loss_axes.axvline(best["step"], color="gray", linestyle="--",
                          label=f"best epoch ({format_epoch(best['epoch'])})")
    if train or evals:
        loss_axes.legend()
    else:
        _nothing_logged(loss_axes, "loss")
    loss_axes.set(xlabel="step", ylabel="loss", title="Loss")
    loss_axes.grid(alpha=0.3)

    rouge_keys = [key for key in EVAL_ROUGE_METRICS if any(key in e for e in evals)]
    for key in rouge_keys:
        points = [(e["epoch"], e[key]) for e in evals if key in e]
        # Dashed ROUGE-L stays visible where it equals ROUGE-1 (short summaries often do).
        rouge_axes.plot(*zip(*points, strict=True), marker="o", label=ROUGE_LABELS[key],
                        linestyle="--" if key == EVAL_ROUGEL else "-")
    if best is not None:
        rouge_axes.axvline(best["epoch"], color="gray", linestyle="--")
        if metric in rouge_keys:
            rouge_axes.plot(best["epoch"], best[metric], marker="*", markersize=16, color="crimson",
                            linestyle="none",
                            label=f"best {ROUGE_LABELS[metric]} {best[metric]:.2f} "
                                  f"(epoch {format_epoch(best['epoch'])})")
    if rouge_keys:
        rouge_axes.legend()
    else:
        _nothing_logged(rouge_axes, "ROUGE")
    rouge_axes.set(xlabel="epoch", ylabel="ROUGE F1 (0-100)", title="Dev ROUGE")
    rouge_axes.grid(alpha=0.3)
    return figure


def write_learning_curves(log_history: Sequence[dict], path: Path, metric: str | None,
                          greater_is_better: bool, title: str) -> Path:
    buffer = io.BytesIO()
    learning_curves(log_history, metric, greater_is_better, title).savefig(buffer, format="png")
    write_bytes_atomic(buffer.getvalue(), path)
    return path
