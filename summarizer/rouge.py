"""The project's one ROUGE implementation (see docs/rouge.md for the definition).

Scores are F1 on a 0-100 scale for ROUGE-1, ROUGE-2 and ROUGE-L (sentence-level LCS), plus
``rouge_sum``, their sum. The ``whitespace``, ``char`` and ``morpheme`` modes are computed with
``rouge_score.rouge_scorer.RougeScorer`` and a tokenizer object that keeps Hangul (rouge-score's
default tokenizer keeps only ``[a-z0-9]`` and must never be used for Korean). The ``english`` and
``english_stem`` modes are that default tokenizer, for English data and numbers comparable with
published English results. The ``compat`` mode reproduces the numbers of the ``rouge`` package
(pltrdy) and is implemented here.

Every public function scores pairs through one ``_PairScorer``, so the scalar ``rouge()``,
``rouge_per_example()`` and ``rouge_multi()`` always agree.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

from summarizer.metric_names import ROUGE_METRICS, ROUGE_SUM, ROUGE_TYPES

# rouge-score's default tokenizer, without and with stemming: for English data only.
ENGLISH_MODES = ("english", "english_stem")
TOKENIZER_MODES = ("whitespace", "char", "morpheme", "compat", *ENGLISH_MODES)
DEFAULT_TOKENIZER = "whitespace"

# Anonymisation tags of the dialogue data: #Person1#, #PhoneNumber#, #Address#, ...
TAG_PATTERN = re.compile(r"#[^#\s]+#")
# Hangul jamo, compatibility jamo and syllables: what the English modes would delete.
HANGUL_PATTERN = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")

log = logging.getLogger(__name__)

Scores = dict[str, float]


# --------------------------------------------------------------------------- tokenizers


class WhitespaceTokenizer:
    """Split on whitespace; punctuation stays attached to its word (``했다.`` != ``했다``)."""

    def tokenize(self, text: str) -> list[str]:
        return text.split()


class CharTokenizer:
    """One token per character; whitespace is dropped."""

    def tokenize(self, text: str) -> list[str]:
        return [c for c in text if not c.isspace()]


_KIWI: Any = None


def _get_kiwi() -> Any:
    """The process-wide ``kiwipiepy.Kiwi`` instance, created on first use (about 1 s)."""
    global _KIWI
    if _KIWI is None:
        from kiwipiepy import Kiwi  # imported lazily: only the morpheme mode needs it

        _KIWI = Kiwi()
    return _KIWI


class MorphemeTokenizer:
    """Korean morphemes (kiwipiepy surface forms); ``#...#`` tags stay single tokens.

    Tags are passed to kiwi as pre-tokenized spans, so ``#Person1#은`` becomes ``#Person1#``,
    ``은`` (kiwi alone would produce ``#Person1``, ``#은``). Results are memoised per instance,
    which matters when the same prediction is scored against several references.
    """

    def __init__(self) -> None:
        self._kiwi = _get_kiwi()
        self._cache: dict[str, list[str]] = {}

    @staticmethod
    def _tag_spans(text: str) -> list[tuple[int, int, str]]:
        return [(m.start(), m.end(), "NNP") for m in TAG_PATTERN.finditer(text)]

    def tokenize(self, text: str) -> list[str]:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        tokens = [t.form for t in self._kiwi.tokenize(text, pretokenized=self._tag_spans(text))]
        self._cache[text] = tokens
        return tokens

    def prepare(self, texts: Iterable[str]) -> None:
        """Tokenize ``texts`` in one batch (kiwi's worker threads) and keep the results."""
        todo = list(dict.fromkeys(t for t in texts if t and t not in self._cache))
        if len(todo) < 2 or (getattr(self._kiwi, "num_workers", 1) or 1) < 2:
            return  # single-threaded kiwi cannot batch; tokenize() handles each text
        results = self._kiwi.tokenize(todo, pretokenized=self._tag_spans)
        for text, tokens in zip(todo, results, strict=True):
            self._cache[text] = [t.form for t in tokens]


class EnglishTokenizer:
    """rouge-score's default tokenizer, so that English numbers match published ones.

    It lower-cases, replaces every character outside ``[a-z0-9]`` by a space and, with
    ``stem``, Porter-stems the words of more than 3 characters: exactly what
    ``RougeScorer(types, use_stemmer=stem)`` does without a ``tokenizer=`` argument (its own
    code runs here). It deletes Hangul: Korean text is scored on its tags and digits alone (two
    identical Korean sentences can score 0, two unrelated ones sharing a ``3`` score 100), so
    ``prepare`` warns when the texts to score contain Hangul.
    """

    def __init__(self, stem: bool) -> None:
        from rouge_score.tokenizers import DefaultTokenizer  # pulls in nltk: English modes only

        self._default = DefaultTokenizer(use_stemmer=stem)
        self._mode = "english_stem" if stem else "english"

    def tokenize(self, text: str) -> list[str]:
        return self._default.tokenize(text)

    def prepare(self, texts: Iterable[str]) -> None:
        """Warn (once per call of the public functions) about texts with Hangul: a user who
        picked this mode for Korean data would otherwise get near-zero scores without a word."""
        texts = list(texts)
        korean = sum(1 for text in texts if HANGUL_PATTERN.search(text))
        if korean:
            log.warning(
                "ROUGE tokenizer %s deletes every character outside [a-z0-9], but %d of the %d "
                "predictions and references to score contain Hangul: their scores are "
                "meaningless. For Korean use whitespace (the default), char or morpheme "
                "(data.rouge_tokenizer in training and prediction, tokenizer= in "
                "summarizer.score).", self._mode, korean, len(texts))


def make_tokenizer(mode: str = DEFAULT_TOKENIZER) -> Any:
    """The rouge-score tokenizer object for ``mode`` (not available for ``compat``)."""
    if mode == "whitespace":
        return WhitespaceTokenizer()
    if mode == "char":
        return CharTokenizer()
    if mode == "morpheme":
        return MorphemeTokenizer()
    if mode in ENGLISH_MODES:
        return EnglishTokenizer(stem=mode == "english_stem")
    if mode == "compat":
        raise ValueError("the compat mode has its own tokenization and no tokenizer object")
    raise ValueError(
        f"unknown ROUGE tokenizer {mode!r}; expected one of {', '.join(TOKENIZER_MODES)}"
    )


# --------------------------------------------------------------------------- compat mode
#
# Reproduces ``rouge.Rouge().get_scores(hyp, ref)`` of the ``rouge`` package 1.0.1 (pltrdy):
# - sentences: ``[" ".join(s.split()) for s in text.split(".") if len(s) > 0]``;
#   words: every sentence split on a single space, all sentences concatenated;
# - ROUGE-N: UNIQUE n-grams (sets) of the concatenated words; P = |H & R| / |H|,
#   R = |H & R| / |R|;
# - ROUGE-L: summary level. For every (reference sentence, hypothesis sentence) pair one LCS is
#   reconstructed (same tie-breaking as the package) and the SET of its words is added to a
#   union; LCS count = size of that union, divided by the number of unique words of the
#   reference (recall) and of the hypothesis (precision);
# - F1 = 2PR / (P + R + 1e-8).
# The package raises ValueError when a side has no sentence; here such pairs score 0.


def _compat_sentences(text: str) -> list[str]:
    return [" ".join(s.split()) for s in text.split(".") if len(s) > 0]


def _compat_f1(hyp_count: int, ref_count: int, overlap: int) -> float:
    precision = overlap / hyp_count if hyp_count else 0.0
    recall = overlap / ref_count if ref_count else 0.0
    return 2.0 * ((precision * recall) / (precision + recall + 1e-8))


def _compat_ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _compat_lcs_words(ref: list[str], hyp: list[str]) -> set[str]:
    """Words of the LCS that the package reconstructs (its backtracking order, no recursion)."""
    n, m = len(ref), len(hyp)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        row, prev, x = table[i], table[i - 1], ref[i - 1]
        for j in range(1, m + 1):
            if x == hyp[j - 1]:
                row[j] = prev[j - 1] + 1
            else:
                up, left = prev[j], row[j - 1]
                row[j] = up if up > left else left
    words: set[str] = set()
    i, j = n, m
    while i > 0 and j > 0:
        if ref[i - 1] == hyp[j - 1]:
            words.add(ref[i - 1])
            i -= 1
            j -= 1
        elif table[i - 1][j] > table[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return words


def _compat_score_pair(prediction: str, reference: str) -> Scores:
    hyp_sents = _compat_sentences(prediction)
    ref_sents = _compat_sentences(reference)
    hyp_split = [s.split(" ") for s in hyp_sents]
    ref_split = [s.split(" ") for s in ref_sents]
    hyp_words = [w for s in hyp_split for w in s]
    ref_words = [w for s in ref_split for w in s]
    if not any(hyp_words) or not any(ref_words):
        return _zero_scores()
    out: Scores = {}
    for name, n in (("rouge1", 1), ("rouge2", 2)):
        hyp_ngrams = _compat_ngrams(hyp_words, n)
        ref_ngrams = _compat_ngrams(ref_words, n)
        overlap = len(hyp_ngrams & ref_ngrams)
        out[name] = 100.0 * _compat_f1(len(hyp_ngrams), len(ref_ngrams), overlap)
    union: set[str] = set()
    hyp_sets = [set(s) for s in hyp_split]
    for ref_s in ref_split:
        ref_set = set(ref_s)
        for hyp_s, hyp_set in zip(hyp_split, hyp_sets, strict=True):
            common = ref_set & hyp_set
            if common <= union:  # the LCS words are a subset of `common`: nothing new
                continue
            union |= _compat_lcs_words(ref_s, hyp_s)
    out["rougeL"] = 100.0 * _compat_f1(len(set(hyp_words)), len(set(ref_words)), len(union))
    return _with_sum(out)


# --------------------------------------------------------------------------- scoring


def _zero_scores() -> Scores:
    return {name: 0.0 for name in ROUGE_METRICS}


def _with_sum(out: Scores) -> Scores:
    """`out` with ROUGE-1 + ROUGE-2 + ROUGE-L added as `rouge_sum`."""
    out[ROUGE_SUM] = sum(out[name] for name in ROUGE_TYPES)
    return out


def _check_text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {type(value).__name__}: {value!r}")
    return value


class _PairScorer:
    """Scores ``(prediction, reference)`` pairs; one instance per public call.

    One ``RougeScorer`` (and one tokenizer object) per call, never one per pair. An empty
    prediction or reference, or a pair where the tokenizer yields no token on either side,
    scores 0 on every metric.
    """

    def __init__(self, tokenizer: str) -> None:
        if tokenizer not in TOKENIZER_MODES:
            raise ValueError(
                f"unknown ROUGE tokenizer {tokenizer!r}; "
                f"expected one of {', '.join(TOKENIZER_MODES)}"
            )
        # Imported on first use: it pulls in nltk, which a training run needs only at its first
        # evaluation, not before its first step.
        from rouge_score import rouge_scorer

        self.mode = tokenizer
        self._tokenizer = None if tokenizer == "compat" else make_tokenizer(tokenizer)
        self._scorer = (
            None
            if self._tokenizer is None
            else rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=self._tokenizer)
        )

    def prepare(self, texts: Iterable[Any]) -> None:
        """Show the tokenizer every text about to be scored: the morpheme one batches its work,
        the English ones warn about Hangul."""
        prepare = getattr(self._tokenizer, "prepare", None)
        if prepare is not None:
            prepare(t for t in texts if isinstance(t, str) and t.strip())

    def __call__(self, prediction: Any, reference: Any) -> Scores:
        prediction = _check_text(prediction, "prediction")
        reference = _check_text(reference, "reference")
        if not prediction.strip() or not reference.strip():
            return _zero_scores()
        if self._scorer is None:
            return _compat_score_pair(prediction, reference)
        result = self._scorer.score(reference, prediction)  # rouge-score: score(target, prediction)
        return _with_sum({t: 100.0 * result[t].fmeasure for t in ROUGE_TYPES})


def _check_lengths(predictions: Sequence[Any], references: Sequence[Any]) -> None:
    if isinstance(predictions, str) or isinstance(references, str):
        raise TypeError("predictions and references must be sequences of strings, not a string")
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")


def _mean(rows: Sequence[Scores]) -> Scores:
    """Mean of each ROUGE type over ``rows``; ``rouge_sum`` is the sum of the three means."""
    n = len(rows)
    return _with_sum({t: (sum(r[t] for r in rows) / n if n else 0.0) for t in ROUGE_TYPES})


def rouge_per_example(
    predictions: Sequence[str],
    references: Sequence[str],
    *,
    tokenizer: str = DEFAULT_TOKENIZER,
) -> list[Scores]:
    """F1 (0-100) of ROUGE-1/2/L and ``rouge_sum`` for every aligned (prediction, reference)."""
    _check_lengths(predictions, references)
    score_pair = _PairScorer(tokenizer)
    score_pair.prepare([*predictions, *references])
    return [score_pair(p, r) for p, r in zip(predictions, references, strict=True)]


def rouge(
    predictions: Sequence[str],
    references: Sequence[str],
    *,
    tokenizer: str = DEFAULT_TOKENIZER,
) -> Scores:
    """Mean F1 (0-100) of ROUGE-1/2/L over aligned pairs, plus their sum as ``rouge_sum``.

    No pairs at all gives 0 for every metric.
    """
    return _mean(rouge_per_example(predictions, references, tokenizer=tokenizer))


def rouge_multi(
    predictions: Sequence[str],
    references_lists: Sequence[Sequence[str]],
    *,
    tokenizer: str = DEFAULT_TOKENIZER,
) -> dict[str, Any]:
    """Multi-reference ROUGE. ``references_lists[i]`` holds the k references of example i.

    Every example must have the same number k >= 1 of references. Returns
    ``{"max": scores, "mean": scores, "per_reference": [scores] * k}`` where

    - ``per_reference[j]``: the mean over examples against the j-th reference of each example;
    - ``max``: for every example and ROUGE type the best F1 over its references, then averaged
      (the three types may come from different references of the same example);
    - ``mean``: for every example and ROUGE type the mean F1 over its references, then averaged
      (equal to the mean of ``per_reference``).

    In all three ``rouge_sum`` is the sum of the three averaged ROUGE types. With k = 1 all
    three agree with ``rouge()``.
    """
    _check_lengths(predictions, references_lists)
    ks = set()
    for i, refs in enumerate(references_lists):
        if isinstance(refs, str):
            raise TypeError(
                f"references_lists[{i}] is a string; give a list of references per example"
            )
        ks.add(len(refs))
    if len(ks) > 1:
        raise ValueError(f"examples have different numbers of references: {sorted(ks)}")
    k = ks.pop() if ks else 1
    if k < 1:
        raise ValueError("every example needs at least one reference")

    score_pair = _PairScorer(tokenizer)
    score_pair.prepare([*predictions, *(r for refs in references_lists for r in refs)])
    columns = [
        [score_pair(p, refs[j]) for p, refs in zip(predictions, references_lists, strict=True)]
        for j in range(k)
    ]
    best: list[Scores] = []
    averaged: list[Scores] = []
    for i in range(len(predictions)):
        rows = [columns[j][i] for j in range(k)]
        best.append({t: max(r[t] for r in rows) for t in ROUGE_TYPES})
        averaged.append({t: sum(r[t] for r in rows) / k for t in ROUGE_TYPES})
    return {
        "max": _mean(best),
        "mean": _mean(averaged),
        "per_reference": [_mean(col) for col in columns],
    }
