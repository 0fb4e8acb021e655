"""`summary.md`: the few lines to read after a run, printed at its end too."""

from __future__ import annotations

from summarizer.metric_names import ROUGE_LABELS
from summarizer.reports.analysis import FILENAME as ANALYSIS
from summarizer.reports.curves import FILENAME as CURVES
from summarizer.reports.facts import RunFacts
from summarizer.reports.history import format_epoch
from summarizer.reports.rerun import shown_command

FILENAME = "summary.md"


def format_duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{seconds:.1f} s"


def best_epoch_text(facts: RunFacts) -> str:
    best = facts.best
    if best is None:
        return "no evaluation logged"
    trained = facts.metrics.get("epoch")
    text = f"{format_epoch(best['epoch'])}"
    if trained is not None:
        text += f" of {format_epoch(trained)} trained"
    checkpoint = facts.metrics.get("best_checkpoint")
    if checkpoint:
        text += f" (`{checkpoint.rsplit('/', 1)[-1]}`)"
    return text


def metric_rows(metrics: dict) -> list[tuple[str, str]]:
    """The final dev metrics present in `metrics`, as (name, formatted value) rows."""
    rows = [(ROUGE_LABELS[key], f"{metrics[key]:.2f}") for key in ROUGE_LABELS if key in metrics]
    if "eval_loss" in metrics:
        rows.append(("eval loss", f"{metrics['eval_loss']:.4f}"))
    if "eval_gen_len" in metrics:
        rows.append(("generated length (tokens)", f"{metrics['eval_gen_len']:.1f}"))
    return rows


def summary_markdown(facts: RunFacts) -> str:
    m = facts.metrics
    rows = [("best epoch", best_epoch_text(facts)), *metric_rows(m),
            ("final model", f"`{facts.final_model}`")]
    if "train_runtime" in m:
        rows.append(("training time", format_duration(m["train_runtime"])))
    if "train_samples_per_second" in m:
        rows.append(("throughput", f"{m['train_samples_per_second']:.1f} samples/s"))
    if facts.outputs is not None:
        rows.append(("distinct predictions", facts.outputs.numbers))
    # Written just before this summary; a page that failed is left out.
    page = (f"`{ANALYSIS}` (per-row ROUGE, the worst and best rows, by topic and length), "
            if (facts.run_dir / ANALYSIS).is_file() else "")
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    # Above the table: a run whose summaries are all one sentence must not read as a result.
    warning = f"**Warning:** {facts.outputs.warning}\n\n" if (
        facts.outputs is not None and facts.outputs.warning) else ""
    return f"""# Run summary: {facts.name}

Dev metrics of the final (best) model on {facts.dev_rows} dev rows.

{warning}| | |
|---|---|
{table}

Summaries of the test split with this model (add `split=dev` to score the dev split,
`"text='<dialogue>'"` for one dialogue):

```bash
{facts.predict_command}
```

This training run again, from its own overrides (`.hydra/overrides.yaml`):
{shown_command(facts.command, fenced=False)}

Run directory `{facts.run_dir}`: {page}`{CURVES}`, `metrics.json`, `dev_predictions.csv`,
`train.log`, `config_tree.txt`; model card in `final_model/README.md`.
"""
