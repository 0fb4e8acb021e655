"""`python -m summarizer.train`: train, evaluate ROUGE, keep the best model (see README)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from summarizer.config import EXECUTION_WHITELIST, register_resolvers
from summarizer.errors import SummarizerError
from summarizer.run_files import tee_output

log = logging.getLogger(__name__)
register_resolvers()


@contextmanager
def user_errors_exit() -> Iterator[None]:
    """A user's mistake ends the run with its message and status 2, not a traceback."""
    try:
        yield
    except SummarizerError as err:
        log.error("%s", err)
        sys.exit(2)


@hydra.main(config_path="../conf", config_name="train", execution_whitelist=EXECUTION_WHITELIST)
def main(cfg: DictConfig) -> float:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    with user_errors_exit(), tee_output(run_dir / "train.log"):
        # Imported here so `--help` and `--cfg job` stay fast.
        from summarizer.pipeline import train

        return train(cfg, run_dir)["eval_rouge_sum"]


if __name__ == "__main__":
    main()
