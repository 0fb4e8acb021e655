"""The Python API: `load_config`, `train`, `build_trainer`, `predict`, `write_submission`,
`score`, `average`, `tune`.

The `python -m summarizer.*` commands call these functions, so a notebook gets the same
config, run directory, files and numbers as the command line.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from hydra import compose, initialize_config_dir
from hydra.utils import execution_whitelist, instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from summarizer import scoring
from summarizer.atomic_files import directory_replaced_whole, write_json_atomic
from summarizer.command import CONF_DIR, HYDRA_FILES
from summarizer.data.io import write_csv_atomic
from summarizer.ensemble import EnsembleResult, check_ensemble, generate_all, select
from summarizer.errors import SummarizerError
from summarizer.options import check_training_values
from summarizer.output_checks import warn_if_degenerate
from summarizer.overrides import API_OVERRIDES
from summarizer.remote_code import check_trust_remote_code, env_trusts_remote_code
from summarizer.reports.analysis import AnalysisInput
from summarizer.reports.analysis_page import write_analysis_page
from summarizer.resolvers import register_resolvers
from summarizer.results import TrainResult
from summarizer.rouge import DEFAULT_TOKENIZER
from summarizer.run_config import checked_data_settings, saved_data
from summarizer.secrets import redact_files, secret_values
from summarizer.whitelist import EXECUTION_WHITELIST

if TYPE_CHECKING:
    from summarizer.tuning import TuneResult

register_resolvers()
log = logging.getLogger(__name__)


def load_config(experiment: str | None = None, overrides: Sequence[str] = (),
                config_name: str = "train") -> DictConfig:
    """The config `python -m summarizer.<config_name> experiment=<experiment> <overrides>` runs.

    It keeps Hydra's own `hydra` node (run directory, overrides) for `train`; nothing global
    is left behind.
    """
    overrides = ([f"experiment={experiment}"] if experiment else []) + list(overrides)
    with initialize_config_dir(config_dir=str(CONF_DIR), job_name=config_name):
        cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
    # Exactly what the caller gave: a config file can pre-fill Hydra's record of the overrides,
    # and `train` treats these like the command line (trust_remote_code may only come from it).
    with open_dict(cfg):
        cfg.hydra.overrides.task = overrides
    return cfg


def train(cfg: DictConfig) -> TrainResult:
    """Run exactly what `python -m summarizer.train` runs for `cfg` (from `load_config`).

    Creates the run directory with `.hydra/` and `train.log` as the command does, instantiates
    every `_target_` under the same execution whitelist, and raises `SummarizerError` for a
    user's mistake (the command prints it and exits with status 2).
    """
    # Imported here: the pipeline loads transformers, which `import summarizer` must not.
    from summarizer.pipeline import run

    if "hydra" not in cfg:
        raise SummarizerError("train() needs a config from summarizer.load_config(...); this "
                              "one has no 'hydra' node (the run directory is defined there).")
    job_cfg = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    run_dir = _new_run_dir(Path(cfg.hydra.run.dir).resolve(), job_cfg)
    _save_hydra_files(cfg, job_cfg, run_dir)
    log_file = _log_to(run_dir / "train.log", _log_format(cfg))
    token = API_OVERRIDES.set(list(cfg.hydra.overrides.task))
    try:
        with execution_whitelist(EXECUTION_WHITELIST), log_file:
            return run(job_cfg, run_dir)
    finally:
        API_OVERRIDES.reset(token)
        _release_memory()


def build_trainer(cfg: DictConfig, model=None, tokenizer=None, train_dataset=None,
                  eval_dataset=None, *, output_dir: str | os.PathLike[str] | None = None,
                  logger=None):
    """The project's trainer for `cfg`, ready to `.train()`, around any objects you bring.

    What `train` trains with (ROUGE metrics on the raw summaries, early stopping and the
    configured callbacks, the seq2seq collator, the generation settings, evaluation sorted by
    length), built by the same step; each argument left as None is built as a run builds it.
    `train` does more around it: the run directory and its files, resuming, the logger's run,
    `final_model/` and the reports.

    cfg: a config from `load_config` (checked as `train` checks it).
    model: a seq2seq `PreTrainedModel`; its embeddings must cover the tokenizer's ids. The
        run's generation settings (`training.generation`) are stored in it.
    tokenizer: a fast tokenizer, used as it is; give the one your model was built for (the
        data's tags, `data.special_tokens`, should be tokens of it).
    train_dataset, eval_dataset: the rows to train on and to score, as text: a pandas DataFrame
        or a `datasets.Dataset` with the columns `data.text_column` and
        `data.summary_column` (`dialogue` and `summary`), tokenized here with the tokenizer
        and `data.max_*_length`. None: the train and dev files `data` names, loaded and
        cut as a run loads them. Tokenized rows are refused: ROUGE needs the raw summaries.
    output_dir: where checkpoints go; by default the run directory `cfg` names.
    logger: an experiment logger (`summarizer.loggers`); by default the one `cfg.logger` builds.

    Raises `SummarizerError` for a config, object or rows that cannot be used, naming the fix.
    After training, `trainer.compute_metrics.last_predictions` holds the latest evaluation's
    summaries in the order of `eval_dataset`.
    """
    # Imported here: the trainer and the splits load transformers and datasets, which
    # `import summarizer` must not.
    from summarizer.data.splits import given_rows
    from summarizer.trainer import assemble_trainer, check_objects

    check_objects(model, tokenizer)
    if output_dir is None:
        if "hydra" not in cfg:
            raise SummarizerError("build_trainer() needs output_dir=<folder> for a config "
                                  "without a 'hydra' node (summarizer.load_config gives one).")
        output_dir = cfg.hydra.run.dir
    check_training_values(cfg)
    # As in `train`: only the caller's own overrides may let a model run its repository's code.
    check_trust_remote_code(cfg, list(cfg.hydra.overrides.task) if "hydra" in cfg else [])
    with execution_whitelist(EXECUTION_WHITELIST):
        data = instantiate(cfg.data)
        train_rows = (data.load("train") if train_dataset is None
                      else given_rows(train_dataset, "train_dataset", data))
        eval_rows = (data.load("dev") if eval_dataset is None
                     else given_rows(eval_dataset, "eval_dataset", data))
        return assemble_trainer(cfg, data, train_rows, eval_rows, Path(output_dir),
                                instantiate(cfg.logger) if logger is None else logger,
                                model=model, tokenizer=tokenizer)


def _new_run_dir(run_dir: Path, job_cfg: DictConfig) -> Path:
    """`run_dir`, or `run_dir_<n>` when a loop started another run there in the same second."""
    resuming = job_cfg.training.get("resume_from_checkpoint") not in (None, "")
    candidate, n = run_dir, 1
    while not resuming and candidate.exists() and any(candidate.iterdir()):
        candidate, n = run_dir.with_name(f"{run_dir.name}_{n}"), n + 1
    candidate.mkdir(parents=True, exist_ok=True)
    return candidate


def _save_hydra_files(cfg: DictConfig, job_cfg: DictConfig, run_dir: Path) -> None:
    """The `.hydra/` folder the command writes: the job config, Hydra's config, the overrides."""
    hydra_dir = run_dir / ".hydra"
    hydra_dir.mkdir(exist_ok=True)
    hydra_cfg = OmegaConf.masked_copy(cfg, ["hydra"])
    with open_dict(hydra_cfg):
        hydra_cfg.hydra.runtime.output_dir = str(run_dir.resolve())
    OmegaConf.save(job_cfg, hydra_dir / "config.yaml")
    OmegaConf.save(hydra_cfg, hydra_dir / "hydra.yaml")
    OmegaConf.save(OmegaConf.create(list(cfg.hydra.overrides.task)), hydra_dir / "overrides.yaml")
    redact_files([hydra_dir / name for name in HYDRA_FILES], secret_values(job_cfg))


def _log_format(cfg: DictConfig) -> str | None:
    """The line format of the command's log file, from Hydra's `job_logging` in the composed
    config (conf/hydra/default.yaml), so that both logs read alike; None without one."""
    formatter = OmegaConf.select(cfg, "hydra.job_logging.handlers.file.formatter")
    if formatter is None:
        return None
    return OmegaConf.select(cfg, f"hydra.job_logging.formatters.{formatter}.format")


@contextmanager
def _log_to(path: Path, line_format: str | None) -> Iterator[None]:
    """Log records go to the run's log file, and to the console unless the caller set up
    logging; both handlers live for this run only, so none piles up in a loop."""
    root = logging.getLogger()
    # Bound to the real stderr now, before the run mirrors the console into the same file.
    handlers = [logging.FileHandler(path, encoding="utf-8")]
    if not root.handlers:
        handlers.append(logging.StreamHandler())
    level = root.level
    for handler in handlers:
        handler.setFormatter(logging.Formatter(line_format))
        root.addHandler(handler)
    root.setLevel(logging.INFO if level in (logging.NOTSET, logging.WARNING) else level)
    try:
        yield
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)


