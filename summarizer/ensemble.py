"""Minimum Bayes risk (MBR) ensembles: one summary per row chosen from several models' candidates.

For each row, every candidate is scored with the project's ROUGE (`summarizer.rouge`, the data's
tokenizer mode) against each of the row's other candidates, and the candidate with the highest
mean `rouge_sum` (ROUGE-1 + ROUGE-2 + ROUGE-L F1, the metric runs are selected by) wins: the
summary the models agree on most. The choice needs no model, so it lives apart from inference;
`summarizer.api.predict_ensemble` generates the candidates one model at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import ListConfig

from summarizer.errors import SummarizerError
from summarizer.metric_names import ROUGE_METRICS, ROUGE_SUM
from summarizer.rouge import rouge, rouge_per_example
from summarizer.run_config import saved_data

log = logging.getLogger(__name__)

METHODS = ("mbr",)
# What the report says the choice maximised.
UTILITY = f"mean {ROUGE_SUM} against the row's other candidates"

# Per model, per row: its candidates, best first.
Candidates = list[list[str]]


@dataclass
class EnsembleResult:
    """The chosen summaries and what they were chosen from."""

    summaries: list[str]
    # `candidates[model][row]`: that model's candidates for the row, best first.
    candidates: list[Candidates]
    # `chosen[row]`: (model, beam) of the chosen candidate.
    chosen: list[tuple[int, int]]


def model_runs(run: Any) -> list[str]:
    """`run=` as a list of runs: one directory, or the list `'run=[<dir a>,<dir b>]'` gives."""
    return [str(item) for item in run] if isinstance(run, (list, tuple, ListConfig)) else [
        str(run)]


def warn_if_folds_overlap(runs: Sequence[str], split: str) -> None:
    """k-fold runs of other folds trained on the rows of the first run's dev: say that its
    scores flatter the ensemble."""
    if split not in ("train", "dev"):
        return
    folds = {(data.get("folds"), data.get("fold"))
             for data in (saved_data(run) or {} for run in runs)}
    if len(folds) > 1 and any(count is not None for count, _ in folds):
        log.warning("The runs hold out different k-fold folds: the %s rows of the first run "
                    "were training rows of others, so the ensemble's scores on them are too "
                    "high. Compare k-fold ensembles on a split none of them trained on.", split)


def check_ensemble(method: str | None, models: int, per_model: int) -> None:
    """An ensemble needs a method that exists and at least two candidates per row; several
    models need an ensemble to be combined."""
    if method is None:
        if models > 1:
            raise SummarizerError(
                f"run= names {models} models but no ensemble: set ensemble=mbr to choose each "
                "row's summary among their candidates, or give one run.")
        if per_model > 1:
            raise SummarizerError(
                f"ensemble_candidates={per_model} needs ensemble=mbr to choose among them.")
        return
    if method not in METHODS:
        raise SummarizerError(f"ensemble={method} is invalid: use {' or '.join(METHODS)}.")
    if per_model < 1:
        raise SummarizerError(f"ensemble_candidates={per_model} is invalid: use 1 or more.")
    if models * per_model < 2:
        raise SummarizerError(
            f"ensemble={method} has one candidate per row to choose from: give two runs or "
            "more ('run=[<dir a>,<dir b>]'), or ensemble_candidates=4 for each model's 4 best "
            "beams.")


def mbr_choices(rows: Sequence[Sequence[str]], tokenizer: str) -> list[int]:
    """Per row, the index of the candidate with the highest mean `rouge_sum` against the row's
    other candidates; ties go to the earlier candidate.

    F1 is symmetric, so each pair of candidates is scored once.
    """
    pairs = [(row, first, second) for row, texts in enumerate(rows)
             for first in range(len(texts)) for second in range(first + 1, len(texts))]
    scores = rouge_per_example([rows[row][first] for row, first, _ in pairs],
                               [rows[row][second] for row, _, second in pairs],
                               tokenizer=tokenizer)
    totals = [[0.0] * len(texts) for texts in rows]
    for (row, first, second), score in zip(pairs, scores, strict=True):
        totals[row][first] += score[ROUGE_SUM]
        totals[row][second] += score[ROUGE_SUM]
    # Every candidate of a row has the same number of others: totals rank as the means do.
    return [max(range(len(row)), key=lambda index, row=row: (row[index], -index))
            for row in totals]


def select(candidates: Sequence[Candidates], tokenizer: str) -> EnsembleResult:
    """The MBR choice per row among all models' candidates (`candidates[model][row]`)."""
    rows = len(candidates[0])
    if any(len(model) != rows for model in candidates):
        raise ValueError("every model needs candidates for every row")
    owners = [[(model, beam) for model, texts in enumerate(candidates)
               for beam in range(len(texts[row]))] for row in range(rows)]
    pooled = [[candidates[model][row][beam] for model, beam in owners[row]]
              for row in range(rows)]
    picks = mbr_choices(pooled, tokenizer)
    return EnsembleResult(summaries=[pooled[row][pick] for row, pick in enumerate(picks)],
                          candidates=[list(model) for model in candidates],
                          chosen=[owners[row][pick] for row, pick in enumerate(picks)])


