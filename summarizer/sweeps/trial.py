"""The job's side of a sweep: report each evaluation to its Optuna trial, prune when told to.

The sweeper registers every trial it launches under its Hydra job number; a training run that
finds its job number here reports to that trial. That needs the job to run in the sweeper's
process (Hydra's basic launcher). With other launchers (launcher=joblib, submitit) jobs run in
other processes and find no trial here: they train without reports, and the sweeper refuses a
pruner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from summarizer.multirun import multirun_job

if TYPE_CHECKING:
    from transformers import TrainerCallback

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
    # Imported here: Hydra loads this module with the sweeper plugin on every command, and
    # `--help` or `--cfg job` must not pay for importing transformers.
    from summarizer.sweeps.callback import TrialReportCallback

    job = multirun_job()
    slot = _ACTIVE.get(job.number) if job is not None else None
    return [TrialReportCallback(slot)] if slot is not None else []
