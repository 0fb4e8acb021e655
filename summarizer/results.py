"""What a training run returns to its caller (the Python API, the command, a sweep)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from summarizer.metric_names import OBJECTIVE


@dataclass(frozen=True)
class TrainResult:
    """A finished run; `result["eval_metrics"]` works as well as `result.eval_metrics`."""

    run_dir: Path
    final_model_path: Path
    best_checkpoint: str | None
    eval_metrics: dict[str, float]
    metrics: dict[str, Any] = field(repr=False)

    @property
    def objective(self) -> float:
        """The value the command returns and sweeps maximise: the final dev `eval_rouge_sum`."""
        return float(self.eval_metrics[OBJECTIVE])

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)
