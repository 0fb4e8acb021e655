"""Hydra-composed experiment runner for (Korean) dialogue summarization.

    from summarizer import load_config, train, predict, score
"""

import sys
import types

from summarizer.api import build_trainer, load_config, predict, score, train, write_submission
from summarizer.output_checks import DegenerateOutputWarning
from summarizer.results import TrainResult

__version__ = "0.1.0"
__all__ = ["DegenerateOutputWarning", "TrainResult", "build_trainer", "load_config", "predict",
           "score", "train", "write_submission"]


class _Package(types.ModuleType):
    """Importing the command modules `summarizer.train`, `.predict` or `.score` makes Python set
    them as attributes of this package; the API functions of the same names must stay."""

    def __setattr__(self, name, value):
        if name in __all__ and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
