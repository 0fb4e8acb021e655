"""The project's one ROUGE implementation (rouge-score with a Hangul-preserving tokenizer)."""

from __future__ import annotations

from collections.abc import Sequence

from rouge_score import rouge_scorer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


class WhitespaceTokenizer:
    """Split on whitespace; rouge-score's default would delete every non-[a-z0-9] character."""

    def tokenize(self, text: str) -> list[str]:
        return text.split()


def rouge(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean F1 (0-100) of ROUGE-1/2/L over aligned pairs, plus their sum as ``rouge_sum``."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=WhitespaceTokenizer())
    totals = {t: 0.0 for t in ROUGE_TYPES}
    for pred, ref in zip(predictions, references):
        scores = scorer.score(ref, pred)
        for t in ROUGE_TYPES:
            totals[t] += scores[t].fmeasure
    n = max(len(predictions), 1)
    out = {t: 100.0 * totals[t] / n for t in ROUGE_TYPES}
    out["rouge_sum"] = sum(out[t] for t in ROUGE_TYPES)
    return out
