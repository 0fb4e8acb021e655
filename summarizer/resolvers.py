"""The OmegaConf resolvers the shipped configs call (`${summarizer.<name>:...}`).

Each name maps straight to the function that decides the value, so a key in `conf/` is one
resolver away from its code.
"""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from summarizer import distributed, hardware
from summarizer.errors import SummarizerError
from summarizer.multirun import multirun_job
from summarizer.remote_code import env_trusts_remote_code


def train_sampling(group_by_length: Any) -> str:
    """`training.group_by_length` as transformers' `train_sampling_strategy`."""
    if not isinstance(group_by_length, bool):
        raise SummarizerError(
            f"training.group_by_length={group_by_length!r} is invalid: use true or false."
        )
    return "group_by_length" if group_by_length else "random"


def trial_name(name: str) -> str:
    """`name`, or `<name>-trial-<job number>` in a sweep job (the WandB run name)."""
    job = multirun_job()
    return name if job is None else f"{name}-trial-{job.number}"


def sweep_group() -> str | None:
    """The sweep directory in a sweep job (the WandB group of its trials), else None."""
    job = multirun_job()
    return None if job is None else job.sweep_dir


def register_resolvers() -> None:
    # `has_cuda` is looked up on each call, so tests can stand in for a GPU.
    for name, resolver in (("summarizer.precision", hardware.precision_flag),
                           ("summarizer.has_cuda", lambda: hardware.has_cuda()),
                           ("summarizer.pad_multiple", hardware.pad_multiple),
                           ("summarizer.tf32", hardware.tf32_setting),
                           ("summarizer.train_sampling", train_sampling),
                           ("summarizer.trial_name", trial_name),
                           ("summarizer.sweep_group", sweep_group),
                           ("summarizer.env_trusts_remote_code", env_trusts_remote_code),
                           ("summarizer.launch_time", distributed.launch_time),
                           ("summarizer.on_main_process", distributed.on_main_process),
                           ("summarizer.distributed_cpu", distributed.uses_cpu_processes)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_resolver(name, resolver)
