"""The train command, started by `python -m summarizer.train`: train, evaluate ROUGE, keep the
best model (see README). `summarizer.train()` runs the same steps from Python.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from summarizer.command import hydra_command
from summarizer.distributed import check_launch
from summarizer.errors import user_errors_exit
from summarizer.resolvers import register_resolvers
from summarizer.sweeps.devices import use_sweep_slot

register_resolvers()


@hydra_command("train")
def main(cfg: DictConfig) -> float:
    use_sweep_slot()  # a joblib sweep's worker takes its GPU before anything starts CUDA
    # Imported here: the pipeline loads transformers, which `--help` and `--cfg job` never need.
    from summarizer.pipeline import run

    return run(cfg, Path(HydraConfig.get().runtime.output_dir)).objective


# Flags after which the command does not run jobs (it prints, or runs exactly one job).
_NO_SWEEP_FLAGS = {"--cfg", "-c", "--help", "-h", "--hydra-help", "--info", "-i",
                   "--shell-completion", "-sc", "--run", "-r", "--multirun", "-m"}


def sweep_argv(argv: list[str]) -> list[str]:
    """`hparams_search=<preset>` alone starts a sweep: Hydra 1.4 takes `hydra.mode` only from
    the command line or the primary config, so a preset cannot switch to MULTIRUN itself."""
    args = argv[1:]
    if any(a.split("=", 1)[0] in _NO_SWEEP_FLAGS for a in args):
        return argv
    if any(a.startswith("hparams_search=") and a != "hparams_search=null" for a in args):
        return [argv[0], "--multirun", *args]
    return argv


def run_command() -> None:
    """What `python -m summarizer.train` runs."""
    argv = sweep_argv(sys.argv)
    with user_errors_exit():
        check_launch(argv)
    main(argv)
