"""Whether a model's summaries look degenerate: empty, or one text for every dialogue.

A from-scratch model after a few minutes of training writes the same sentence for every
dialogue, and a generation length too short for a word writes nothing; both give a submission
that scores near zero without any error. These numbers say so in the log, in `summary.md` and
from the Python API (as a `DegenerateOutputWarning`).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)

# A summary is never rightly empty, and an empty row scores zero: a single one is worth a warning.
MAX_EMPTY = 0
# Dialogues about different things get different summaries, even from a weak model: more than
# half of them summarized by one same text means the model ignores its input.
MAX_IDENTICAL_SHARE = 0.5
# A few templates taking turns hide from the identical-share test: fewer distinct summaries
# than one per five rows is not summarizing either.
MIN_DISTINCT_SHARE = 0.2
# Below this many rows repetition proves nothing: one dialogue is always 100% its most common
# summary, and two short greetings may rightly be summarized alike.
MIN_ROWS_FOR_REPETITION = 10
# How much of the most common summary a warning quotes.
QUOTE_CHARS = 80
ADVICE = ("Train longer (training.epochs), check training.learning_rate (too high diverges, too "
          "low barely moves the model), check that the generation length "
          "(training.generation.max_length, or generation.max_length of predict) leaves room "
          "for a summary, and read the run's dev_predictions.csv next to the references.")


class DegenerateOutputWarning(UserWarning):
    """Summaries that are empty or mostly one same text: the model, or its generation settings,
    does not summarize yet, and a submission of them scores near zero."""


@dataclass(frozen=True)
class OutputCheck:
    """The numbers behind the warning; `what` names the outputs in its text."""

    what: str
    rows: int
    empty: int
    distinct: int
    most_common: str
    most_common_count: int

    @property
    def empty_share(self) -> float:
        return self.empty / self.rows if self.rows else 0.0

    @property
    def most_common_share(self) -> float:
        return self.most_common_count / self.rows if self.rows else 0.0

    @property
    def degenerate(self) -> bool:
        if self.empty > MAX_EMPTY:
            return True
        if self.rows < MIN_ROWS_FOR_REPETITION:
            return False
        return (self.most_common_share > MAX_IDENTICAL_SHARE
                or self.distinct < MIN_DISTINCT_SHARE * self.rows)

    @property
    def numbers(self) -> str:
        """`57 distinct of 60; most common 3 times (5%); 0 empty (0%)`: the summary.md row."""
        return (f"{self.distinct} distinct of {self.rows}; most common "
                f"{self.most_common_count} times ({percent(self.most_common_share)}); "
                f"{self.empty} empty ({percent(self.empty_share)})")

    @property
    def warning(self) -> str | None:
        """One paragraph with the numbers and what to do, or None when the outputs look sound."""
        if not self.degenerate:
            return None
        quote = self.most_common if len(self.most_common) <= QUOTE_CHARS else (
            self.most_common[:QUOTE_CHARS] + "...")
        return (f"{self.what[:1].upper()}{self.what[1:]} look degenerate: {self.empty} of "
                f"{self.rows} are empty ({percent(self.empty_share)}), "
                f"{self.most_common_count} ({percent(self.most_common_share)}) are the same "
                f"text {quote!r}, {self.distinct} distinct of {self.rows}. {ADVICE}")


def percent(share: float) -> str:
    """Whole percents; a share that rounds to 0 but is not 0 shows as `<1%`."""
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


def check_outputs(predictions: Sequence[object], what: str = "summaries") -> OutputCheck:
    """The numbers for `predictions`; surrounding spaces do not make a summary distinct, and a
    missing value (None, NaN from a CSV read without keep_default_na=False) counts as empty."""
    texts = [output_text(prediction) for prediction in predictions]
    counts = Counter(texts)
    most_common, most_common_count = counts.most_common(1)[0] if counts else ("", 0)
    return OutputCheck(what=what, rows=len(texts), empty=counts[""], distinct=len(counts),
                       most_common=most_common, most_common_count=most_common_count)


def output_text(prediction: object) -> str:
    """`prediction` as the checks count it: stripped, a missing value empty."""
    if prediction is None or (isinstance(prediction, float) and math.isnan(prediction)):
        return ""
    return str(prediction).strip()


def report_outputs(predictions: Sequence[object], what: str) -> OutputCheck:
    """The numbers for `predictions`, with their warning logged when they look degenerate."""
    check = check_outputs(predictions, what)
    if check.warning:
        log.warning("%s", check.warning)
    return check


# The outputs the API warned about last, so that `write_submission(predict(...))` does not
# repeat the warning `predict` just gave. A hash of the texts, not the texts themselves.
_last_warned: int | None = None


def warn_if_degenerate(predictions: Sequence[object], what: str, *, stacklevel: int = 1,
                       repeat: bool = True) -> None:
    """`report_outputs` for the Python API: a `DegenerateOutputWarning` too, which a notebook
    shows even without logging set up. `stacklevel` counts from the caller (1: the caller's
    line); `repeat=False` skips the outputs last warned about."""
    global _last_warned
    key = hash(tuple(output_text(prediction) for prediction in predictions))
    if not repeat and key == _last_warned:
        return
    check = report_outputs(predictions, what)
    if check.warning:
        _last_warned = key
        warnings.warn(check.warning, DegenerateOutputWarning, stacklevel=stacklevel + 1)


@contextmanager
def log_only() -> Iterator[None]:
    """For the commands: their log line is the report, and the Python warning would print the
    same paragraph once more on stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateOutputWarning)
        yield
