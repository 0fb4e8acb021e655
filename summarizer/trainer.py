"""The project's trainer: the class `training.trainer` names, and `assemble_trainer`, which
makes it ready from the `training` config (metrics, callbacks, collator, generation settings,
evaluation sorted by length) around the data, tokenizer and model of a run or of a caller.

Seq2seq and decoder-only (causal) models train through the same trainer: a causal model's rows
are its prompt and summary in one sequence, and its evaluation generates from the prompt alone.
"""

from __future__ import annotations

import inspect
import json
import logging
from pathlib import Path
from typing import Any

import datasets
import pandas as pd
import torch
from hydra.errors import InstantiationException
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig
from torch.utils.data import SequentialSampler
from transformers import (
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
    set_seed,
)
from transformers.distributed.fsdp import is_fsdp_managed_module
from transformers.integrations.deepspeed import is_deepspeed_zero3_enabled
from transformers.trainer_utils import has_length

from summarizer.causal.adapters import quantization_kwargs, tag_token_ids
from summarizer.causal.collator import CausalLMCollator
from summarizer.causal.features import IGNORE_INDEX
from summarizer.causal.generation import generate_new_tokens
from summarizer.causal.prompt import PromptFormat, prompt_format
from summarizer.checkpoints import relocated_best_checkpoint
from summarizer.data.features import token_lengths
from summarizer.data.module import SummarizationData
from summarizer.data.splits import build_split
from summarizer.epoch_eval import EvaluateEveryEpochs, Evaluation, epoch_rows, evaluation
from summarizer.errors import SummarizerError, user_error
from summarizer.loggers.samples import PredictionSamples
from summarizer.modeling import (
    adapter_settings,
    apply_generation,
    build_tokenizer,
    called,
    check_kind,
    is_causal,
    prepare_for_training,
    prompt_settings,
)
from summarizer.reports.evaluation_log import EvaluationLogCallback
from summarizer.sampling import GroupedLengthSampler
from summarizer.sweeps.callback import trial_callbacks

log = logging.getLogger(__name__)

# The left-padded prompts `CausalLMCollator` adds for generation; the model's forward takes none.
PROMPT_COLUMNS = ("prompt_input_ids", "prompt_attention_mask")


class TrainingDiverged(SummarizerError):
    """The training loss stopped being a finite number."""