def _release_memory() -> None:
    gc.collect()
    import torch  # heavy: only once a run has used it

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


Dialogues = str | Sequence[str] | pd.Series | pd.DataFrame


Model = str | os.PathLike[str] | TrainResult


def predict(model: Model | Sequence[Model], dialogues: Dialogues, *,
            text_column: str = "dialogue", summary_column: str = "summary",
            batch_size: int = 32, max_source_length: int | None = None,
            split: str | None = None, trust_remote_code: bool | None = None,
            ensemble: str | None = None, ensemble_candidates: int = 1,
            rouge_tokenizer: str | None = None,
            **generation: Any) -> str | list[str] | pd.Series | pd.DataFrame:
    """Summaries of `dialogues` by a trained model, in the shape and order they came in.

    `model`: a run directory (its `final_model/`), a model directory, or a `TrainResult`;
    seq2seq or causal, merged or a LoRA adapter saved without merging (loaded on its base).
    A string gives a string, a list a list, a Series a Series with the same index, and a
    DataFrame a copy with a `summary_column` added (dialogues read from `text_column`).
    `max_source_length` defaults to the training run's `data.max_source_length` (for a causal
    model it bounds the whole prompt); `split` names the dialogues in the log line that counts
    truncated ones; `trust_remote_code` lets a model directory's own Python code run (a model
    whose architecture transformers lacks; None: as SUMMARIZER_TRUST_REMOTE_CODE says);
    `generation` (`num_beams=4`, `max_length=100`, ...) overrides the generation
    config saved with the model. A causal model reads `max_length` as the summary's length
    (`max_new_tokens`), as a seq2seq model does, and gets the prompt it was trained with.

    `ensemble="mbr"` with a list of models (of any family) picks each row's summary among
    their candidates (`ensemble_candidates` best beams each) by minimum Bayes risk
    (`summarizer.ensemble`, ROUGE in `rouge_tokenizer` mode, by default the first run's
    `data.rouge_tokenizer`), as `predict_ensemble` does for the command.
    """
    models = list(model) if isinstance(model, (list, tuple)) else [model]

    def run(texts: list[str]) -> list[str]:
        if ensemble is None and len(models) == 1 and ensemble_candidates == 1:
            summaries = _summaries(_model_path(models[0]), texts, batch_size, max_source_length,
                                   split, trust_remote_code, 1, generation)
            summaries = [candidates[0] for candidates in summaries]
        else:
            summaries = predict_ensemble(
                models, texts, ensemble, ensemble_candidates=ensemble_candidates,
                rouge_tokenizer=rouge_tokenizer, batch_size=batch_size,
                max_source_length=max_source_length, split=split,
                trust_remote_code=trust_remote_code, **generation).summaries
        warn_if_degenerate(summaries, f"the {split or 'predicted'} summaries", stacklevel=3)
        return summaries

    if isinstance(dialogues, str):
        return run([dialogues])[0]
    if isinstance(dialogues, pd.DataFrame):
        if text_column not in dialogues.columns:
            raise SummarizerError(
                f"The DataFrame has no '{text_column}' column (text_column); its columns are: "
                f"{', '.join(map(str, dialogues.columns))}."
            )
        out = dialogues.copy()
        out[summary_column] = run(dialogues[text_column].astype(str).tolist())
        return out
    if isinstance(dialogues, pd.Series):
        return pd.Series(run(dialogues.astype(str).tolist()), index=dialogues.index,
                         name=summary_column)
    return run([str(d) for d in dialogues])


