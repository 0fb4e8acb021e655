"""`logger=mlflow`: the run in an MLflow tracking store, local by default.

A run records the composed config as flat parameters (secrets already masked), every logged
value at its global step, a table of sample predictions per evaluation, the final metrics as
`final/<name>`, and the run's reports as artifacts. Without `logger.tracking_uri` (nor
`MLFLOW_TRACKING_URI`) the store is `<logger.store_dir>/mlflow.db` with artifacts beside it: an
SQLite store, because MLflow refuses its older directory store unless told otherwise. Sweep
trials become child runs of one parent run per sweep (`logger.group`).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from summarizer.atomic_files import write_json_atomic
from summarizer.errors import SummarizerError
from summarizer.loggers.base import NoLogger
from summarizer.loggers.mlflow_store import (
    check_reachable,
    flat_params,
    new_params,
    report_files,
    resolve_tracking,
    store_lock,
)
from summarizer.loggers.samples import COLUMNS, PredictionSamples
from summarizer.secrets import mask_url_passwords

log = logging.getLogger(__name__)

# In the run directory: which MLflow run holds this run, so a resumed run continues it.
RUN_FILE = "mlflow_run.json"
# The tag that marks a sweep's parent run, valued with the sweep's group.
PARENT_TAG = "summarizer.sweep"


class MLflowLogger(NoLogger):
    def __init__(self, project: str = "summarizer", run_name: str | None = None,
                 group: str | None = None, tags: list[str] | None = None,
                 tracking_uri: str | None = None, store_dir: str = "outputs",
                 prediction_rows: int = 8, log_model: bool = False):
        if importlib.util.find_spec("mlflow") is None:
            raise SummarizerError(
                "logger=mlflow needs MLflow's client: pip install 'summarizer[mlflow]' (or "
                "mlflow-skinny), or choose another logger (logger=wandb|tensorboard|csv|none)."
            )
        self.project = project
        self.run_name = run_name
        self.group = group
        self.tags = list(tags or [])
        self.tracking_uri = tracking_uri
        self.store_dir = Path(store_dir)
        self.prediction_rows = prediction_rows
        self.log_model = log_model
        # Set while `run` is active: what the callback logs to.
        self.client: Any = None
        self.run_id: str | None = None
        self.parent_id: str | None = None

    def callbacks(self, run_dir: Path,
                  samples: PredictionSamples | None = None) -> list[TrainerCallback]:
        return [MLflowCallback(self, samples if self.prediction_rows else None)]

    @contextmanager
    def run(self, run_dir: Path, config: dict) -> Iterator[None]:
        from mlflow import MlflowClient  # optional: installed for logger=mlflow only

        tracking = resolve_tracking(self.tracking_uri, self.store_dir)
        check_reachable(tracking)
        try:
            # An SQLite store creates its tables with the first client: one process at a time.
            with store_lock(self.store_dir):
                self.client = MlflowClient(tracking_uri=tracking.uri)
                experiment_id = self._experiment(tracking.artifact_location)
                self.parent_id = self._parent(experiment_id) if self.group else None
            self.run_id = self._start(experiment_id, run_dir, tracking.uri)
            self._log_params(config)
        except SummarizerError:
            raise
        except Exception as err:  # noqa: BLE001 - any store failure: stop before training
            raise SummarizerError(
                f"logger=mlflow could not start a run in {tracking.shown}: "
                f"{mask_url_passwords(' '.join(str(err).split()))[:300]} Start the tracking "
                "server or correct logger.tracking_uri (or MLFLOW_TRACKING_URI); without either "
                f"the run goes to the local store under logger.store_dir ({self.store_dir})."
            ) from None
        log.info("MLflow: run %s in %s (experiment %r)", self.run_id, tracking.shown,
                 self.project)
        status = "FINISHED"
        try:
            yield
        except KeyboardInterrupt:
            status = "KILLED"
            raise
        except BaseException:
            status = "FAILED"
            raise
        finally:
            self._finish(run_dir, status)

    def summarize(self, metrics: dict, best_checkpoint: str | None) -> None:
        if self.run_id is None:
            return
        from mlflow.entities import Metric

        now, step = int(time.time() * 1000), 0
        final = [Metric(f"final/{key}", float(value), now, step) for key, value in metrics.items()
                 if isinstance(value, (int, float)) and not isinstance(value, bool)]
        self.client.log_batch(self.run_id, metrics=final)
        if best_checkpoint:
            self.client.set_tag(self.run_id, "best_checkpoint", best_checkpoint)

    def _experiment(self, artifact_location: str | None) -> str:
        experiment = self.client.get_experiment_by_name(self.project)
        if experiment is not None:
            return experiment.experiment_id
        return self.client.create_experiment(self.project, artifact_location=artifact_location)

    def _parent(self, experiment_id: str) -> str:
        """The sweep's parent run, created by its first trial (under the store lock, so
        parallel trials find the one the first created)."""
        found = self.client.search_runs(
            [experiment_id], filter_string=f"tags.`{PARENT_TAG}` = '{_quoted(self.group)}'",
            max_results=1)
        if found:
            return found[0].info.run_id
        parent = self.client.create_run(experiment_id, run_name=f"sweep {self.group}",
                                        tags={PARENT_TAG: self.group})
        return parent.info.run_id

    def _start(self, experiment_id: str, run_dir: Path, uri: str) -> str:
        """A new run, or the one this run directory logged to before (a resumed run)."""
        previous = _read_run_file(run_dir / RUN_FILE)
        if previous.get("tracking_uri") == uri and previous.get("experiment_id") == experiment_id:
            self.client.update_run(previous["run_id"], status="RUNNING")
            return previous["run_id"]
        from mlflow.tracking.context.registry import resolve_tags

        tags = resolve_tags({"summarizer.run_dir": str(run_dir.resolve()),
                             **{tag: "" for tag in self.tags}})
        if self.parent_id:
            tags["mlflow.parentRunId"] = self.parent_id
        run_id = self.client.create_run(experiment_id, run_name=self.run_name,
                                        tags=tags).info.run_id
        write_json_atomic({"tracking_uri": uri, "experiment_id": experiment_id,
                           "run_id": run_id, "parent_run_id": self.parent_id},
                          run_dir / RUN_FILE)
        return run_id

    def _log_params(self, config: dict) -> None:
        from mlflow.entities import Param

        logged = self.client.get_run(self.run_id).data.params
        params, changed = new_params(flat_params(config), logged)
        if changed:
            log.warning("MLflow keeps a run's first parameter values; the resumed run changed "
                        "%s (see its config_tree.txt)", ", ".join(changed))
        # MLflow takes at most 100 parameters per call.
        names = list(params)
        for start in range(0, len(names), 100):
            batch = [Param(name, params[name]) for name in names[start:start + 100]]
            self.client.log_batch(self.run_id, params=batch)

    def _finish(self, run_dir: Path, status: str) -> None:
        """Upload the reports (what exists, also of a failed run) and end the run and its
        parent; a store that fails here never hides the run's own outcome."""
        try:
            for path, folder in report_files(run_dir, self.log_model):
                if path.is_dir():
                    self.client.log_artifacts(self.run_id, str(path), folder)
                else:
                    self.client.log_artifact(self.run_id, str(path), folder)
            self.client.set_terminated(self.run_id, status)
            if self.parent_id:
                # The parent ends with its latest trial.
                self.client.set_terminated(self.parent_id, "FINISHED")
        except Exception:  # the run's files are saved; only the store missed its end
            log.warning("MLflow: could not upload the reports or end run %s", self.run_id,
                        exc_info=True)
        self.run_id = None


class MLflowCallback(TrainerCallback):
    """Logs every value the trainer logs at its global step, and after each evaluation a table
    of sample predictions as `eval_predictions/step_<step>.json`."""

    def __init__(self, logger: MLflowLogger, samples: PredictionSamples | None):
        self.logger = logger
        self.samples = samples

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.logger.run_id is None or not state.is_world_process_zero or not logs:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(key, float(value), now, state.global_step)
                   for key, value in logs.items()
                   if isinstance(value, (int, float)) and not isinstance(value, bool)]
        self.logger.client.log_batch(self.logger.run_id, metrics=metrics)

    def on_evaluate(self, args, state, control, **kwargs):
        if self.logger.run_id is None or self.samples is None or not state.is_world_process_zero:
            return
        import pandas as pd

        table = pd.DataFrame(self.samples.table(self.logger.prediction_rows),
                             columns=list(COLUMNS))
        self.logger.client.log_table(self.logger.run_id, data=table,
                                     artifact_file=f"eval_predictions/step_{state.global_step:07d}"
                                                   ".json")


def _read_run_file(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def _quoted(text: str) -> str:
    """`text` inside single quotes of an MLflow search filter."""
    return text.replace("\\", "\\\\").replace("'", "\\'")

