"""The trainer the `training.trainer` config builds."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import datasets
import torch
from torch.utils.data import SequentialSampler
from transformers import Seq2SeqTrainer
from transformers.trainer_pt_utils import LengthGroupedSampler
from transformers.trainer_utils import has_length

from summarizer.checkpoints import relocated_best_checkpoint
from summarizer.data.features import token_lengths
from summarizer.errors import SummarizerError

log = logging.getLogger(__name__)


class TrainingDiverged(SummarizerError):
    """The training loss stopped being a finite number."""


class SummarizationTrainer(Seq2SeqTrainer):
    """`Seq2SeqTrainer` that stops when the training loss is no longer finite.

    transformers keeps training on NaN weights and, with `logging_nan_inf_filter` (on by
    default), hides the non-finite losses from the logs; a run or a sweep trial should end
    with the reason instead. A few non-finite steps in a row are tolerated, since mixed
    precision can overflow once and recover.
    """

    def __init__(self, *args, max_nonfinite_steps: int = 3, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_nonfinite_steps = max_nonfinite_steps
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

    def evaluation_loop(self, *args, **kwargs):
        # Seq2SeqTrainer gathers the processes' predictions with `accelerator.gather`, which keeps
        # the rows accelerate repeats to give every process a full last batch: a distributed
        # evaluation would score some dev rows twice. `gather_for_metrics` drops them.
        self.gather_function = self.accelerator.gather_for_metrics
        return super().evaluation_loop(*args, **kwargs)

    def _get_train_sampler(self, train_dataset=None):
        """transformers' length-grouped sampler, with the lengths counted by Arrow.

        transformers would read a `length` column, but `remove_unused_columns` drops it before
        the sampler is built, so it reads every row in Python instead: 0.3 s before the first
        step of every run on DialogSum. The same lengths give the same batches.
        """
        dataset = self.train_dataset if train_dataset is None else train_dataset
        if (self.args.train_sampling_strategy != "group_by_length"
                or not isinstance(dataset, datasets.Dataset)
                or "input_ids" not in dataset.column_names):
            return super()._get_train_sampler(train_dataset)
        return LengthGroupedSampler(
            self.args.train_batch_size * self.args.gradient_accumulation_steps,
            lengths=token_lengths(dataset))

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
