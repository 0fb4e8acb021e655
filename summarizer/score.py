"""Score a predictions CSV against a references CSV with the project's ROUGE (docs/rouge.md).

    python -m summarizer.score predictions=<csv> references=<csv> \
        [reference_columns=[summary1,summary2]] [prediction_column=prediction] \
        [tokenizer=whitespace|char|morpheme|compat] [output=<json>]

The two files are joined on ``fname``; each must list every fname exactly once. The JSON
written (to ``output`` or to ``scores.json`` in Hydra's run directory) has the keys ``n``,
``tokenizer``, ``references``, ``max``, ``mean`` and ``per_reference``; F1 values are 0-100.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hydra
import pandas as pd
from omegaconf import DictConfig, ListConfig, OmegaConf

from summarizer.errors import SummarizerError, user_errors_exit
from summarizer.rouge import METRICS, TOKENIZER_MODES, rouge_multi
from summarizer.run_files import write_json_atomic

ID_COLUMN = "fname"
MAX_LISTED = 5
_SUMMARY_N = re.compile(r"summary(\d+)")


def _read_csv(path: str | os.PathLike[str], role: str) -> pd.DataFrame:
    """Every cell as a string; an empty cell is "" (not NaN); quoted newlines/commas are fine."""
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig"
        )
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
    if ID_COLUMN not in frame.columns:
        raise SummarizerError(
            f"{role} file '{path}' has no '{ID_COLUMN}' column; its columns are: "
            f"{', '.join(map(str, frame.columns))}."
        )
    return frame


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:MAX_LISTED])
    more = len(names) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _check_unique(frame: pd.DataFrame, path: Any, role: str) -> None:
    counts = Counter(frame[ID_COLUMN])
    dups = [name for name, c in counts.items() if c > 1]
    if dups:
        raise SummarizerError(
            f"{role} file '{path}' lists {len(dups)} fname(s) more than once: {_listed(dups)}. "
            f"Each fname must appear exactly once in each file."
        )


def _check_same_ids(
    pred: pd.DataFrame, pred_path: Any, ref: pd.DataFrame, ref_path: Any
) -> None:
    pred_ids = set(pred[ID_COLUMN])
    ref_ids = set(ref[ID_COLUMN])
    missing = [f for f in ref[ID_COLUMN] if f not in pred_ids]
    extra = [f for f in pred[ID_COLUMN] if f not in ref_ids]
    if not missing and not extra:
        return
    parts = []
    if missing:
        parts.append(
            f"predictions file '{pred_path}' lacks {len(missing)} fname(s) of references file "
            f"'{ref_path}': {_listed(missing)}"
        )
    if extra:
        parts.append(
            f"predictions file '{pred_path}' has {len(extra)} fname(s) that references file "
            f"'{ref_path}' lacks: {_listed(extra)}"
        )
    raise SummarizerError(
        "The two files do not cover the same fnames: "
        + "; ".join(parts)
        + ". Score predictions for exactly the examples of the references file."
    )


def _prediction_column(frame: pd.DataFrame, path: Any, requested: str | None) -> str:
    if requested:
        if requested not in frame.columns:
            raise SummarizerError(
                f"predictions file '{path}' has no column '{requested}' "
                f"(prediction_column); its columns are: {', '.join(map(str, frame.columns))}."
            )
        return requested
    for name in ("summary", "prediction"):
        if name in frame.columns:
            return name
    raise SummarizerError(
        f"predictions file '{path}' has neither a 'summary' nor a 'prediction' column; its "
        f"columns are: {', '.join(map(str, frame.columns))}. Set prediction_column=<name>."
    )


def _reference_columns(
    frame: pd.DataFrame, path: Any, requested: Sequence[str] | None
) -> list[str]:
    if requested:
        columns = list(requested)
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise SummarizerError(
                f"references file '{path}' has no column(s) {_listed(absent)} "
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
        f"references file '{path}' has no 'summary', 'summary<N>' or 'reference' column; its "
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

    Returns ``{"n", "tokenizer", "references", "max", "mean", "per_reference"}`` (F1 0-100;
    ``per_reference`` is keyed by reference column). Raises ``SummarizerError`` for unreadable
    files, missing columns, duplicate fnames, or fnames present in only one of the files.
    """
    if tokenizer not in TOKENIZER_MODES:
        raise SummarizerError(
            f"unknown tokenizer '{tokenizer}'; choose one of {', '.join(TOKENIZER_MODES)}."
        )
    if isinstance(reference_columns, str):
        reference_columns = [reference_columns]
    pred = _read_csv(predictions_path, "predictions")
    ref = _read_csv(references_path, "references")
    pred_col = _prediction_column(pred, predictions_path, prediction_column)
    ref_cols = _reference_columns(ref, references_path, reference_columns)
    _check_unique(pred, predictions_path, "predictions")
    _check_unique(ref, references_path, "references")
    _check_same_ids(pred, predictions_path, ref, references_path)

    by_fname = dict(zip(pred[ID_COLUMN], pred[pred_col]))
    predictions = [by_fname[f] for f in ref[ID_COLUMN]]
    references_lists = [list(row) for row in zip(*(ref[c] for c in ref_cols))]
    result = rouge_multi(predictions, references_lists, tokenizer=tokenizer)
    return {
        "n": len(predictions),
        "tokenizer": tokenizer,
        "references": ref_cols,
        "max": result["max"],
        "mean": result["mean"],
        "per_reference": dict(zip(ref_cols, result["per_reference"])),
    }


