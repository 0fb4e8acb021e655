"""The decoding search: an Optuna study over generation settings of one loaded model.

The model is loaded and the dev rows are tokenized once; each trial only generates. The dev
split is cut in two by a seeded shuffle of its rows: trials are scored on the tuning part alone,
so the held-out part gives an honest number for the settings the study picks. The study lives in
`<run dir>/tune/study.db` (SQLite), so a rerun continues it.
"""

from __future__ import annotations

import gc
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import torch
from optuna.samplers import TPESampler
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from summarizer.causal.prompt import PromptFormat
from summarizer.errors import SummarizerError
from summarizer.inference import summarize_encoded
from summarizer.metric_names import ROUGE_METRICS, ROUGE_SUM
from summarizer.rouge import rouge

log = logging.getLogger(__name__)

STUDY_FILE = "study.db"
STUDY_NAME = "decoding"
# The searched `generate` keywords and the type of each; `space.<name>` gives its range.
PARAMETERS = {"num_beams": int, "length_penalty": float, "no_repeat_ngram_size": int,
              "repetition_penalty": float, "max_new_tokens": int, "min_new_tokens": int}
# Penalties closer than this decode alike; a coarser grid keeps generation.yaml readable.
FLOAT_STEP = 0.05
FLOAT_DIGITS = 4
# How a failed trial's error is kept in the study and trials.csv.
MAX_REASON_CHARS = 300


@dataclass(frozen=True)
class Rows:
    """A part of the dev split: its ids (`fname`), its dialogues encoded for the model, and its
    reference summaries."""

    name: str
    fnames: list[str]
    encoded: list[list[int]]
    references: list[str]

    def take(self, name: str, positions: list[int]) -> Rows:
        return Rows(name, [self.fnames[i] for i in positions],
                    [self.encoded[i] for i in positions],
                    [self.references[i] for i in positions])


def split_positions(count: int, holdout: float, seed: int) -> tuple[list[int], list[int]]:
    """(tuning, held-out) row positions: a `holdout` share of `count` rows drawn by `seed`, the
    same rows for the same three numbers."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    held = round(count * holdout)
    return sorted(order[held:]), sorted(order[:held])


@dataclass
class Decoder:
    """A loaded model and how to generate with it: scores any settings on any `Rows`."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    prompt: PromptFormat | None
    batch_size: int
    rouge_tokenizer: str

    def rouge(self, rows: Rows, settings: dict[str, Any]) -> dict[str, float]:
        """ROUGE of the summaries `settings` give for `rows` ({}: the model's saved settings)."""
        summaries = summarize_encoded(self.model, self.tokenizer, rows.encoded, self.batch_size,
                                      self.prompt, **settings)
        return rouge(summaries, rows.references, tokenizer=self.rouge_tokenizer)


def suggest(trial: optuna.Trial, space: dict[str, list | None]) -> dict[str, Any]:
    """The settings of one trial; a range given as null is not searched (the saved value
    holds). The shortest summary is kept no longer than the longest."""
    settings: dict[str, Any] = {}
    for name, kind in PARAMETERS.items():
        bounds = space.get(name)
        if bounds is None:
            continue
        low, high = bounds
        if name == "min_new_tokens" and "max_new_tokens" in settings:
            high = min(high, settings["max_new_tokens"])
            low = min(low, high)
        if kind is int:
            settings[name] = trial.suggest_int(name, int(low), int(high))
        else:
            value = trial.suggest_float(name, float(low), float(high), step=FLOAT_STEP)
            settings[name] = round(value, FLOAT_DIGITS)
    return settings


def trial_settings(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """A finished trial's settings as `suggest` gave them to `generate`: Optuna's steps of
    0.05 leave float noise (1.4500000000000002), rounded off."""
    return {name: round(value, FLOAT_DIGITS) if isinstance(value, float) else value
            for name, value in trial.params.items()}


def open_study(directory: Path, seed: int, split: dict[str, Any]) -> optuna.Study:
    """The study in `directory`, created or continued. `split` (seed, holdout share, rows) must
    be the one its trials were scored on: on other tuning rows their scores would not compare."""
    directory.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(directory / STUDY_FILE).resolve()}"
    study = optuna.create_study(study_name=STUDY_NAME, storage=storage, direction="maximize",
                                load_if_exists=True)
    recorded = study.user_attrs.get("split")
    if recorded is None:
        study.set_user_attr("split", split)
    elif recorded != split:
        raise SummarizerError(
            f"{directory / STUDY_FILE} holds trials scored on another part of dev (seed, holdout "
            f"and dev rows {recorded}, now {split}). Rerun with seed={recorded['seed']} "
            f"holdout={recorded['holdout']} and the same data, or delete {directory} to start "
            "a new study.")
    # Seeded by the trials done so far too: a continued study samples new settings, not the
    # first invocation's again.
    study.sampler = TPESampler(seed=seed + len(study.trials))
    return study


def search(study: optuna.Study, decoder: Decoder, tuning: Rows, space: dict[str, list | None],
           n_trials: int) -> None:
    """`n_trials` more trials, each scored by its ROUGE sum on `tuning`. A trial that fails
    (out of memory with many beams, settings transformers refuses) is recorded with its
    reason, and the study goes on."""
    def objective(trial: optuna.Trial) -> float:
        settings = suggest(trial, space)
        started = time.perf_counter()
        try:
            scores = decoder.rouge(tuning, settings)
        except Exception as err:
            reason = " ".join(f"{type(err).__name__}: {err}".split())[:MAX_REASON_CHARS]
            trial.set_user_attr("failure_reason", reason)
            _release_memory()
            raise
        trial.set_user_attr("seconds", round(time.perf_counter() - started, 3))
        for name in ROUGE_METRICS:
            trial.set_user_attr(name, scores[name])
        log.info("Trial %d: %s %.2f with %s", trial.number, ROUGE_SUM, scores[ROUGE_SUM],
                 settings)
        return scores[ROUGE_SUM]

    study.optimize(objective, n_trials=n_trials, catch=(Exception,))


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial:
    complete = [trial for trial in study.trials
                if trial.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        reasons = {trial.user_attrs.get("failure_reason", trial.state.name)
                   for trial in study.trials}
        raise SummarizerError(
            f"No trial of the decoding search has completed ({len(study.trials)} trials): "
            f"{'; '.join(sorted(reasons))}. Narrow the ranges (e.g. space.num_beams=[1,4]) or "
            "lower batch_size, then rerun.")
    return max(complete, key=lambda trial: trial.value)


def _release_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
