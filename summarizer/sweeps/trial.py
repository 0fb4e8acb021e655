"""The trials a sweep is running, by Hydra job number: how a training run finds its trial.

The sweeper registers every trial it launches under its Hydra job number; a training run that
finds its job number here reports each evaluation to that trial (`sweeps/callback.py`), which
may prune it. Kept free of transformers: the sweeper plugin, which Hydra loads on every
command, imports this module. That needs the job to run in the sweeper's
process (Hydra's basic launcher). With other launchers (launcher=joblib, submitit) jobs run in
other processes and find no trial here: they train without reports, and the sweeper refuses a
pruner.
"""

from __future__ import annotations

from dataclasses import dataclass


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


def registered_slot(job_num: int | None) -> TrialSlot | None:
    """The trial the sweeper registered for job `job_num` in this process, if any."""
    return _ACTIVE.get(job_num) if job_num is not None else None
