"""The steps of a training run, shared by `python -m summarizer.train` and `summarizer.train()`."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from pathlib import Path

import pandas as pd
from datasets import Dataset
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from transformers import PreTrainedTokenizerBase, Seq2SeqTrainer, Seq2SeqTrainingArguments, set_seed

from summarizer.atomic_files import directory_replaced_whole, write_json_atomic
from summarizer.checkpoints import resolve_checkpoint
from summarizer.config_keys import to_container
from summarizer.console_log import tee_output
from summarizer.data.cache import (
    cached_dataset,
    cached_tokenizer,
    fingerprint,
    texts_fingerprint,
    tokenizer_fingerprint,
)
from summarizer.data.features import build_dataset, iter_texts, sort_by_length
from summarizer.data.io import write_csv_atomic
from summarizer.data.module import SummarizationData
from summarizer.distributed import is_main_process
from summarizer.errors import SummarizerError, user_error
from summarizer.metric_names import EVAL_ROUGE_METRICS
from summarizer.metrics import RougeMetrics
from summarizer.modeling import apply_generation
from summarizer.options import check_training_values
from summarizer.output_checks import report_outputs
from summarizer.overrides import command_line_overrides
from summarizer.remote_code import check_trust_remote_code
from summarizer.reports.config_tree import write_config_tree
from summarizer.reports.evaluation_log import EvaluationLogCallback
from summarizer.reports.run_reports import write_run_reports
from summarizer.results import TrainResult
from summarizer.run_files import (
    FAILED_FILE,
    FINAL_MODEL,
    mark_failed,
    path_in_run,
)
from summarizer.secrets import redact
from summarizer.sweeps.callback import trial_callbacks

log = logging.getLogger(__name__)

TRAIN_METRICS = ("train_runtime", "train_samples_per_second", "train_steps_per_second",
                 "train_loss", "epoch")


def build_tokenizer(model_cfg: DictConfig, data: SummarizationData, train_frame: pd.DataFrame,
                    cache_dir: str | None = None) -> PreTrainedTokenizerBase:
    """The model's tokenizer; one trained from the data comes from `cache_dir` when an earlier
    run trained it from the same texts with the same settings."""
    special_tokens = list(data.special_tokens)
    if not model_cfg.tokenizer_from_data:
        return instantiate(model_cfg.tokenizer, special_tokens=special_tokens)
    columns = [data.text_column, data.summary_column]
    key = fingerprint(texts_fingerprint(train_frame, columns), special_tokens,
                      OmegaConf.to_container(model_cfg.tokenizer, resolve=True))

    def train_new() -> PreTrainedTokenizerBase:
        # The texts go to the call, not through `instantiate`, which would copy a list of them
        # into config nodes (minutes and gigabytes for a million rows).
        train = instantiate(model_cfg.tokenizer, special_tokens=special_tokens, _partial_=True)
        return train(texts=iter_texts(train_frame, columns))

    return cached_tokenizer(cache_dir, key, train_new)


def build_split(frame: pd.DataFrame, split: str, data: SummarizationData,
                tokenizer: PreTrainedTokenizerBase, cache_dir: str | None = None) -> Dataset:
    """A split's model inputs, from `cache_dir` when an earlier run tokenized the same texts
    with the same tokenizer and lengths."""
    key = fingerprint(split, texts_fingerprint(frame, [data.text_column, data.summary_column]),
                      tokenizer_fingerprint(tokenizer), data.max_source_length,
                      data.max_target_length)
    return cached_dataset(cache_dir, key, lambda notes, path: build_dataset(
        frame, tokenizer, data.text_column, data.summary_column, data.max_source_length,
        data.max_target_length, split=split, notes=notes, path=path))


def built(node: DictConfig, what: str, keys: str, **kwargs):
    """`instantiate(node)`; what transformers refuses there (values it checks itself, such as
    combinations of strategies or precision) ends as the user's mistake, naming the keys."""
    try:
        return instantiate(node, **kwargs)
    except (InstantiationException, ValueError, TypeError) as err:
        if user_error(err) is not None:
            raise
        reason = " ".join(str(err.__cause__ or err).split())
        raise SummarizerError(f"{what} could not be built: {reason} Change the {keys} keys on "
                              "the command line or in the preset that sets them.") from None


def training_arguments(cfg: DictConfig, run_dir: Path, logger) -> Seq2SeqTrainingArguments:
    """The trainer's arguments; building them sets up the processes of a distributed run."""
    return built(cfg.training.args, "The training arguments (training.args)",
                 "training.* or training.args.*", output_dir=str(run_dir),
                 report_to=list(logger.report_to), _convert_="all")


def build_trainer(cfg: DictConfig, args: Seq2SeqTrainingArguments, model, tokenizer,
                  train_dataset, eval_dataset, metrics: RougeMetrics, logger) -> Seq2SeqTrainer:
    callbacks = [instantiate(node) for node in cfg.training.callbacks.values() if node is not None]
    callbacks += trial_callbacks()
    return instantiate(
        cfg.training.trainer,
        model=model,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        data_collator=instantiate(cfg.training.collator, tokenizer=tokenizer, model=model),
        processing_class=tokenizer,
        compute_metrics=metrics,
        callbacks=callbacks + [EvaluationLogCallback()] + logger.callbacks(Path(args.output_dir)),
        _convert_="all",
    )


