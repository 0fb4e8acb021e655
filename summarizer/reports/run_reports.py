"""Writing the end-of-run reports, after `final_model/` and `metrics.json` are saved."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from transformers import Seq2SeqTrainer

from summarizer.atomic_files import write_text_atomic
from summarizer.data.module import SummarizationData
from summarizer.output_checks import OutputCheck
from summarizer.reports import curves, model_card, summary
from summarizer.reports.analysis import FILENAME as ANALYSIS
from summarizer.reports.analysis import AnalysisInput
from summarizer.reports.analysis_page import write_analysis_page
from summarizer.reports.facts import RunFacts, run_facts

log = logging.getLogger(__name__)


def write_curves(facts: RunFacts) -> None:
    curves.write_learning_curves(facts.log_history, facts.run_dir / curves.FILENAME, facts.metric,
                                 facts.greater_is_better, title=facts.name)


def write_summary(facts: RunFacts) -> None:
    text = summary.summary_markdown(facts)
    write_text_atomic(text, facts.run_dir / summary.FILENAME)
    log.info("Run summary (%s):\n%s", facts.run_dir / summary.FILENAME, text)


def write_model_card(facts: RunFacts) -> None:
    write_text_atomic(model_card.model_card_markdown(facts),
                      facts.final_model / model_card.FILENAME)


def write_run_reports(trainer: Seq2SeqTrainer, metrics: dict, data: SummarizationData,
                      run_dir: Path, outputs: OutputCheck | None = None,
                      references: Sequence[str] = (), analysis: AnalysisInput | None = None,
                      ) -> None:
    """`analysis.html`, learning curves, `summary.md` and the model card, each on its own;
    `outputs`: the numbers of the final dev predictions; `references`: the dev summaries (their
    language goes on the model card); `analysis`: the dev rows with their predictions.

    A report that fails is logged and skipped: the run's model and metrics are already saved, and
    a sweep must not lose a trial over a plot.
    """
    if analysis is not None:
        # Before the summary, which links the page when it is there.
        try:
            write_analysis_page(analysis, trainer.args.run_name or run_dir.name,
                                run_dir / ANALYSIS)
        except Exception:
            log.warning("Could not write %s; the model and metrics.json are saved", ANALYSIS,
                        exc_info=True)
    try:
        facts = run_facts(trainer, metrics, data, run_dir, outputs, references)
    except Exception:
        log.warning("Could not gather the run's facts; no reports written", exc_info=True)
        return
    for name, write in (("learning curves", write_curves), ("summary", write_summary),
                        ("model card", write_model_card)):
        try:
            write(facts)
        except Exception:
            log.warning("Could not write the %s; the model and metrics.json are saved", name,
                        exc_info=True)
