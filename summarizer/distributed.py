"""One run in several processes (`torchrun`, `accelerate launch`): who writes, and where.

Every process runs the whole entry point, Hydra included. They must agree on one run directory
(each would otherwise stamp its own start time on it) and only the main process writes files,
logs and reports; the others train, evaluate and exit. The launchers describe the processes in
environment variables, so this module reads them before `torch.distributed` is set up.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from summarizer import hardware
from summarizer.errors import SummarizerError

# How long the other processes wait for the main one to publish its start time.
_STORE_TIMEOUT = timedelta(minutes=5)
_launch_times: dict[str, str] = {}


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return rank() == 0


def on_main_process(value, other=None):
    """`${summarizer.on_main_process:<value>,<other>}`: `value` in the main process."""
    return value if is_main_process() else other


def launch_time(pattern: str) -> str:
    """`${summarizer.launch_time:<strftime pattern>}`: the time the run started, the same in
    every process of a distributed run (the main process's), for its directory name."""
    if pattern not in _launch_times:
        now = datetime.now().strftime(pattern)
        if world_size() > 1:
            now = _shared(f"launch_time/{pattern}", now)
        _launch_times[pattern] = now
    return _launch_times[pattern]


def check_launch(argv: list[str]) -> None:
    """Refuse, before Hydra starts, a distributed run whose processes cannot agree on one
    run directory by themselves."""
    if world_size() > 1 and not _has_store() and not any(
            arg.startswith(("hydra.run.dir=", "hydra.sweep.dir=")) for arg in argv):
        raise SummarizerError(_no_store_message())


def _has_store() -> bool:
    return os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"


def _no_store_message() -> str:
    return (f"This process is rank {rank()} of {world_size()}, but was not started by torchrun or "
            "accelerate launch, whose store the processes use to agree on one run directory. "
            "Give every process the same directory: add hydra.run.dir=<dir> to the command.")


def _shared(key: str, value: str) -> str:
    """The main process's `value` for `key`, through the launcher's rendezvous store."""
    if not _has_store():
        raise SummarizerError(_no_store_message())
    from torch.distributed import PrefixStore, TCPStore  # heavy: distributed runs only

    # The launcher's store outlives a failed attempt; a restarted attempt gets its own directory.
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    store = PrefixStore(f"summarizer/{attempt}", TCPStore(
        os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), is_master=False,
        timeout=_STORE_TIMEOUT))
    if is_main_process():
        store.set(key, value)
        return value
    return store.get(key).decode("utf-8")


def uses_cpu_processes() -> bool:
    """Several processes on a machine without CUDA: transformers only sets up CPU (gloo)
    distributed training when told `use_cpu`, and otherwise trains each process alone."""
    return world_size() > 1 and not hardware.has_cuda()
