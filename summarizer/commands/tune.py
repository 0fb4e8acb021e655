"""The tune command, started by `python -m summarizer.tune run=<dir>`: a search over the decoding
settings of a run's final model on its dev split (summarizer/tuning.py), results in
`<run dir>/tune/`."""

from __future__ import annotations

from omegaconf import DictConfig

from summarizer.command import hydra_command


@hydra_command("tune")
def main(cfg: DictConfig) -> None:
    # Imported here: the search loads transformers and Optuna, which `--help` never needs.
    from summarizer.tuning import run

    run(cfg)
