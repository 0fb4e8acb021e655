"""The steps of a decoding search, shared by `python -m summarizer.tune` and `summarizer.tune()`:
check the options, load the run's model and dev rows once, run the study on the tuning part,
score the best and the run's own settings on both parts, write `<run dir>/tune/`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from optuna.trial import FrozenTrial

from summarizer.decoding_search import (
    PARAMETERS,
    Decoder,
    Rows,
    best_trial,
    open_study,
    search,
    split_positions,
    trial_settings,
)
from summarizer.errors import SummarizerError
from summarizer.inference import encode_dialogues, load_model, load_prompt, model_dir
from summarizer.metric_names import ROUGE_METRICS, ROUGE_SUM
from summarizer.options import TUNE_RULES, check_options
from summarizer.overrides import command_line_overrides
from summarizer.remote_code import check_trust_remote_code
from summarizer.reports.tuning import TUNING_PART, write_reports
from summarizer.run_config import checked_data_settings
from summarizer.tuned_generation import tune_dir, write_tuned

log = logging.getLogger(__name__)

HOLDOUT = "held-out"


@dataclass(frozen=True)
class TuneResult:
    """What a decoding search found: the best settings (written to `generation.yaml` in
    `tune_dir`), and `scores[part][default|tuned]`, the ROUGE scores (F1 0-100 and
    `rouge_sum`) of the run's own and the best settings on the tuning and held-out parts."""

    tune_dir: Path
    settings: dict[str, Any]
    scores: dict[str, dict[str, dict[str, float]]]
    n_trials: int


def run(cfg: DictConfig) -> TuneResult:
    """The search `cfg` (the config of `conf/tune.yaml`) asks for, its files written."""
    check_options(cfg, TUNE_RULES)
    check_trust_remote_code(cfg, command_line_overrides())
    model_dir(cfg.run)
    data, frame = _dev_split(cfg)
    space = OmegaConf.to_container(cfg.space, resolve=True)
    tuning_at, held_at = split_positions(len(frame), cfg.holdout, cfg.seed)
    if not tuning_at:
        raise SummarizerError(f"holdout={cfg.holdout} of {len(frame)} dev rows leaves none to "
                              "tune on: lower holdout or use more dev rows.")

    # Opened before the model loads: a study of another split stops the command at once.
    directory = tune_dir(cfg.run)
    split = {"seed": cfg.seed, "holdout": cfg.holdout, "rows": len(frame)}
    study = open_study(directory, cfg.seed, split)

    model, tokenizer = load_model(cfg.run, trust_remote_code=cfg.trust_remote_code)
    prompt = None if model.config.is_encoder_decoder else load_prompt(cfg.run, tokenizer)
    encoded = encode_dialogues(model, tokenizer, frame[data.text_column].astype(str).tolist(),
                               data.max_source_length, split="dev", prompt=prompt)
    dev = Rows("dev", frame[data.id_column].astype(str).tolist(), encoded,
               frame[data.summary_column].astype(str).tolist())
    parts = [dev.take(TUNING_PART, tuning_at), dev.take(HOLDOUT, held_at)]
    decoder = Decoder(model, tokenizer, prompt, cfg.batch_size, data.rouge_tokenizer)
    log.info("Decoding search on %d of %d dev rows (%d held out) of %s", len(tuning_at),
             len(frame), len(held_at), data.path("dev"))

    search(study, decoder, parts[0], space, cfg.n_trials)
    best = best_trial(study)
    settings = trial_settings(best)
    scores = _final_scores(decoder, parts, best)
    write_tuned(settings, cfg.run)
    searched = {name for trial in study.trials for name in trial.params}
    write_reports(directory, study, [name for name in PARAMETERS if name in searched], settings,
                  scores, {part.name: len(part.fnames) for part in parts},
                  f"python -m summarizer.predict run={cfg.run} generation=tuned")
    for part, by_settings in scores.items():
        log.info("%s part: %s %.2f with the run's settings, %.2f with the best", part, ROUGE_SUM,
                 by_settings["default"][ROUGE_SUM], by_settings["tuned"][ROUGE_SUM])
    log.info("Best settings %s written to %s", settings, directory)
    return TuneResult(directory, settings, scores, len(study.trials))


def _dev_split(cfg: DictConfig) -> tuple[Any, pd.DataFrame]:
    """The data module and dev rows of the run's own data settings, with the user's keys on top
    (as predict reads them), checked to have references."""
    data = instantiate(checked_data_settings(cfg.run, cfg.data))
    frame = data.load("dev")
    if data.summary_column not in frame.columns:
        raise SummarizerError(
            f"The dev split {data.path('dev')} has no '{data.summary_column}' column "
            "(data.summary_column): a decoding search scores summaries against references.")
    return data, frame


def _final_scores(decoder: Decoder, parts: list[Rows], best: FrozenTrial,
                  ) -> dict[str, dict[str, dict[str, float]]]:
    """ROUGE of the run's own and the best settings on each part; the best's on the tuning part
    is its trial's."""
    tuning = parts[0]
    tuned_on_tuning = {name: best.user_attrs[name] for name in ROUGE_METRICS}
    return {part.name: {"default": decoder.rouge(part, {}),
                        "tuned": tuned_on_tuning if part is tuning
                        else decoder.rouge(part, trial_settings(best))}
            for part in parts if part.fnames}