def run(cfg: DictConfig, run_dir: Path) -> TrainResult:
    """A training run in an existing run directory, its console mirrored into `train.log`.
    Of a distributed run's processes only the main one writes the files."""
    main = is_main_process()
    try:
        with tee_output(run_dir / "train.log") if main else nullcontext():
            final = train(cfg, run_dir)
    except BaseException as err:
        if main:
            mark_failed(run_dir, err)
        raise
    if main:
        (run_dir / FAILED_FILE).unlink(missing_ok=True)  # a resumed run that had failed before
    best = final["best_checkpoint"]  # relative to the run directory
    return TrainResult(
        run_dir=run_dir,
        final_model_path=run_dir / FINAL_MODEL,
        best_checkpoint=None if best is None else str(run_dir / best),
        eval_metrics={k: v for k, v in final.items() if k.startswith("eval_")},
        metrics=final,
    )


def train(cfg: DictConfig, run_dir: Path) -> dict:
    """Train, keep the best checkpoint, and write `final_model/`, `metrics.json` and predictions."""
    main = is_main_process()
    check_training_values(cfg)  # the execution whitelist too, before any target is imported
    check_trust_remote_code(cfg, command_line_overrides())
    if main:
        write_config_tree(cfg, run_dir)
    checkpoint = resolve_checkpoint(cfg.training.resume_from_checkpoint, run_dir)
    set_seed(cfg.seed)

    logger = instantiate(cfg.logger)
    args = training_arguments(cfg, run_dir, logger)
    data: SummarizationData = instantiate(cfg.data)
    train_frame, dev_frame = data.load("train"), data.load("dev")
    log.info("Data %s: %d train / %d dev rows from %s", data.name, len(train_frame),
             len(dev_frame), data.dir)
    # The other processes of a distributed run wait for the main one on their machine to train
    # the tokenizer and tokenize, and reuse its cache entries.
    cache_dir = cfg.paths.cache_dir
    with args.main_process_first(desc="tokenizer and datasets"):
        tokenizer = build_tokenizer(cfg.model, data, train_frame, cache_dir)
        eval_dataset, order = build_split(dev_frame, "dev", data, tokenizer, cache_dir), None
        train_dataset = build_split(train_frame, "train", data, tokenizer, cache_dir)
    if cfg.training.sort_eval_by_length:
        eval_dataset, order = sort_by_length(eval_dataset)
    model = built(cfg.model.model, "The model (model.model)", "model.*", tokenizer=tokenizer)
    apply_generation(model, cfg.training.generation)
    metrics = RougeMetrics(tokenizer, dev_frame[data.summary_column].tolist(), order,
                           data.rouge_tokenizer)
    with logger.run(run_dir, redact(to_container(cfg))) if main else nullcontext():
        trainer = build_trainer(cfg, args, model, tokenizer, train_dataset, eval_dataset,
                                metrics, logger)
        result = trainer.train(resume_from_checkpoint=checkpoint)
        final = finish(trainer, result.metrics, metrics, dev_frame, data, run_dir)
        if main:
            logger.summarize(final, trainer.state.best_model_checkpoint)
    return final


def finish(trainer: Seq2SeqTrainer, train_metrics: dict, metrics: RougeMetrics,
           dev_frame: pd.DataFrame, data: SummarizationData, run_dir: Path) -> dict:
    """Score the best model once more on dev and save everything a user opens after a run."""
    # Every process takes part in the evaluation and in saving (FSDP and DeepSpeed gather the
    # weights); the main process writes the rest.
    evaluation = trainer.predict(trainer.eval_dataset, metric_key_prefix="eval").metrics
    with directory_replaced_whole(run_dir / FINAL_MODEL, is_main_process()) as partial:
        trainer.save_model(str(partial))
    final = {
        **evaluation,
        **{key: train_metrics[key] for key in TRAIN_METRICS if key in train_metrics},
        "best_checkpoint": path_in_run(trainer.state.best_model_checkpoint, run_dir),
        "best_metric": trainer.state.best_metric,
    }
    if not is_main_process():
        return final
    write_csv_atomic(pd.DataFrame({
        "fname": dev_frame[data.id_column],
        "prediction": metrics.last_predictions,
        "reference": dev_frame[data.summary_column],
    }), run_dir / "dev_predictions.csv")
    write_json_atomic(final, run_dir / "metrics.json")
    log.info("Final dev ROUGE-1/2/L %.2f / %.2f / %.2f, sum %.2f; model in %s",
             *(final[name] for name in EVAL_ROUGE_METRICS), run_dir / FINAL_MODEL)
    outputs = report_outputs(metrics.last_predictions, "the dev predictions")
    write_run_reports(trainer, final, data, run_dir, outputs)
    return final
