"""The trainer callback through which a sweep job reports to its Optuna trial."""

from __future__ import annotations

import logging

from transformers import TrainerCallback

from summarizer.metric_names import OBJECTIVE
from summarizer.multirun import multirun_job
from summarizer.sweeps.trial import TrialSlot, registered_slot

log = logging.getLogger(__name__)


class TrialReportCallback(TrainerCallback):
    """Feeds every evaluation's `eval_rouge_sum` to the trial; stops a trial the pruner drops."""

    def __init__(self, slot: TrialSlot):
        self.slot = slot

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not metrics or OBJECTIVE not in metrics:
            return
        epoch = round(state.epoch or 0)
        self.slot.trial.report(metrics[OBJECTIVE], step=epoch)
        if self.slot.prune and self.slot.trial.should_prune():
            self.slot.pruned_at_epoch = epoch
            control.should_training_stop = True
            log.info("Trial %d pruned after epoch %d (%s %.2f is worse than earlier trials "
                     "at this epoch); keeping its best checkpoint so far.",
                     self.slot.trial.number, epoch, OBJECTIVE, metrics[OBJECTIVE])


def trial_callbacks() -> list[TrainerCallback]:
    """The callbacks of this job's trial, or none outside a sweep."""
    job = multirun_job()
    slot = registered_slot(job.number) if job is not None else None
    return [TrialReportCallback(slot)] if slot is not None else []
