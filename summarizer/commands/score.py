"""The score command, started by `python -m summarizer.score`: ROUGE of a predictions CSV
against a references CSV.

    python -m summarizer.score predictions=<csv> references=<csv> \
        [reference_columns=[summary1,summary2]] [prediction_column=prediction] \
        [tokenizer=whitespace|char|morpheme|compat|english|english_stem] [output=<json>]

Writes the scores (see `summarizer.scoring`) as JSON to ``output`` or to ``scores.json`` in the
command's run directory, the per-row analysis page next to it under the same name ending in
``.html`` (``scores.html``), and prints the scores as a table. `summarizer.score()` is the same in
Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.utils import to_absolute_path
from omegaconf import DictConfig, ListConfig, OmegaConf

from summarizer.api import score
from summarizer.atomic_files import write_json_atomic
from summarizer.command import hydra_command
from summarizer.errors import SummarizerError
from summarizer.options import SCORE_RULES, check_options
from summarizer.scoring import format_table


def _required(cfg: DictConfig, key: str) -> str:
    if OmegaConf.is_missing(cfg, key) or cfg.get(key) in (None, ""):
        raise SummarizerError(
            f"'{key}' is required: python -m summarizer.score predictions=<csv> "
            f"references=<csv> [reference_columns=[...]] [tokenizer=...] [output=<json>]."
        )
    return str(cfg[key])


def run(cfg: DictConfig) -> dict[str, Any]:
    """The command: score, write the page, print the table, write the JSON; returns the scores.

    A page that fails is logged and left out: the JSON is written all the same."""
    check_options(cfg, SCORE_RULES)
    if cfg.get("output"):
        output = Path(to_absolute_path(str(cfg.output)))
    else:
        output = Path(HydraConfig.get().runtime.output_dir) / "scores.json"
    page = output.with_suffix(".html")
    if page == output:
        raise SummarizerError(
            f"output={cfg.output} ends in .html, the name of the analysis page written next to "
            "the scores: give the JSON file another name, such as scores.json.")
    columns = cfg.get("reference_columns")
    if isinstance(columns, ListConfig):
        columns = [str(c) for c in columns]
    elif columns is not None:
        columns = [str(columns)]
    scores = score(
        Path(to_absolute_path(_required(cfg, "predictions"))),
        Path(to_absolute_path(_required(cfg, "references"))),
        reference_columns=columns,
        tokenizer=str(cfg.get("tokenizer") or "whitespace"),
        prediction_column=cfg.get("prediction_column") or None,
        analysis=page,
    )
    write_json_atomic(scores, output)
    print(format_table(scores))
    print(f"wrote {output}")
    return scores


@hydra_command("score")
def main(cfg: DictConfig) -> None:
    run(cfg)