class SummarizationTrainer(Seq2SeqTrainer):
    """`Seq2SeqTrainer` that stops when the training loss is no longer finite.

    transformers keeps training on NaN weights and, with `logging_nan_inf_filter` (on by
    default), hides the non-finite losses from the logs; a run or a sweep trial should end
    with the reason instead. A few non-finite steps in a row are tolerated, since mixed
    precision can overflow once and recover.

    With `prompt` (a decoder-only model's, from `assemble_trainer`) the loss is the summary's
    and evaluation generates from the left-padded prompts alone, returning only the new tokens.
    `final_evaluation` is what the best model is scored on at the end of a run (every dev row,
    `training.generation`); each epoch's evaluation is `eval_dataset` and `compute_metrics`.
    """

    def __init__(self, *args, max_nonfinite_steps: int = 3, length_group_batches: int | None = None,
                 prompt: PromptFormat | None = None, final_evaluation: Evaluation | None = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.max_nonfinite_steps = max_nonfinite_steps
        self.length_group_batches = length_group_batches
        self.final_evaluation = final_evaluation
        self.prompt = prompt
        self._nonfinite_steps = 0
        self._resumed_state: tuple[Path, dict] | None = None

    def train(self, resume_from_checkpoint=None, **kwargs):
        self._resumed_state = None
        if resume_from_checkpoint is not None:
            state_file = Path(resume_from_checkpoint) / "trainer_state.json"
            state = json.loads(state_file.read_text())
            self._resumed_state = state_file, state
            if early_stopped(state):
                # The run had ended here and was killed while saving its final model; transformers
                # clears the stop on resuming and would train on, past where the run stopped.
                self.args.max_steps = state["global_step"]
        return super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)

    def _init_training_state(self, *args, **kwargs):
        """The resumed state, with its best checkpoint looked up where the run directory is now.

        transformers loads the best model at the end from the path the state records, which
        names the old place of a moved run directory: gone, or holding another run's weights.
        """
        transformers_log = logging.getLogger("transformers.trainer")
        transformers_log.addFilter(_not_about_a_missing_best_checkpoint)
        try:
            progress = super()._init_training_state(*args, **kwargs)
        finally:
            transformers_log.removeFilter(_not_about_a_missing_best_checkpoint)
        if self._resumed_state is not None:
            state_file, state = self._resumed_state
            recorded = state.get("best_model_checkpoint")
            found = relocated_best_checkpoint(recorded, self.args.output_dir, state_file.parent)
            if recorded is not None and found is None:
                log.warning(
                    "The best checkpoint %s named in %s is neither in %s nor next to the resumed "
                    "checkpoint; the final model is that of a better epoch from here on, or the "
                    "last one.", recorded, state_file, self.args.output_dir)
            elif found is not None and Path(found).resolve() != Path(recorded).resolve():
                log.info("Best checkpoint so far: %s (recorded as %s)", found, recorded)
            self.state.best_model_checkpoint = found
        return progress

    def training_step(self, model, inputs, num_items_in_batch=None) -> torch.Tensor:
        loss = super().training_step(model, inputs, num_items_in_batch)
        if bool(torch.isfinite(loss).all()):
            self._nonfinite_steps = 0
            return loss
        self._nonfinite_steps += 1
        if self._nonfinite_steps >= self.max_nonfinite_steps:
            raise TrainingDiverged(
                f"Training diverged: the loss was {loss.item()} for {self._nonfinite_steps} "
                f"steps in a row (step {self.state.global_step + 1}, epoch "
                f"{self.state.epoch or 0:.2f}, learning rate {self.args.learning_rate:g}). "
                "Lower training.learning_rate, raise training.warmup_steps, or use "
                "training.precision=fp32."
            )
        return loss

    def compute_loss(self, model, inputs, *args, **kwargs):
        if self.prompt is not None:
            inputs = {key: value for key, value in inputs.items() if key not in PROMPT_COLUMNS}
        return super().compute_loss(model, inputs, *args, **kwargs)

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None,
                        **gen_kwargs):
        """A causal model's loss on the whole rows, and the tokens it generates after the
        prompts; seq2seq models as `Seq2SeqTrainer` does it."""
        if self.prompt is None:
            return super().prediction_step(model, inputs, prediction_loss_only,
                                           ignore_keys=ignore_keys, **gen_kwargs)
        prompts = self._prepare_inputs({key: inputs.pop(key) for key in PROMPT_COLUMNS})
        loss, _, _ = super().prediction_step(model, inputs, prediction_loss_only=True,
                                             ignore_keys=ignore_keys)
        if prediction_loss_only or not self.args.predict_with_generate:
            return loss, None, None
        settings = dict(gen_kwargs or getattr(self, "_gen_kwargs", {}))
        # transformers' `max_length` counts the prompt; the setting is the summary's length.
        settings["max_new_tokens"] = settings.pop("max_length", None)
        settings = {key: value for key, value in settings.items() if value is not None}
        # As Seq2SeqTrainer does: with ZeRO-3 or FSDP each forward pass gathers the weights from
        # every process, so all of them keep stepping until the longest generation ends.
        settings.setdefault("synced_gpus", is_deepspeed_zero3_enabled()
                            or is_fsdp_managed_module(self.model))
        new_tokens = generate_new_tokens(self.model, prompts["prompt_input_ids"],
                                         prompts["prompt_attention_mask"], **settings)
        return loss, new_tokens, self._prepare_inputs(inputs)["labels"]

    def evaluation_loop(self, *args, **kwargs):
        # Seq2SeqTrainer gathers the processes' predictions with `accelerator.gather`, which keeps
        # the rows accelerate repeats to give every process a full last batch: a distributed
        # evaluation would score some dev rows twice. `gather_for_metrics` drops them.
        self.gather_function = self.accelerator.gather_for_metrics
        return super().evaluation_loop(*args, **kwargs)

    def _get_train_sampler(self, train_dataset=None):
        """Length-grouped batches of `length_group_batches` batches sorted together, with the
        lengths counted by Arrow.

        transformers would read a `length` column, but `remove_unused_columns` drops it before
        the sampler is built, so it reads every row in Python instead: 0.3 s before the first
        step of every run on DialogSum. The same lengths give the same batches.
        """
        dataset = self.train_dataset if train_dataset is None else train_dataset
        if (self.args.train_sampling_strategy != "group_by_length"
                or not isinstance(dataset, datasets.Dataset)
                or "input_ids" not in dataset.column_names):
            return super()._get_train_sampler(train_dataset)
        return GroupedLengthSampler(
            self.args.train_batch_size * self.args.gradient_accumulation_steps,
            lengths=token_lengths(dataset), batches_per_group=self.length_group_batches)

    def _get_eval_sampler(self, eval_dataset):
        """Evaluation in the dataset's stored order, also with length-grouped training.

        transformers applies `train_sampling_strategy="group_by_length"` to evaluation too, in
        a random order; `RougeMetrics` must know which prediction belongs to which dev row.
        """
        if eval_dataset is None or not has_length(eval_dataset):
            return None
        # Several processes: accelerate shards the dataset in order itself.
        return SequentialSampler(eval_dataset) if self.args.world_size <= 1 else None


