"""The predict command, started by `python -m summarizer.predict run=<dir>`: a submission
(`fname,summary`) for a data split, or the summary of one `text=`."""

from __future__ import annotations

import logging
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from summarizer import api
from summarizer.atomic_files import write_json_atomic
from summarizer.command import hydra_command
from summarizer.ensemble import (
    check_ensemble,
    log_report,
    model_runs,
    report,
    warn_if_folds_overlap,
)
from summarizer.errors import SummarizerError
from summarizer.metric_names import ROUGE_METRICS
from summarizer.options import PREDICT_RULES, check_options
from summarizer.output_checks import log_only
from summarizer.overrides import command_line_overrides
from summarizer.remote_code import check_trust_remote_code
from summarizer.rouge import rouge
from summarizer.run_config import checked_data_settings
from summarizer.tuned_generation import generation_settings

log = logging.getLogger(__name__)


def checked_data(cfg: DictConfig) -> DictConfig:
    """The data settings to predict with: the run's own, with the user's keys on top, checked."""
    return checked_data_settings(model_runs(cfg.run)[0], cfg.data)


def run(cfg: DictConfig, out_dir: Path) -> Path | str:
    """The command: summarize `cfg.text`, or a split into a submission scored when it can be."""
    # Imported here: inference loads transformers, which `--help` and `--cfg job` never need.
    from summarizer.inference import model_dir

    # Everything the user can get wrong is checked before the model is loaded.
    if cfg.text is not None and not str(cfg.text).strip():
        raise SummarizerError("text= is empty: give the dialogue to summarize, e.g. "
                              "text='#Person1#: 안녕하세요. #Person2#: 네, 안녕하세요.'")
    check_options(cfg, PREDICT_RULES)
    check_trust_remote_code(cfg, command_line_overrides())
    runs = model_runs(cfg.run)
    for run_dir in runs:
        model_dir(run_dir)
    check_ensemble(cfg.ensemble, len(runs), cfg.ensemble_candidates)
    generation = OmegaConf.to_container(cfg.generation, resolve=True)
    if generation.get("tuned") and len(runs) > 1:
        raise SummarizerError(
            "generation=tuned reads the tune/generation.yaml of one run, and run= names "
            f"{len(runs)}: the models of an ensemble share the generation.<key>= settings given "
            "on the command line. Give those instead, or predict with each run on its own.")
    generation = generation_settings(generation, runs[0])
    trust = {"trust_remote_code": cfg.trust_remote_code}
    if cfg.text is not None:
        # The trained source length comes from the run, else from the model.
        ensemble = {} if cfg.ensemble is None else {
            "ensemble": cfg.ensemble, "ensemble_candidates": cfg.ensemble_candidates}
        summary = api.predict(runs if ensemble else cfg.run, str(cfg.text), batch_size=1,
                              **ensemble, **trust, **generation)
        print(summary)
        return summary

    data = instantiate(checked_data(cfg))
    log.info("Data %s: split %s from %s", data.name, cfg.split, data.path(cfg.split))
    frame = data.load(cfg.split, for_prediction=True)
    if cfg.ensemble is not None:
        warn_if_folds_overlap(runs, cfg.split)
        # Each model's own trained source length, unless data.max_source_length is given.
        result = api.predict_ensemble(
            runs, frame[data.text_column].tolist(), cfg.ensemble,
            ensemble_candidates=cfg.ensemble_candidates, rouge_tokenizer=data.rouge_tokenizer,
            batch_size=cfg.batch_size, split=cfg.split,
            max_source_length=cfg.data.max_source_length, **trust, **generation)
        summaries = result.summaries
    else:
        summaries = api.predict(cfg.run, frame[data.text_column].tolist(),
                                batch_size=cfg.batch_size, split=cfg.split,
                                max_source_length=data.max_source_length, **trust, **generation)
    output = api.write_submission(summaries, cfg.output or out_dir / "submission.csv",
                              fnames=frame[data.id_column].tolist())
    log.info("Wrote %d summaries to %s", len(summaries), output)
    if data.summary_column in frame.columns:
        scores = rouge(summaries, frame[data.summary_column].tolist(),
                       tokenizer=data.rouge_tokenizer)
        write_json_atomic(scores, output.with_name(output.stem + "_rouge.json"))
        log.info("ROUGE-1/2/L %.2f / %.2f / %.2f, sum %.2f against %s",
                 *(scores[name] for name in ROUGE_METRICS), data.path(cfg.split))
        if cfg.ensemble is not None:
            compared = report(result, frame[data.summary_column].tolist(), data.rouge_tokenizer,
                              runs)
            write_json_atomic(compared, output.with_name(output.stem + "_ensemble.json"))
            log_report(compared)
    return output


@hydra_command("predict")
def main(cfg: DictConfig) -> None:
    with log_only():
        run(cfg, Path(HydraConfig.get().runtime.output_dir))
