"""Scoring predictions against references with the project's ROUGE (docs/rouge.md).

Used by `python -m summarizer.score` and `summarizer.score()`. Tables are joined on ``fname``;
each must list every fname exactly once. The result has the keys ``n``, ``tokenizer``,
``references``, ``max``, ``mean`` and ``per_reference``; F1 values are 0-100.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pandas as pd

from summarizer.data.io import read_csv
from summarizer.errors import SummarizerError
from summarizer.metric_names import ROUGE_METRICS
from summarizer.reports.analysis import TOPIC_COLUMN, AnalysisInput
from summarizer.rouge import TOKENIZER_MODES, rouge_multi

ID_COLUMN = "fname"
# The dialogue column of the data files; a references file that keeps it shows it on the page.
DIALOGUE_COLUMN = "dialogue"
MAX_LISTED = 5
_SUMMARY_N = re.compile(r"summary(\d+)")


def _read_csv(path: str | os.PathLike[str], role: str) -> pd.DataFrame:
    """`path` read with the project's CSV reader; a file that does not read names its `role`."""
    try:
        frame = read_csv(path)
    except FileNotFoundError:
        raise SummarizerError(f"{role} file '{path}' does not exist.") from None
    except IsADirectoryError:
        raise SummarizerError(f"{role} file '{path}' is a directory, not a CSV file.") from None
    except pd.errors.EmptyDataError:
        raise SummarizerError(f"{role} file '{path}' is empty (not even a header row).") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise SummarizerError(
            f"{role} file '{path}' is not a readable UTF-8 CSV file: {err}".replace("\n", " ")
        ) from None
    return frame


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:MAX_LISTED])
    more = len(names) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _check_unique(frame: pd.DataFrame, name: str) -> None:
    counts = Counter(frame[ID_COLUMN])
    dups = [name for name, c in counts.items() if c > 1]
    if dups:
        raise SummarizerError(
            f"{name} lists {len(dups)} fname(s) more than once: {_listed(dups)}. "
            f"Each fname must appear exactly once in each file."
        )


def _check_same_ids(pred: pd.DataFrame, pred_name: str, ref: pd.DataFrame, ref_name: str) -> None:
    pred_ids = set(pred[ID_COLUMN])
    ref_ids = set(ref[ID_COLUMN])
    missing = [f for f in ref[ID_COLUMN] if f not in pred_ids]
    extra = [f for f in pred[ID_COLUMN] if f not in ref_ids]
    if not missing and not extra:
        return
    parts = []
    if missing:
        parts.append(
            f"{pred_name} lacks {len(missing)} fname(s) of {ref_name}: {_listed(missing)}"
        )
    if extra:
        parts.append(
            f"{pred_name} has {len(extra)} fname(s) that {ref_name} lacks: {_listed(extra)}"
        )
    raise SummarizerError(
        "The two files do not cover the same fnames: "
        + "; ".join(parts)
        + ". Score predictions for exactly the examples of the references file."
    )


def _prediction_column(frame: pd.DataFrame, name: str, requested: str | None) -> str:
    if requested:
        if requested not in frame.columns:
            raise SummarizerError(
                f"{name} has no column '{requested}' "
                f"(prediction_column); its columns are: {', '.join(map(str, frame.columns))}."
            )
        return requested
    for name in ("summary", "prediction"):
        if name in frame.columns:
            return name
    raise SummarizerError(
        f"{name} has neither a 'summary' nor a 'prediction' column; its "
        f"columns are: {', '.join(map(str, frame.columns))}. Set prediction_column=<name>."
    )


def _reference_columns(frame: pd.DataFrame, name: str,
                       requested: Sequence[str] | None) -> list[str]:
    if requested:
        columns = list(requested)
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise SummarizerError(
                f"{name} has no column(s) {_listed(absent)} "
                f"(reference_columns); its columns are: {', '.join(map(str, frame.columns))}."
            )
        if len(set(columns)) != len(columns):
            raise SummarizerError(f"reference_columns lists a column twice: {columns}.")
        return columns
    if "summary" in frame.columns:
        return ["summary"]
    numbered = [
        (int(m.group(1)), c) for c in map(str, frame.columns) if (m := _SUMMARY_N.fullmatch(c))
    ]
    if numbered:
        return [c for _, c in sorted(numbered)]
    if "reference" in frame.columns:
        return ["reference"]
    raise SummarizerError(
        f"{name} has no 'summary', 'summary<N>' or 'reference' column; its "
        f"columns are: {', '.join(map(str, frame.columns))}. Set reference_columns=[...]."
    )


def score_files(
    predictions_path: str | os.PathLike[str],
    references_path: str | os.PathLike[str],
    reference_columns: Sequence[str] | str | None = None,
    tokenizer: str = "whitespace",
    prediction_column: str | None = None,
) -> dict[str, Any]:
    """ROUGE of a predictions CSV against a references CSV, joined on ``fname``.

    Raises ``SummarizerError`` for unreadable files and everything ``align_frames`` rejects.
    """
    return score_rows(read_rows(predictions_path, references_path, reference_columns, tokenizer,
                                prediction_column))