def oracle(candidates: Sequence[Candidates], references: Sequence[str],
           tokenizer: str) -> list[str]:
    """Per row, the candidate closest to the reference (highest `rouge_sum`): the best any
    choice among these candidates could do."""
    pooled = [[text for model in candidates for text in model[row]]
              for row in range(len(references))]
    scores = rouge_per_example([text for texts in pooled for text in texts],
                               [reference for texts, reference in zip(pooled, references,
                                                                      strict=True)
                                for _ in texts], tokenizer=tokenizer)
    best, start = [], 0
    for texts in pooled:
        row = scores[start:start + len(texts)]
        best.append(texts[max(range(len(texts)), key=lambda index, row=row: (
            row[index][ROUGE_SUM], -index))])
        start += len(texts)
    return best


def report(result: EnsembleResult, references: Sequence[str], tokenizer: str,
           runs: Sequence[str | Path]) -> dict[str, Any]:
    """ROUGE of each model alone (its best candidate), of the ensemble and of the oracle."""
    models = []
    for index, (run, candidates) in enumerate(zip(runs, result.candidates, strict=True)):
        models.append({"run": str(run),
                       "rouge": rouge([texts[0] for texts in candidates], references,
                                      tokenizer=tokenizer),
                       "chosen_rows": sum(model == index for model, _ in result.chosen)})
    return {
        "method": "mbr",
        "utility": UTILITY,
        "tokenizer": tokenizer,
        "rows": len(references),
        "candidates_per_model": max(len(texts) for model in result.candidates
                                    for texts in model),
        "models": models,
        "ensemble": rouge(result.summaries, references, tokenizer=tokenizer),
        "oracle": rouge(oracle(result.candidates, references, tokenizer), references,
                        tokenizer=tokenizer),
    }


def log_report(scores: dict[str, Any]) -> None:
    def line(values: dict[str, float]) -> str:
        return " / ".join(f"{values[name]:.2f}" for name in ROUGE_METRICS)

    for model in scores["models"]:
        log.info("ROUGE-1/2/L/sum %s of %s alone (chosen for %d rows)", line(model["rouge"]),
                 model["run"], model["chosen_rows"])
    log.info("ROUGE-1/2/L/sum %s of the MBR ensemble, %s of the oracle (the best candidate "
             "per row)", line(scores["ensemble"]), line(scores["oracle"]))


def generate_all(runs: Sequence[Path], generate: Callable[[Path], Candidates]) -> list[Candidates]:
    """Each run's candidates, one run after the other (`generate` loads and frees its model)."""
    candidates = []
    for number, run in enumerate(runs, start=1):
        log.info("Ensemble model %d of %d: %s", number, len(runs), run)
        candidates.append(generate(run))
    return candidates
