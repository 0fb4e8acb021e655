"""What a sweep leaves at its root, rewritten after every trial so an interrupted sweep has it:
`trials.csv`, `optimization_results.yaml`, the PNG plots and `summary.md`.

Everything is derived from the Optuna study (its trials and their user attributes), so a
study continued from storage summarises the earlier invocations' trials too.
"""

from __future__ import annotations

import io
import logging
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

# The Agg canvas directly, without pyplot: no global backend is switched for the process.
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from summarizer.atomic_files import write_bytes_atomic, write_text_atomic
from summarizer.metric_names import EVAL_ROUGE_METRICS, OBJECTIVE
from summarizer.reports.rerun import rerun_command

log = logging.getLogger(__name__)

HISTORY_PLOT = "optimization_history.png"
# Sweep parameters that get a plot of the objective against them, and their x-axis scale.
PARAM_PLOTS = {"training.learning_rate": ("objective_vs_learning_rate.png", "log"),
               "training.batch_size": ("objective_vs_batch_size.png", "linear")}


def trial_rows(trials: list, param_names: list[str]) -> pd.DataFrame:
    """One row per trial: number, job, params, state, reason, metrics, epochs, runtime, run dir."""
    rows = []
    for t in trials:
        attrs = t.user_attrs
        row: dict[str, Any] = {"trial": t.number, "job": attrs.get("job"), "state": t.state.name}
        row.update({name: t.params.get(name, attrs.get(name)) for name in param_names})
        row["value"] = t.value if t.value is not None else attrs.get("objective")
        row["failure_reason"] = attrs.get("failure_reason", "")
        row.update({m: attrs.get(m) for m in EVAL_ROUGE_METRICS})
        row["epochs"] = attrs.get("epochs", len(t.intermediate_values) or None)
        row["runtime_s"] = attrs.get("runtime_s")
        row["run_dir"] = attrs.get("run_dir", "")
        rows.append(row)
    return pd.DataFrame(rows, columns=["trial", "job", *param_names, "state", "value",
                                       "failure_reason", *EVAL_ROUGE_METRICS, "epochs", "runtime_s",
                                       "run_dir"])


def best_row(frame: pd.DataFrame) -> pd.Series | None:
    done = frame[(frame["state"] == "COMPLETE") & frame["value"].notna()]
    return None if done.empty else done.loc[done["value"].astype(float).idxmax()]


def write_summary(sweep_dir: Path, study, param_names: list[str], storage: str | None) -> None:
    frame = trial_rows(study.get_trials(deepcopy=False), param_names)
    best = best_row(frame)
    csv = io.StringIO()
    frame.to_csv(csv, index=False)
    write_text_atomic(csv.getvalue(), sweep_dir / "trials.csv")
    counts = frame["state"].value_counts().to_dict()
    results = {
        "name": "optuna",
        "study_name": study.study_name,
        "storage": without_password(storage),
        "direction": "maximize",
        "objective": OBJECTIVE,
        "n_trials": len(frame),
        "states": {k: int(v) for k, v in counts.items()},
        "best_trial": None if best is None else int(best["trial"]),
        "best_value": None if best is None else float(best["value"]),
        "best_params": None if best is None else {n: _plain(best[n]) for n in param_names},
        "best_run_dir": None if best is None else best["run_dir"],
    }
    write_text_atomic(yaml.safe_dump(results, sort_keys=False, allow_unicode=True),
                      sweep_dir / "optimization_results.yaml")
    try:
        plots = _write_plots(sweep_dir, frame, param_names)
    except Exception:  # a plot must never end a sweep
        log.warning("Could not draw the sweep plots", exc_info=True)
        plots = [name for name in (HISTORY_PLOT, *(f for f, _ in PARAM_PLOTS.values()))
                 if (sweep_dir / name).is_file()]
    write_text_atomic(_markdown(frame, best, param_names, plots), sweep_dir / "summary.md")


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def without_password(storage: str | None) -> str | None:
    return None if storage is None else re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", storage)


def _axes(title: str, xlabel: str) -> tuple[Figure, Any]:
    figure = Figure(figsize=(7, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.set(xlabel=xlabel, ylabel=f"dev {OBJECTIVE}", title=title)
    return figure, axes


def _scatter(axes, scored: pd.DataFrame, x: str) -> None:
    for state, marker in (("COMPLETE", "o"), ("PRUNED", "x")):
        part = scored[scored["state"] == state]
        axes.scatter(part[x].astype(float), part["value"].astype(float), marker=marker,
                     label=state.lower())


def _save(figure: Figure, path: Path) -> None:
    figure.legends or figure.axes[0].legend(loc="best")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    write_bytes_atomic(buffer.getvalue(), path)


def _write_plots(sweep_dir: Path, frame: pd.DataFrame, param_names: list[str]) -> list[str]:
    scored = frame[frame["state"].isin(["COMPLETE", "PRUNED"]) & frame["value"].notna()]
    figure, axes = _axes("Optimization history (dotted: failed trials)", "trial")
    _scatter(axes, scored, "trial")
    complete = scored[scored["state"] == "COMPLETE"].sort_values("trial")
    if not complete.empty:
        axes.step(complete["trial"], complete["value"].astype(float).cummax(), where="post",
                  color="tab:red", label="best so far")
    for trial in frame.loc[frame["state"] == "FAIL", "trial"]:
        axes.axvline(trial, color="grey", alpha=0.3, linestyle=":")
    _save(figure, sweep_dir / HISTORY_PLOT)
    written = [HISTORY_PLOT]
    for name in param_names:
        if name not in PARAM_PLOTS:
            continue
        filename, scale = PARAM_PLOTS[name]
        figure, axes = _axes(f"Objective against {name}", name)
        _scatter(axes, scored, name)
        if scale == "log" and not scored.empty and (scored[name].astype(float) > 0).all():
            axes.set_xscale("log")
        _save(figure, sweep_dir / filename)
        written.append(filename)
    return written


def _markdown(frame: pd.DataFrame, best: pd.Series | None, param_names: list[str],
              plots: list[str]) -> str:
    lines = ["# Sweep summary", ""]
    counts = frame["state"].value_counts()
    lines.append(f"{len(frame)} trials: " + ", ".join(f"{int(n)} {s.lower()}" for s, n in
                                                     counts.items()) + ".")
    lines.append("")
    if best is None:
        lines += ["No trial has completed yet.", ""]
    else:
        lines += [f"**Best trial {int(best['trial'])}**: eval_rouge_sum "
                  f"{float(best['value']):.2f} with "
                  + ", ".join(f"`{n}={_plain(best[n])}`" for n in param_names)
                  + f" ({best['run_dir']}).", ""]
        command = rerun_command(best["run_dir"])
        if command:
            lines += ["Repeat it as a single run:", "", "```bash", command, "```", ""]
    lines += ["| trial | " + " | ".join(param_names) + " | state | eval_rouge_sum | epochs | "
              "reason |", "|" + "---|" * (len(param_names) + 5)]
    for _, row in frame.iterrows():
        value = "" if row["value"] is None or _isnan(row["value"]) else f"{float(row['value']):.2f}"
        epochs = "" if row["epochs"] is None or _isnan(row["epochs"]) else str(int(row["epochs"]))
        lines.append(f"| {int(row['trial'])} | " + " | ".join(str(_plain(row[n])) for n in
                                                           param_names)
                     + f" | {row['state'].lower()} | {value} | {epochs} | "
                     + str(row["failure_reason"] or "").replace("|", "/")[:160] + " |")
    lines += ["", *[f"![{p}]({p})" for p in plots], ""]
    return "\n".join(lines)


def _isnan(value: Any) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False
