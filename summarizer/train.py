"""`python -m summarizer.train`: train, evaluate ROUGE, keep the best model (see README)."""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from summarizer.config import EXECUTION_WHITELIST, register_resolvers
from summarizer.errors import user_errors_exit
from summarizer.run_files import tee_output

register_resolvers()


@hydra.main(config_path="../conf", config_name="train", execution_whitelist=EXECUTION_WHITELIST)
def main(cfg: DictConfig) -> float:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    with user_errors_exit(), tee_output(run_dir / "train.log"):
        # Imported here so `--help` and `--cfg job` stay fast.
        from summarizer.pipeline import train

        return train(cfg, run_dir)["eval_rouge_sum"]


if __name__ == "__main__":
    main()