def predict_ensemble(models: Sequence[Model], texts: Sequence[str], method: str | None, *,
                     ensemble_candidates: int = 1, rouge_tokenizer: str | None = None,
                     batch_size: int = 32, max_source_length: int | None = None,
                     split: str | None = None, trust_remote_code: bool | None = None,
                     **generation: Any) -> EnsembleResult:
    """The summaries `predict(models, texts, ensemble=method)` returns, with each model's
    candidates and which one each row took (for `summarizer.ensemble.report`).

    Models are loaded one at a time and freed before the next, so each needs only the memory a
    single `predict` would.
    """
    check_ensemble(method, len(models), ensemble_candidates)
    paths = [_model_path(model) for model in models]
    if rouge_tokenizer is None:
        saved = saved_data(paths[0]) or {}
        rouge_tokenizer = saved.get("rouge_tokenizer") or DEFAULT_TOKENIZER
    candidates = generate_all(paths, lambda path: _summaries(
        path, list(texts), batch_size, max_source_length, split, trust_remote_code,
        ensemble_candidates, generation))
    return select(candidates, rouge_tokenizer)


def _model_path(model: Model) -> Path:
    return model.run_dir if isinstance(model, TrainResult) else Path(model)


def _summaries(path: Path, texts: list[str], batch_size: int, max_source_length: int | None,
               split: str | None, trust_remote_code: bool | None, count: int,
               generation: dict[str, Any]) -> list[list[str]]:
    """One model's `count` best summaries per text; the model is freed before returning."""
    # Imported here: inference loads transformers, which `import summarizer` must not.
    from summarizer.inference import load_model, load_prompt, model_dir, summary_candidates

    if trust_remote_code is None:
        trust_remote_code = env_trusts_remote_code()
    loaded, tokenizer = load_model(path, trust_remote_code=trust_remote_code)
    try:
        prompt = None if loaded.config.is_encoder_decoder else load_prompt(path, tokenizer)
        if max_source_length is None:
            max_source_length = _trained_source_length(path, model_dir(path), tokenizer,
                                                       loaded.config)
        return summary_candidates(loaded, tokenizer, texts, max_source_length, batch_size,
                                  split=split, prompt=prompt, count=count, **generation)
    finally:
        del loaded
        _release_memory()


