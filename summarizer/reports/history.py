"""Reading `trainer.state.log_history`: training losses, evaluations and the best one."""

from __future__ import annotations

from collections.abc import Sequence


def train_losses(log_history: Sequence[dict]) -> list[dict]:
    """The periodic training logs (`loss` at `step`), not the end-of-training `train_loss`."""
    return [entry for entry in log_history if "loss" in entry and "step" in entry]


def evaluations(log_history: Sequence[dict]) -> list[dict]:
    return [entry for entry in log_history if "eval_loss" in entry]


def best_evaluation(log_history: Sequence[dict], metric: str,
                    greater_is_better: bool) -> dict | None:
    """The evaluation the trainer keeps as best: the first one that reached the best value."""
    scored = [entry for entry in evaluations(log_history) if metric in entry]
    if not scored:
        return None
    pick = max if greater_is_better else min
    return pick(scored, key=lambda entry: entry[metric])


def format_epoch(epoch: float) -> str:
    """`3` for a whole epoch, `2.5` for evaluations within one."""
    return f"{round(epoch, 2):g}"
