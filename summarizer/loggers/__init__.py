"""Experiment loggers: each option of the `logger` group (`summarizer/conf/logger/`) builds one.

A logger wraps the training in `run(run_dir, config)`, adds its trainer callbacks, and records
the final metrics in `summarize(metrics, best_checkpoint)`, after the run's reports are written.
"""

from summarizer.loggers.base import NoLogger, TensorBoardLogger
from summarizer.loggers.csv_log import CSVLogger
from summarizer.loggers.mlflow_logger import MLflowLogger
from summarizer.loggers.samples import PredictionSamples
from summarizer.loggers.wandb_logger import WandbLogger

__all__ = ["CSVLogger", "MLflowLogger", "NoLogger", "PredictionSamples", "TensorBoardLogger",
           "WandbLogger"]
