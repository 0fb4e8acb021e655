"""The job's side of a sweep: report each evaluation to its Optuna trial, prune when told to.

The sweeper registers every trial it launches under its Hydra job number; a training run that
finds its job number here reports to that trial. That needs the job to run in the sweeper's
process (Hydra's basic launcher); with other launchers trials run without reports or pruning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from transformers import TrainerCallback

log = logging.getLogger(__name__)

OBJECTIVE = "eval_rouge_sum"


@dataclass
class TrialSlot:
    trial: object  # optuna.Trial
    prune: bool
    pruned_at_epoch: int | None = None


_ACTIVE: dict[int, TrialSlot] = {}


def register(job_num: int, slot: TrialSlot) -> None:
    _ACTIVE[job_num] = slot


def release(job_num: int) -> TrialSlot | None:
    return _ACTIVE.pop(job_num, None)


def current_callbacks() -> list[TrainerCallback]:
    """The callbacks of this job's trial, or none outside a sweep."""
    from hydra.core.hydra_config import HydraConfig

    if not _ACTIVE or not HydraConfig.initialized():
        return []
    num = HydraConfig.get().job.get("num")
    slot = _ACTIVE.get(num) if num is not None else None
    return [TrialReportCallback(slot)] if slot is not None else []


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