def _not_about_a_missing_best_checkpoint(record: logging.LogRecord) -> bool:
    """Drops transformers' warning that it ignores a recorded best checkpoint whose directory is
    gone: `_init_training_state` looks for it in the moved run directory and warns itself."""
    return not record.getMessage().startswith("The best checkpoint ")


def early_stopped(trainer_state: dict) -> bool:
    """Whether early stopping ended training, before its last epoch, at the checkpoint
    `trainer_state` belongs to."""
    stopping = trainer_state.get("stateful_callbacks", {}).get("EarlyStoppingCallback")
    if not isinstance(stopping, dict) or trainer_state["global_step"] >= trainer_state["max_steps"]:
        return False
    patience = stopping.get("args", {}).get("early_stopping_patience", 1)
    return stopping.get("attributes", {}).get("early_stopping_patience_counter", 0) >= patience


def built(node: DictConfig, what: str, keys: str, **kwargs):
    """`instantiate(node)`; what transformers refuses there (values it checks itself, such as
    combinations of strategies or precision) ends as the user's mistake, naming the keys."""
    return _reported(lambda: instantiate(node, **kwargs), what, keys)


def _reported(build, what: str, keys: str):
    """`build()`, its refusals (a transformers check, a model that is not there) reported as the
    user's mistake, naming the keys to change."""
    try:
        return build()
    except (InstantiationException, OSError, ValueError, TypeError) as err:
        if user_error(err) is not None:
            raise
        reason = " ".join(str(err.__cause__ or err).split())
        raise SummarizerError(f"{what} could not be built: {reason} Change the {keys} keys on "
                              "the command line or in the preset that sets them.") from None


def training_arguments(cfg: DictConfig, output_dir: Path, logger) -> Seq2SeqTrainingArguments:
    """The trainer's arguments; building them sets up the processes of a distributed run."""
    return built(cfg.training.args, "The training arguments (training.args)",
                 "training.* or training.args.*", output_dir=str(output_dir),
                 report_to=list(logger.report_to), _convert_="all")


def assemble_trainer(cfg: DictConfig, data: SummarizationData, train_rows: pd.DataFrame,
                     eval_rows: pd.DataFrame, output_dir: Path, logger,
                     model: PreTrainedModel | None = None,
                     tokenizer: PreTrainedTokenizerBase | None = None) -> Seq2SeqTrainer:
    """The trainer of a run, ready to train on `train_rows` and score `eval_rows` (texts, in
    the columns `data` names); `model` and `tokenizer` are built from `model` when None.

    Both a training run and `summarizer.build_trainer` build their trainer here. Its
    `compute_metrics` is the `RougeMetrics` that scores each epoch's evaluation rows
    (`training.epoch_eval`), its `final_evaluation` all of `eval_rows`, in their order. A model
    preset with a `prompt` is a decoder-only model: its rows are prompt + summary
    (`summarizer.causal`); `peft` adds adapters to either kind.
    """
    set_seed(cfg.seed)
    adapter, causal = adapter_settings(cfg), is_causal(cfg.model)
    load_kwargs = quantization_kwargs(adapter)  # QLoRA without CUDA stops here, before loading
    args = training_arguments(cfg, output_dir, logger)
    # Seq2seq models always have the tags as tokens; for a causal model it is a setting
    # (byte-level and data-trained tokenizers round-trip them as text; docs/benchmarks.md).
    tags_as_tokens = not causal or adapter.tags_as_tokens
    # The other processes of a distributed run wait for the main one on their machine to train
    # the tokenizer and tokenize, and reuse its cache entries.
    cache_dir = cfg.paths.cache_dir
    with args.main_process_first(desc="tokenizer and datasets"):
        if tokenizer is None:
            tokenizer = build_tokenizer(cfg.model, data, train_rows, cache_dir, tags_as_tokens)
        prompt = prompt_format(tokenizer, prompt_settings(cfg.model)) if causal else None
        eval_dataset = build_split(eval_rows, "dev", data, tokenizer, cache_dir, prompt)
        train_dataset = build_split(train_rows, "train", data, tokenizer, cache_dir, prompt)
    if model is None:
        model = build_model(cfg.model, tokenizer, load_kwargs)
    check_vocabulary(model, tokenizer)
    check_kind(model, causal)
    apply_generation(model, cfg.training.generation, tokenizer, prompt)
    token_ids = tag_token_ids(tokenizer, data.special_tokens) if tags_as_tokens else []
    model = prepare_for_training(model, adapter, token_ids)
    final, each_epoch = evaluations(cfg, eval_dataset, eval_rows[data.summary_column].tolist(),
                                    tokenizer, data.rouge_tokenizer)
    callbacks = [instantiate(node) for node in cfg.training.callbacks.values() if node is not None]
    if cfg.training.epoch_eval.every_epochs > 1:
        callbacks.append(EvaluateEveryEpochs(cfg.training.epoch_eval.every_epochs))
    callbacks += trial_callbacks() + [EvaluationLogCallback()]
    callbacks += logger.callbacks(output_dir, prediction_samples(each_epoch, eval_rows, data))
    return instantiate(
        cfg.training.trainer,
        model=model,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=each_epoch.dataset,
        data_collator=build_collator(cfg.training.collator, tokenizer, model, causal),
        processing_class=tokenizer,
        compute_metrics=each_epoch.metrics,
        callbacks=callbacks,
        final_evaluation=final,
        _convert_="all",
        **({"prompt": prompt} if causal else {}),
    )