def read_rows(
    predictions_path: str | os.PathLike[str],
    references_path: str | os.PathLike[str],
    reference_columns: Sequence[str] | str | None = None,
    tokenizer: str = "whitespace",
    prediction_column: str | None = None,
) -> AnalysisInput:
    """The rows of two CSV files, aligned as ``align_frames`` does."""
    return align_frames(_read_csv(predictions_path, "predictions"),
                        _read_csv(references_path, "references"), reference_columns, tokenizer,
                        prediction_column, names=(f"predictions file '{predictions_path}'",
                                                  f"references file '{references_path}'"))


def align_frames(
    pred: pd.DataFrame,
    ref: pd.DataFrame,
    reference_columns: Sequence[str] | str | None = None,
    tokenizer: str = "whitespace",
    prediction_column: str | None = None,
    names: tuple[str, str] = ("the predictions table", "the references table"),
) -> AnalysisInput:
    """The predictions in the order of the references table (joined on ``fname``), with the
    references' ``dialogue`` and ``topic`` columns where it has them (for the page).

    Raises ``SummarizerError`` for missing columns, duplicate fnames, or fnames present in only
    one table; ``names`` describe the two tables in those messages.
    """
    _check_tokenizer(tokenizer)
    if isinstance(reference_columns, str):
        reference_columns = [reference_columns]
    pred_name, ref_name = names
    for frame, name in ((pred, pred_name), (ref, ref_name)):
        if ID_COLUMN not in frame.columns:
            raise SummarizerError(
                f"{name} has no '{ID_COLUMN}' column; its columns are: "
                f"{', '.join(map(str, frame.columns))}."
            )
    pred_col = _prediction_column(pred, pred_name, prediction_column)
    ref_cols = _reference_columns(ref, ref_name, reference_columns)
    _check_unique(pred, pred_name)
    _check_unique(ref, ref_name)
    _check_same_ids(pred, pred_name, ref, ref_name)

    by_fname = dict(zip(pred[ID_COLUMN], pred[pred_col], strict=True))
    return AnalysisInput(
        ids=list(ref[ID_COLUMN]),
        predictions=[by_fname[fname] for fname in ref[ID_COLUMN]],
        references={column: list(ref[column]) for column in ref_cols},
        tokenizer=tokenizer,
        dialogues=list(ref[DIALOGUE_COLUMN]) if DIALOGUE_COLUMN in ref.columns else None,
        topics=list(ref[TOPIC_COLUMN]) if TOPIC_COLUMN in ref.columns else None,
    )


def score_rows(rows: AnalysisInput) -> dict[str, Any]:
    """The score result for aligned rows: ``{"n", "tokenizer", "references", "max", "mean",
    "per_reference"}`` (F1 0-100; ``per_reference`` is keyed by reference column)."""
    references_lists = [list(row) for row in zip(*rows.references.values(), strict=True)]
    return score_texts(rows.predictions, references_lists, list(rows.references), rows.tokenizer)


def score_texts(predictions: Sequence[str], references_lists: Sequence[Sequence[str]],
                reference_names: Sequence[str], tokenizer: str = "whitespace") -> dict[str, Any]:
    """The score result for aligned texts: ``references_lists[i]`` holds example i's references."""
    _check_tokenizer(tokenizer)
    result = rouge_multi(list(predictions), references_lists, tokenizer=tokenizer)
    return {
        "n": len(predictions),
        "tokenizer": tokenizer,
        "references": list(reference_names),
        "max": result["max"],
        "mean": result["mean"],
        "per_reference": dict(zip(reference_names, result["per_reference"], strict=True)),
    }


def _check_tokenizer(tokenizer: str) -> None:
    if tokenizer not in TOKENIZER_MODES:
        raise SummarizerError(
            f"unknown tokenizer '{tokenizer}'; choose one of {', '.join(TOKENIZER_MODES)}."
        )


def format_table(scores: dict[str, Any]) -> str:
    """A plain-text table of the ``score_files`` result."""
    rows = [("max", scores["max"]), ("mean", scores["mean"])]
    rows += [(f"ref {name}", s) for name, s in scores["per_reference"].items()]
    width = max(len(label) for label, _ in rows)
    lines = [
        f"ROUGE F1 (0-100), tokenizer={scores['tokenizer']}, n={scores['n']}, "
        f"references={', '.join(scores['references'])}",
        " " * width + "".join(f"{name:>11}" for name in ROUGE_METRICS),
    ]
    for label, s in rows:
        lines.append(f"{label:<{width}}" + "".join(f"{s[name]:>11.2f}" for name in ROUGE_METRICS))
    return "\n".join(lines)
