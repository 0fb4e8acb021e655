"""`python -m summarizer.train`: train, evaluate ROUGE, keep the best model (see README).

`summarizer.train()` runs the same steps from Python.
"""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from summarizer.config import EXECUTION_WHITELIST, register_resolvers
from summarizer.errors import user_errors_exit

register_resolvers()


@hydra.main(config_path="../conf", config_name="train", execution_whitelist=EXECUTION_WHITELIST)
def main(cfg: DictConfig) -> float:
    with user_errors_exit():
        # Imported here so `--help` and `--cfg job` stay fast.
        from summarizer.pipeline import run

        return run(cfg, Path(HydraConfig.get().runtime.output_dir)).objective


if __name__ == "__main__":
    main()