def _trained_source_length(path: Path, directory: Path, tokenizer, config) -> int:
    """The run's `data.max_source_length`, else what the tokenizer or model `config` allow."""
    for run in (path, directory.parent):
        config_file = run / ".hydra" / "config.yaml"
        if config_file.is_file():
            length = OmegaConf.load(config_file).get("data", {}).get("max_source_length")
            if length:
                return int(length)
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 100_000:
        return limit
    return int(config.max_position_embeddings)


def write_submission(summaries: pd.DataFrame | Sequence[str], path: str | os.PathLike[str], *,
                     fnames: Sequence[str] | None = None, id_column: str = "fname",
                     summary_column: str = "summary") -> Path:
    """Write a competition submission (`fname,summary`) atomically; returns its path.

    Give a DataFrame with both columns (as `predict` returns it), or summaries plus `fnames`.
    """
    if isinstance(summaries, pd.DataFrame):
        missing = [c for c in (id_column, summary_column) if c not in summaries.columns]
        if missing:
            raise SummarizerError(
                f"write_submission: the DataFrame lacks {', '.join(missing)}; its columns are: "
                f"{', '.join(map(str, summaries.columns))}."
            )
        frame = summaries[[id_column, summary_column]]
    else:
        summaries = list(summaries)
        if fnames is None or len(fnames) != len(summaries):
            raise SummarizerError(
                f"write_submission: give one fname per summary ({len(summaries)} summaries, "
                f"{'no' if fnames is None else len(fnames)} fnames)."
            )
        frame = pd.DataFrame({id_column: list(fnames), summary_column: summaries})
    frame = frame.rename(columns={id_column: "fname", summary_column: "summary"})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv_atomic(frame, path)
    warn_if_degenerate(frame["summary"].tolist(), f"the summaries in {path}", stacklevel=2,
                       repeat=False)
    return path


