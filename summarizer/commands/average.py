"""The average command, started by `python -m summarizer.average run=<dir> last=3` (or best=3):
the run's checkpoints averaged into `final_model_averaged/`, scored on dev against the run's own
final model. `summarizer.average()` is the same in Python."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from summarizer import api
from summarizer.command import hydra_command
from summarizer.options import AVERAGE_RULES, check_options
from summarizer.output_checks import log_only
from summarizer.overrides import command_line_overrides
from summarizer.remote_code import check_trust_remote_code


def run(cfg: DictConfig) -> dict[str, Any]:
    """The command: every option checked, then what `summarizer.average` does."""
    check_options(cfg, AVERAGE_RULES)
    check_trust_remote_code(cfg, command_line_overrides())
    return api.average(cfg.run, last=cfg.last, best=cfg.best, batch_size=cfg.batch_size,
                       trust_remote_code=cfg.trust_remote_code,
                       data=OmegaConf.to_container(cfg.data, resolve=True))


@hydra_command("average")
def main(cfg: DictConfig) -> None:
    with log_only():
        run(cfg)
