"""What a decoding search leaves in `<run dir>/tune/`: `trials.csv`, `summary.md` and
`decoding_search.png`, rewritten whole from the study after every invocation (so they cover the
trials of earlier invocations too)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from summarizer.atomic_files import write_bytes_atomic, write_text_atomic
from summarizer.decoding_search import trial_settings
from summarizer.metric_names import ROUGE_METRICS, ROUGE_SUM, ROUGE_TYPES

TRIALS_FILE = "trials.csv"
SUMMARY_FILE = "summary.md"
PLOT_FILE = "decoding_search.png"
# The part of dev the trials are scored on (`scores` holds it first, then the held-out part).
TUNING_PART = "tuning"
# The settings the right-hand plot puts on its x axis, the first one searched.
PLOTTED = ("num_beams", "length_penalty", "max_new_tokens")


def trial_rows(study: optuna.Study, parameters: list[str]) -> pd.DataFrame:
    """One row per trial: number, state, settings, ROUGE on the tuning part, seconds, and why a
    failed trial failed."""
    rows = []
    for trial in study.trials:
        attrs = trial.user_attrs
        row: dict[str, Any] = {"trial": trial.number, "state": trial.state.name}
        settings = trial_settings(trial)
        row.update({name: settings.get(name) for name in parameters})
        row.update({name: attrs.get(name) for name in ROUGE_METRICS})
        row["seconds"] = attrs.get("seconds")
        row["failure_reason"] = attrs.get("failure_reason", "")
        rows.append(row)
    return pd.DataFrame(rows, columns=["trial", "state", *parameters, *ROUGE_METRICS, "seconds",
                                       "failure_reason"])


def write_reports(directory: Path, study: optuna.Study, parameters: list[str],
                  best: dict[str, Any], scores: dict[str, dict[str, dict[str, float]]],
                  rows: dict[str, int], command: str) -> None:
    """trials.csv, the plot and summary.md. `scores[part][default|tuned]` are ROUGE scores,
    `rows[part]` the part's row count, `command` what `predict` to run with the settings."""
    frame = trial_rows(study, parameters)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    write_text_atomic(buffer.getvalue(), directory / TRIALS_FILE)
    write_plot(frame, parameters, scores[TUNING_PART]["default"][ROUGE_SUM],
               directory / PLOT_FILE)
    write_text_atomic(summary_markdown(frame, best, scores, rows, command),
                      directory / SUMMARY_FILE)


def summary_markdown(frame: pd.DataFrame, best: dict[str, Any],
                     scores: dict[str, dict[str, dict[str, float]]], rows: dict[str, int],
                     command: str) -> str:
    counts = frame["state"].value_counts()
    seconds = frame.loc[frame["state"] == "COMPLETE", "seconds"].dropna()
    lines = ["# Decoding search", "",
             f"{len(frame)} trials: " + ", ".join(f"{int(n)} {state.lower()}"
                                                  for state, n in counts.items())
             + (f"; {seconds.mean():.1f} s per completed trial." if len(seconds) else "."), "",
             "Best settings (`generation.yaml`):", ""]
    lines += [f"- `{name}`: {_shown(value)}" for name, value in sorted(best.items())]
    lines += ["", f"Predict with them: `{command}`", "",
              "ROUGE F1 (0-100) of the run's own settings (default) and the best ones (tuned). "
              "Trials were scored on the tuning part only; the held-out part was scored for "
              "these two settings alone, so its gain is the one to expect on new data.", "",
              "| part | rows | settings | " + " | ".join(ROUGE_TYPES) + f" | {ROUGE_SUM} |",
              "|---|---|---|" + "---|" * len(ROUGE_METRICS)]
    for part, by_settings in scores.items():
        for settings, metrics in by_settings.items():
            lines.append(f"| {part} | {rows[part]} | {settings} | "
                         + " | ".join(f"{metrics[name]:.2f}" for name in ROUGE_METRICS) + " |")
        gain = by_settings["tuned"][ROUGE_SUM] - by_settings["default"][ROUGE_SUM]
        lines.append(f"| {part} | {rows[part]} | gain | | | | {gain:+.2f} |")
    on_tuning = scores[TUNING_PART]
    if on_tuning["tuned"][ROUGE_SUM] <= on_tuning["default"][ROUGE_SUM]:
        lines += ["", "No trial beat the run's own settings on the tuning part: keep them (predict "
                  "without generation=tuned), or search more trials or other ranges."]
    failed = frame[frame["state"] == "FAIL"]
    if not failed.empty:
        lines += ["", "Failed trials:", ""]
        lines += [f"- trial {int(row.trial)}: {row.failure_reason}" for row in
                  failed.itertuples()]
    lines += ["", f"![decoding search]({PLOT_FILE})", ""]
    return "\n".join(lines)


def _shown(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def write_plot(frame: pd.DataFrame, parameters: list[str], default: float, path: Path) -> None:
    """The ROUGE sum of each trial against its number (best so far as a line, failed trials as
    dotted lines, the run's own settings' score `default` dashed) and against the first
    searched of `PLOTTED`."""
    # The Agg canvas directly, without pyplot: no global backend is switched for the process.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    history, against = figure.subplots(1, 2)
    figure.suptitle("Decoding search: ROUGE sum on the tuning part of dev")
    done = frame[frame["state"] == "COMPLETE"].sort_values("trial")
    values = done[ROUGE_SUM].astype(float)
    history.scatter(done["trial"], values, label="trial")
    if not done.empty:
        history.step(done["trial"], values.cummax(), where="post", color="tab:red",
                     label="best so far")
    history.axhline(default, color="grey", linestyle="--", label="run's own settings")
    for trial in frame.loc[frame["state"] == "FAIL", "trial"]:
        history.axvline(trial, color="grey", alpha=0.4, linestyle=":")
    history.set(xlabel="trial", ylabel=ROUGE_SUM, title="History (dotted: failed trials)")
    history.legend(loc="best")
    history.grid(alpha=0.3)
    plotted = next((name for name in PLOTTED if name in parameters), None)
    if plotted is None or done.empty:
        against.text(0.5, 0.5, "no setting searched" if plotted is None else "no trial done",
                     ha="center", va="center", transform=against.transAxes)
    else:
        against.scatter(done[plotted].astype(float), values)
        against.set(xlabel=plotted, ylabel=ROUGE_SUM, title=f"Against {plotted}")
        against.grid(alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    write_bytes_atomic(buffer.getvalue(), path)

