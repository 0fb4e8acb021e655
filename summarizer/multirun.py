"""Whether this process runs a job of a `--multirun` (a sweep or a grid of overrides), and which.

The one place that asks: the WandB run name and group, a failed job's exit, a joblib worker's
GPU and a sweep trial's reports all follow from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode


@dataclass(frozen=True)
class MultirunJob:
    sweep_dir: str  # `hydra.sweep.dir`, shared by every job of the multirun
    # `hydra.job.num`, the launcher's number for this job; None only in a config composed by
    # hand with `hydra.mode=MULTIRUN`, which no launcher numbered.
    number: int | None


def multirun_job() -> MultirunJob | None:
    """This process's job of a `--multirun`, or None for a single run (the command without
    `--multirun`, the Python API, a test) or outside Hydra."""
    if not HydraConfig.initialized():
        return None
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return None
    return MultirunJob(sweep_dir=str(hydra_cfg.sweep.dir), number=hydra_cfg.job.get("num"))