def evaluations(cfg: DictConfig, dev_dataset: datasets.Dataset, references: list[str],
                tokenizer: PreTrainedTokenizerBase, rouge_tokenizer: str,
                ) -> tuple[Evaluation, Evaluation]:
    """The final evaluation (every dev row, `training.generation`) and each epoch's
    (`training.epoch_eval`'s rows; its beams and length are the training arguments'); one and
    the same when `epoch_eval` changes nothing."""
    sort, generation = cfg.training.sort_eval_by_length, cfg.training.generation
    final = evaluation(dev_dataset, references, tokenizer, rouge_tokenizer, sort,
                       generation={"num_beams": generation.num_beams,
                                   "max_length": generation.max_length})
    rows = epoch_rows(len(dev_dataset), cfg.training.epoch_eval.dev_rows, cfg.seed)
    if rows is None:
        return final, final
    return final, evaluation(dev_dataset, references, tokenizer, rouge_tokenizer, sort, rows)


def prediction_samples(each_epoch: Evaluation, dev_rows: pd.DataFrame,
                       data: SummarizationData) -> PredictionSamples:
    """The rows each epoch's evaluation scores, for loggers that show its predictions."""
    rows = dev_rows if each_epoch.rows is None else dev_rows.iloc[each_epoch.rows]
    return PredictionSamples(rows[data.id_column].tolist(), rows[data.text_column].tolist(),
                             each_epoch.metrics)


def build_collator(node: DictConfig, tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel,
                   causal: bool):
    """The `training.collator` for seq2seq batches; a causal model's batches (right-padded rows,
    left-padded prompts to generate from) come from `CausalLMCollator` with its padding
    settings."""
    if not causal:
        return instantiate(node, tokenizer=tokenizer, model=model)
    return CausalLMCollator(tokenizer, pad_to_multiple_of=node.get("pad_to_multiple_of"),
                            label_pad_token_id=node.get("label_pad_token_id", IGNORE_INDEX))


def build_model(model_cfg: DictConfig, tokenizer: PreTrainedTokenizerBase,
                load_kwargs: dict[str, Any]) -> PreTrainedModel:
    """The model `model.model` names; `load_kwargs` (the 4-bit loading of `peft=qlora`) go to
    its `from_pretrained`, which a model built from a config has none of."""
    if load_kwargs:
        target = get_object(str(model_cfg.model._target_))
        takes = inspect.signature(target).parameters.values()
        if not any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in takes):
            raise SummarizerError(
                f"peft=qlora loads pretrained weights in 4 bits, but model.model builds the "
                f"model from a config ({model_cfg.model._target_}), randomly initialised. Use "
                "peft=lora, or a pretrained model (model=causal_lm, model=kobart).")
    # `called`, not `instantiate`: a causal preset loads whatever model class the checkpoint names.
    return _reported(lambda: called(model_cfg.model, tokenizer=tokenizer, **load_kwargs),
                     "The model (model.model)", "model.*")


def check_objects(model, tokenizer) -> None:
    """A caller's model and tokenizer are of the kinds the trainer works with."""
    if model is not None and not isinstance(model, PreTrainedModel):
        raise SummarizerError(
            f"model is a {type(model).__name__}; give a transformers seq2seq model (a "
            "PreTrainedModel such as BartForConditionalGeneration), or None to build the one "
            "`model` configures.")
    if tokenizer is not None and not (isinstance(tokenizer, PreTrainedTokenizerBase)
                                      and tokenizer.is_fast):
        raise SummarizerError(
            f"tokenizer is a {type(tokenizer).__name__}; give a fast transformers tokenizer "
            "(AutoTokenizer.from_pretrained(..., use_fast=True)), or None to build the one "
            "`model.tokenizer` configures.")


def check_vocabulary(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    """Every id the tokenizer gives has an embedding: a caller's model and the run's tokenizer
    (or the other way round) may not match, and a larger id fails deep inside the model."""
    embeddings = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > embeddings:
        raise SummarizerError(
            f"The tokenizer has {len(tokenizer)} tokens but the model only {embeddings} "
            "embeddings. Give the tokenizer the model was built for, or call "
            "model.resize_token_embeddings(len(tokenizer)) first.")