def score(predictions: str | os.PathLike[str] | pd.DataFrame | Sequence[str],
          references: (str | os.PathLike[str] | pd.DataFrame | Sequence[str]
                       | Sequence[Sequence[str]]),
          *, tokenizer: str = "whitespace", reference_columns: Sequence[str] | str | None = None,
          prediction_column: str | None = None,
          analysis: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """ROUGE as `python -m summarizer.score` computes it (the same dict as its JSON).

    Either two CSV paths or two DataFrames (joined on `fname`), or aligned lists: one
    prediction per example and, per example, a reference string or a list of references.
    `tokenizer` is a mode of docs/rouge.md: `whitespace` for Korean, `english` or
    `english_stem` (rouge-score's default tokenizer) for English. `analysis`: a path for the
    per-row page (docs/rouge.md); one that cannot be written is logged, the scores returned.
    """
    rows = _score_rows(predictions, references, tokenizer, reference_columns, prediction_column)
    scores = scoring.score_rows(rows)
    if analysis is not None:
        title = (f"{Path(predictions).name} against {Path(references).name}"
                 if isinstance(predictions, (str, os.PathLike)) else "scores")
        try:
            write_analysis_page(rows, title, Path(analysis))
        except Exception:
            # The scores are right whatever became of the page: the caller still gets them.
            log.warning("Could not write the analysis page %s; the scores are computed",
                        analysis, exc_info=True)
    return scores


def _score_rows(predictions: Any, references: Any, tokenizer: str,
                reference_columns: Sequence[str] | str | None,
                prediction_column: str | None) -> AnalysisInput:
    """The aligned rows of `score`'s arguments, checked."""
    if isinstance(predictions, (str, os.PathLike)) and isinstance(references, (str, os.PathLike)):
        return scoring.read_rows(predictions, references, reference_columns, tokenizer,
                                 prediction_column)
    if isinstance(predictions, pd.DataFrame) and isinstance(references, pd.DataFrame):
        return scoring.align_frames(predictions, references, reference_columns, tokenizer,
                                    prediction_column)
    if isinstance(predictions, (str, os.PathLike, pd.DataFrame)) or isinstance(
            references, (str, os.PathLike, pd.DataFrame)):
        raise SummarizerError("score: give two CSV paths, two DataFrames, or two lists.")
    predictions, references = list(predictions), list(references)
    if len(predictions) != len(references):
        raise SummarizerError(f"score: {len(predictions)} predictions but {len(references)} "
                              "references; give one (list of) reference(s) per prediction.")
    lists = [[r] if isinstance(r, str) else list(r) for r in references]
    width = len(lists[0]) if lists else 1
    for index, texts in enumerate(lists):
        if len(texts) != width:
            raise SummarizerError(f"score: example 0 has {width} reference(s) but example "
                                  f"{index} has {len(texts)}; give every example the same "
                                  "number of references.")
    names = ["reference"] if width == 1 else [f"reference{i + 1}" for i in range(width)]
    return AnalysisInput(ids=list(range(len(predictions))), predictions=predictions,
                         references={name: [texts[position] for texts in lists]
                                     for position, name in enumerate(names)}, tokenizer=tokenizer)


def average(run: str | os.PathLike[str] | TrainResult, *, last: int | None = None,
            best: int | None = None, batch_size: int = 32, trust_remote_code: bool | None = None,
            data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Average the weights of a run's checkpoints and score the result on the run's dev split,
    as `python -m summarizer.average run=<dir> last=3` does; returns its `metrics.json`.

    `last=N` takes the N newest checkpoints (by step), `best=N` the N with the best value of the
    metric the run kept its best model by, each as recorded in its `trainer_state.json`. The
    averaged model (the adapter, for a run with adapters) goes to `<run>/final_model_averaged/`
    with its dev ROUGE in `metrics.json`, next to the run's final dev ROUGE and which of the two
    is better; `predict` loads it like `final_model/`. The dev rows, lengths and generation
    settings are the run's; `data` overrides data settings as `data.<key>=` does for predict.
    """
    # Imported here: averaging and inference load torch, which `import summarizer` must not.
    from summarizer.averaging import (
        AVERAGED_MODEL,
        METRICS_FILE,
        averaged_report,
        report_line,
        select_checkpoints,
        selection,
        write_averaged_model,
    )
    from summarizer.rouge import rouge

    path = run.run_dir if isinstance(run, TrainResult) else Path(run)
    chosen = selection(last, best)
    checkpoints = select_checkpoints(path, chosen)
    settings = checked_data_settings(path, OmegaConf.create(dict(data or {})))
    with execution_whitelist(EXECUTION_WHITELIST):
        dev = instantiate(settings)
    frame = dev.load("dev")
    # Written whole or not at all: a failed evaluation leaves no unscored model behind.
    with directory_replaced_whole(path / AVERAGED_MODEL) as partial:
        try:
            write_averaged_model(checkpoints, partial)
            summaries = predict(partial, frame[dev.text_column].tolist(), batch_size=batch_size,
                                split="dev", max_source_length=dev.max_source_length,
                                trust_remote_code=trust_remote_code)
            scores = rouge(summaries, frame[dev.summary_column].tolist(),
                           tokenizer=dev.rouge_tokenizer)
            report = averaged_report(scores, path, checkpoints, chosen)
            write_json_atomic(report, partial / METRICS_FILE)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)  # a model's worth of disk
            raise
    log.info("%s", report_line(report))
    return report
def tune(run: str | os.PathLike[str] | TrainResult, *, n_trials: int | None = None,
         holdout: float | None = None, seed: int | None = None,
         space: dict[str, Sequence[float] | None] | None = None,
         overrides: Sequence[str] = ()) -> TuneResult:
    """Search the decoding settings of a trained run, as `python -m summarizer.tune run=<run>`
    does (docs/tune.md): the same checks, study, files in `<run dir>/tune/` and numbers.

    `n_trials`, `holdout`, `seed`: as the command's keys (None: conf/tune.yaml's values);
    `space`: {setting: [low, high], or None to leave it at the run's value}, e.g.
    `{"num_beams": [1, 4]}`; `overrides`: any other key as on the command line
    (`batch_size=8`, `data.max_dev_samples=100`). A rerun continues the run's study. Returns
    the best settings and their ROUGE next to the run's own settings', on the tuning part of
    dev and on the held-out part no trial saw. `SummarizerError` for a user's mistake.
    """
    # Imported here: the search loads transformers and Optuna, which `import summarizer` must not.
    from summarizer.tuning import run as run_search

    given = [f"{key}={value}" for key, value in
             (("n_trials", n_trials), ("holdout", holdout), ("seed", seed)) if value is not None]
    given += [f"space.{name}=" + ("null" if bounds is None else
                                  "[" + ",".join(str(bound) for bound in bounds) + "]")
              for name, bounds in (space or {}).items()]
    given += list(overrides)
    cfg = load_config(config_name="tune", overrides=given)
    job_cfg = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    # Set, not parsed as an override: a path may hold characters the override grammar reads.
    job_cfg.run = str(run.run_dir if isinstance(run, TrainResult) else Path(run))
    token = API_OVERRIDES.set(given)
    try:
        with execution_whitelist(EXECUTION_WHITELIST):
            return run_search(job_cfg)
    finally:
        API_OVERRIDES.reset(token)
        _release_memory()
