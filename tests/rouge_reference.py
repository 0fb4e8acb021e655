"""The tests' own ROUGE reference: rouge-score with a whitespace tokenizer defined here, so that
no expected value comes from the project's ROUGE code."""

from __future__ import annotations

import pytest
from rouge_score import rouge_scorer

TYPES = ("rouge1", "rouge2", "rougeL")


class SplitTokenizer:
    def tokenize(self, text):
        return text.split()


def expected(pred, ref, tokenizer=None):
    """F1 x 100 of one pair from a RougeScorer built here, plus rouge_sum."""
    scorer = rouge_scorer.RougeScorer(list(TYPES), tokenizer=tokenizer or SplitTokenizer())
    s = scorer.score(ref, pred)
    out = {t: 100 * s[t].fmeasure for t in TYPES}
    out["rouge_sum"] = sum(out.values())
    return out


def default_tokenizer_expected(pred, ref, stem):
    """rouge-score as English results are computed: its default tokenizer (no `tokenizer=`)."""
    scorer = rouge_scorer.RougeScorer(list(TYPES), use_stemmer=stem)
    s = scorer.score(ref, pred)
    out = {t: 100 * s[t].fmeasure for t in TYPES}
    out["rouge_sum"] = sum(out.values())
    return out


def mean_of(rows):
    out = {t: sum(r[t] for r in rows) / len(rows) for t in TYPES}
    out["rouge_sum"] = sum(out[t] for t in TYPES)
    return out


def close(a, b):
    assert set(a) == set(b)
    for k in a:
        assert a[k] == pytest.approx(b[k], abs=1e-9), k
