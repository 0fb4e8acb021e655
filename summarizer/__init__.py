"""Hydra-composed experiment runner for (Korean) dialogue summarization.

    from summarizer import load_config, train, predict, score, average, tune

The commands `python -m summarizer.train`, `.predict`, `.score`, `.average` and `.tune` keep their
code in `summarizer.commands`, so the names `train`, `predict`, `score`, `average` and `tune` here
stay the functions.
"""

from summarizer.api import (
    average,
    build_trainer,
    load_config,
    predict,
    score,
    train,
    tune,
    write_submission,
)
from summarizer.output_checks import DegenerateOutputWarning
from summarizer.results import TrainResult

__version__ = "0.1.0"
__all__ = ["DegenerateOutputWarning", "TrainResult", "average", "build_trainer", "load_config",
           "predict", "score", "train", "tune", "write_submission"]
