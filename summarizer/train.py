"""`python -m summarizer.train`: train, evaluate ROUGE, keep the best model (see README).

`summarizer.train()` runs the same steps from Python.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from summarizer.config import EXECUTION_WHITELIST, register_resolvers
from summarizer.distributed import check_launch
from summarizer.errors import SummarizerError, user_errors_exit
from summarizer.sweeps.devices import use_sweep_slot

register_resolvers()
log = logging.getLogger("summarizer")


@hydra.main(config_path="../conf", config_name="train", execution_whitelist=EXECUTION_WHITELIST)
def main(cfg: DictConfig) -> float:
    use_sweep_slot()  # a joblib sweep's worker takes its GPU before anything starts CUDA
    # Imported here so `--help` and `--cfg job` stay fast.
    from summarizer.pipeline import run

    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    if hydra_cfg.mode == RunMode.MULTIRUN:
        # A sweep records a failed trial and goes on; exiting here would end the whole sweep.
        try:
            return run(cfg, run_dir).objective
        except SummarizerError as err:
            log.error("%s", err)
            raise
    with user_errors_exit():
        return run(cfg, run_dir).objective


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


if __name__ == "__main__":
    sys.argv = sweep_argv(sys.argv)
    with user_errors_exit():
        check_launch(sys.argv)
    main()
