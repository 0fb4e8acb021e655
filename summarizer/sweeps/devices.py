"""Devices for the trials of a `launcher=joblib` sweep: one GPU, or a share of the CPU, each.

joblib runs K = `hydra.launcher.n_jobs` trials at once in worker processes that it reuses from
one trial to the next. Each worker claims a numbered slot for its whole life, with an exclusive
`flock` on `<sweep dir>/.slots/<host>/<slot>`: the lock goes when the process ends, so a worker
that dies frees its slot for the one that replaces it, and no two live workers share one.
Slot i gets GPU i (round robin when there are more slots than GPUs) and, GPU or not,
cpu_count // K torch threads, so K trials do not fight over the cores.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from hydra.core.hydra_config import HydraConfig

from summarizer.multirun import multirun_job

log = logging.getLogger(__name__)

JOBLIB_LAUNCHER = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"


@dataclass(frozen=True)
class Slot:
    index: int
    gpu: str | None  # a CUDA_VISIBLE_DEVICES entry, None on a machine without GPUs
    threads: int


# The slot this process holds, the open file that holds its lock (kept until the process ends)
# and the line each job logs about it.
_held: tuple[Slot, IO, str] | None = None


def slot_devices(index: int, trials_at_once: int, gpus: list[str], cpus: int) -> Slot:
    """What slot `index` of K = `trials_at_once` runs on, given the GPUs and cores all share."""
    return Slot(index=index, gpu=gpus[index % len(gpus)] if gpus else None,
                threads=max(1, cpus // trials_at_once))


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES entries.

    Counted without initialising CUDA (torch asks NVML), since CUDA reads CUDA_VISIBLE_DEVICES
    once, when it starts; the slot's GPU has to be chosen before that.
    """
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        import torch  # heavy: only to count GPUs nobody listed

        return [str(i) for i in range(torch.cuda.device_count())]
    gpus = []
    for entry in (e.strip() for e in listed.split(",")):
        if not entry or entry.startswith("-"):  # CUDA ignores everything from an invalid entry on
            break
        gpus.append(entry)
    return gpus


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def claim_slot(slots_dir: Path) -> tuple[int, IO]:
    """The lowest slot no live process holds, and the open file that now holds its lock.

    Slots past K appear only while more workers than K are alive (several sweep processes on
    one sweep directory, or a replacement worker started before the old one exited).
    """
    slots_dir.mkdir(parents=True, exist_ok=True)
    index = 0
    while True:
        handle = (slots_dir / str(index)).open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            index += 1
            continue
        return index, handle


def use_sweep_slot() -> Slot | None:
    """In a job of a joblib sweep: this worker's slot, with its devices set; else None.

    The first job of a worker claims the slot before anything touches CUDA; the worker's later
    jobs keep it (CUDA cannot switch devices once started). Every job logs it into its train.log.
    """
    global _held
    if _held is None:
        _held = _claim_devices()
        if _held is None:
            return None
    slot, _, description = _held
    log.info("%s", description)
    return slot


def _claim_devices() -> tuple[Slot, IO, str] | None:
    job = multirun_job()
    if job is None:
        return None
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.launcher.get("_target_") != JOBLIB_LAUNCHER:
        return None
    from joblib import effective_n_jobs  # installed with the joblib launcher only

    trials_at_once = effective_n_jobs(hydra_cfg.launcher.n_jobs)
    index, handle = claim_slot(Path(job.sweep_dir) / ".slots" / socket.gethostname())
    gpus = visible_gpus()
    slot = slot_devices(index, trials_at_once, gpus, cpu_count())
    if slot.gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = slot.gpu
    import torch  # heavy: joblib workers only

    torch.set_num_threads(slot.threads)
    shared = " (shared: more trials at once than GPUs)" if 0 < len(gpus) < trials_at_once else ""
    device = f"GPU {slot.gpu}{shared}" if slot.gpu is not None else "no GPU"
    return slot, handle, (f"Sweep slot {index} of {trials_at_once} trials at once: {device}, "
                          f"{slot.threads} CPU threads")