def format_table(scores: dict[str, Any]) -> str:
    """A plain-text table of the ``score_files`` result."""
    rows = [("max", scores["max"]), ("mean", scores["mean"])]
    rows += [(f"ref {name}", s) for name, s in scores["per_reference"].items()]
    width = max(len(label) for label, _ in rows)
    lines = [
        f"ROUGE F1 (0-100), tokenizer={scores['tokenizer']}, n={scores['n']}, "
        f"references={', '.join(scores['references'])}",
        " " * width + "".join(f"{m:>11}" for m in METRICS),
    ]
    for label, s in rows:
        lines.append(f"{label:<{width}}" + "".join(f"{s[m]:>11.2f}" for m in METRICS))
    return "\n".join(lines)


def _required(cfg: DictConfig, key: str) -> str:
    if OmegaConf.is_missing(cfg, key) or cfg.get(key) in (None, ""):
        raise SummarizerError(
            f"'{key}' is required: python -m summarizer.score predictions=<csv> "
            f"references=<csv> [reference_columns=[...]] [tokenizer=...] [output=<json>]."
        )
    return str(cfg[key])


def run(cfg: DictConfig) -> dict[str, Any]:
    """The command: score, print the table, write the JSON; returns the scores."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import to_absolute_path

    predictions = to_absolute_path(_required(cfg, "predictions"))
    references = to_absolute_path(_required(cfg, "references"))
    columns = cfg.get("reference_columns")
    if isinstance(columns, ListConfig):
        columns = [str(c) for c in columns]
    elif columns is not None:
        columns = [str(columns)]
    scores = score_files(
        predictions,
        references,
        reference_columns=columns,
        tokenizer=str(cfg.get("tokenizer") or "whitespace"),
        prediction_column=cfg.get("prediction_column") or None,
    )
    if cfg.get("output"):
        output = Path(to_absolute_path(str(cfg.output)))
    else:
        output = Path(HydraConfig.get().runtime.output_dir) / "scores.json"
    write_json_atomic(scores, output)
    table = format_table(scores)
    print(table)
    print(f"wrote {output}")
    return scores


@hydra.main(config_path="../conf", config_name="score")
def main(cfg: DictConfig) -> None:
    with user_errors_exit():
        run(cfg)


if __name__ == "__main__":
    main()
