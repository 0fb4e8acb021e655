"""`hydra/sweeper=summarizer_optuna`: the Hydra Optuna sweeper, made failure-tolerant.

It extends hydra-optuna-sweeper (exactly the version in `PLUGIN_VERSION`, whose internals it
reuses) with what a long sweep needs:

- a trial that raises or diverges is recorded as failed with its reason and the sweep goes on;
  the sweep fails only when every trial of the invocation failed;
- job folders continue after the ones already in the sweep directory and are reserved with
  `mkdir`, so neither a continued study nor a second sweep process overwrites a trial;
- the sampler is seeded with `seed + <number of the invocation's first trial>`: a continued
  study does not repeat its first proposals and concurrent workers never share a seed;
- `journal:///<file>` storage for several processes on one machine;
- each job reports its per-epoch `eval_rouge_sum` to its trial, and an optional Optuna pruner
  stops trials that fall behind earlier ones (pruned trials keep their best checkpoint); this
  needs the jobs in the sweeper's process, so a pruner with another launcher is refused;
- `trials.csv`, `optimization_results.yaml`, plots and `summary.md` at the sweep root after
  every trial; optionally only the best trial keeps its weights.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import optuna
from hydra._internal.core_plugins.basic_launcher import BasicLauncher
from hydra.core.config_store import ConfigStore
from hydra.errors import CompactHydraException
from hydra.utils import instantiate
from hydra_plugins.hydra_optuna_sweeper._impl import (
    OptunaSweeperImpl,
    create_params_from_overrides,
)
from hydra_plugins.hydra_optuna_sweeper.config import OptunaSweeperConf
from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper
from omegaconf import DictConfig, OmegaConf
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from summarizer.checkpoints import CHECKPOINT_PREFIX
from summarizer.metric_names import EVAL_ROUGE_METRICS
from summarizer.secrets import redact_files, secret_values
from summarizer.sweeps import trial as trial_slots

log = logging.getLogger(__name__)

PLUGIN_VERSION = "1.4.0rc3"
KEEP_WEIGHTS = ("all", "best")
PRUNER_WHITELIST = ("optuna.pruners.*",)


class SweepConfigError(CompactHydraException, ValueError):
    """A mistake in the sweep's settings: Hydra prints the message alone, without a traceback."""


@dataclass
class SummarizerSweeperConf(OptunaSweeperConf):
    _target_: str = "summarizer.sweeps.sweeper.SummarizerSweeper"
    # Nested like the config they override ({training: {learning_rate: ...}}), so that
    # `hydra.sweeper.params.training.learning_rate=...` works on the command line.
    params: Any = None
    # null, or an Optuna pruner: {_target_: optuna.pruners.MedianPruner, n_warmup_steps: 2}
    pruner: Any = None
    # all | best: delete checkpoints and final_model/ of every trial but the best one.
    keep_weights: str = "all"


ConfigStore.instance().store(group="hydra/sweeper", name="summarizer_optuna",
                             node=SummarizerSweeperConf, provider="summarizer")


def _check_plugin_version() -> None:
    found = version("hydra-optuna-sweeper")
    if found != PLUGIN_VERSION:
        raise RuntimeError(
            f"summarizer's sweeper extends hydra-optuna-sweeper {PLUGIN_VERSION} but {found} is "
            f"installed. Install the pinned version: "
            f"pip install hydra-optuna-sweeper=={PLUGIN_VERSION}"
        )


class SummarizerSweeper(OptunaSweeper):
    def __init__(self, sampler: Any, direction: Any, storage: Any | None, study_name: str | None,
                 n_trials: int, n_jobs: int, max_failure_rate: float,
                 custom_search_space: str | None, params: DictConfig | None,
                 pruner: Any = None, keep_weights: str = "all") -> None:
        _check_plugin_version()
        if keep_weights not in KEEP_WEIGHTS:
            raise SweepConfigError(f"hydra.sweeper.keep_weights={keep_weights!r}: use all or best.")
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise SweepConfigError(
                f"hydra.sweeper.n_jobs={n_jobs!r} is invalid: it is the number of trials Optuna "
                "proposes per batch and must be an integer >= 1. It follows hydra.launcher.n_jobs, "
                "which joblib's own default (-1, every core) leaves invalid: use launcher=joblib "
                "(2 trials at once) or set hydra.launcher.n_jobs=<trials at once>, or set "
                "hydra.sweeper.n_jobs=<trials per batch>.")
        super().__init__(sampler, direction, storage, study_name, n_trials, n_jobs,
                         max_failure_rate, custom_search_space, params)
        seed = OmegaConf.select(sampler, "seed") if isinstance(sampler, DictConfig) else None
        self.sweeper = _Sweep(
            self.sweeper, sampler_config=sampler, seed=seed,
            pruner=None if pruner is None else instantiate(
                pruner, _execution_whitelist_=PRUNER_WHITELIST),
            keep_weights=keep_weights)


class _Sweep(OptunaSweeperImpl):
    """The released sweep loop with per-trial bookkeeping; helpers are the plugin's own."""

    def __init__(self, base: OptunaSweeperImpl, *, sampler_config: Any, seed: int | None,
                 pruner: optuna.pruners.BasePruner | None, keep_weights: str) -> None:
        self.__dict__.update(base.__dict__)
        self.sampler_config = sampler_config
        self.seed = seed
        self.pruner = pruner
        self.keep_weights = keep_weights

    def sweep(self, arguments: list[str]) -> None:
        # Imported here: Hydra loads this plugin module on every command (plots need matplotlib).
        from summarizer.sweeps.summary import without_password, write_summary

        if len(self._get_directions()) != 1:
            raise SweepConfigError("hydra/sweeper=summarizer_optuna optimizes one objective "
                                   "(eval_rouge_sum); give one direction.")
        in_process = isinstance(self.launcher, BasicLauncher)
        if self.pruner is not None and not in_process:
            raise SweepConfigError(
                f"hydra.sweeper.pruner is set, but the launcher ({type(self.launcher).__name__}) "
                "runs trials in other processes, from where they cannot report their epochs to "
                "Optuna, so none would be pruned. Prune with Hydra's default launcher (drop "
                "launcher=... / hydra/launcher=...), or drop the pruner: "
                "hydra.sweeper.pruner=null.")
        self._process_searchspace_config()
        distributions, fixed, fixed_overrides = create_params_from_overrides(
            self._parse_sweeper_params_config() + list(arguments))
        for name in fixed:
            distributions.pop(name, None)
        study = optuna.create_study(study_name=self.study_name, storage=_storage(self.storage),
                                    sampler=self._sampler_for(distributions),
                                    pruner=self.pruner or optuna.pruners.NopPruner(),
                                    directions=self._get_directions(), load_if_exists=True)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        redact_files([sweep_dir / "multirun.yaml"], secret_values(self.config))
        param_names = list(distributions)
        outcomes = []
        remaining = self.n_trials
        while remaining > 0:
            batch = min(remaining, self.n_jobs)
            trials = [study.ask() for _ in range(batch)]
            if not outcomes:
                self._seed_sampler(study, trials[0].number)
            self.job_idx = _reserve_job_numbers(sweep_dir, batch)
            log.info("Study %s (%s): trials %s in job folders %d-%d of %s", study.study_name,
                     without_password(self.storage) or "in memory",
                     ", ".join(str(t.number) for t in trials), self.job_idx,
                     self.job_idx + batch - 1, sweep_dir)
            overrides = self._configure_trials(trials, distributions, fixed, fixed_overrides)
            for offset, trial in enumerate(trials):
                trial_slots.register(self.job_idx + offset,
                                     trial_slots.TrialSlot(trial, prune=self.pruner is not None))
            started = time.monotonic()
            returns = self.launcher.launch(overrides, initial_job_idx=self.job_idx)
            seconds = time.monotonic() - started
            if in_process:  # one after another; other launchers run the batch at once
                seconds /= max(len(returns), 1)
            for offset, (trial, ret) in enumerate(zip(trials, returns, strict=True)):
                slot = trial_slots.release(self.job_idx + offset)
                outcomes.append(self._record(study, trial, ret, slot, self.job_idx + offset,
                                             seconds))
                if self.keep_weights == "best":
                    _keep_best_weights(study)
                write_summary(sweep_dir, study, param_names, self.storage)
            remaining -= batch
        if outcomes and all(state == TrialState.FAIL for state in outcomes):
            raise RuntimeError(
                f"All {len(outcomes)} trials of this sweep failed; their reasons are in "
                f"{sweep_dir / 'trials.csv'} and each trial's train.log.")

    def _parse_sweeper_params_config(self) -> list[str]:
        if not self.params:
            return []
        flat = OmegaConf.to_container(self.params, resolve=True)
        return [f"{key}={value}" for key, value in _flatten(flat).items() if value is not None]

    def _seed_sampler(self, study: optuna.Study, first_trial: int) -> None:
        """Seed the sampler with `seed + <number of this invocation's first trial>`.

        A continued study then does not repeat its first proposals, and sweep workers sharing a
        storage (each gets its own first trial number from it) never share a seed. A fresh
        study's single worker keeps the configured seed.
        """
        if first_trial and self.seed is not None and not self._is_grid():
            study.sampler = instantiate(self.sampler_config, seed=self.seed + first_trial,
                                        _execution_whitelist_=("optuna.samplers.*",))

    def _is_grid(self) -> bool:
        return getattr(self.sampler, "func", None) is optuna.samplers.GridSampler

    def _sampler_for(self, distributions: dict) -> optuna.samplers.BaseSampler:
        if not self._is_grid():
            return self.sampler
        grid = {n: self._to_grid_sampler_choices(d) for n, d in distributions.items()}
        self.n_trials = min(self.n_trials, math.prod(len(v) for v in grid.values()))
        return self.sampler(grid)

    def _record(self, study: optuna.Study, trial: optuna.Trial, ret, slot, job: int,
                seconds: float) -> TrialState:
        """Tell the study how the trial ended and keep what the summary shows as user attrs."""
        run_dir = Path(ret.hydra_cfg.hydra.runtime.output_dir) if ret.hydra_cfg else None
        trial.set_user_attr("job", job)
        trial.set_user_attr("run_dir", str(run_dir) if run_dir else "")
        trial.set_user_attr("runtime_s", round(seconds, 1))
        metrics = _read_metrics(run_dir)
        for name in EVAL_ROUGE_METRICS:
            if name in metrics:
                trial.set_user_attr(name, metrics[name])
        if "epoch" in metrics:
            trial.set_user_attr("epochs", metrics["epoch"])
        try:
            value = float(ret.return_value)  # re-raises the job's exception
        except Exception as err:  # noqa: BLE001 - any failure of a trial is recorded, not fatal
            return self._fail(study, trial, f"{type(err).__name__}: {err}")
        if not math.isfinite(value):
            return self._fail(study, trial, f"objective is {value}")
        trial.set_user_attr("objective", value)
        if slot is not None and slot.pruned_at_epoch is not None:
            trial.set_user_attr("failure_reason", f"pruned after epoch {slot.pruned_at_epoch}")
            _tell(study, trial, state=TrialState.PRUNED)
            log.info("Trial %d pruned (best eval_rouge_sum %.2f)", trial.number, value)
            return TrialState.PRUNED
        _tell(study, trial, values=value)
        log.info("Trial %d complete: eval_rouge_sum %.2f", trial.number, value)
        return TrialState.COMPLETE

    @staticmethod
    def _fail(study: optuna.Study, trial: optuna.Trial, reason: str) -> TrialState:
        reason = " ".join(reason.split())
        trial.set_user_attr("failure_reason", reason)
        _tell(study, trial, state=TrialState.FAIL)
        log.warning("Trial %d failed: %s", trial.number, reason)
        return TrialState.FAIL


def _tell(study: optuna.Study, trial: optuna.Trial, **result: Any) -> None:
    try:
        study.tell(trial, **result)
    except RuntimeError as err:
        # GridSampler asks the study to stop once the grid is covered; the loop ends anyway.
        if "Study.stop" not in str(err):
            raise


def _flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


JOURNAL_PREFIX = "journal:///"


def _storage(url: str | None):
    """An Optuna storage: any SQLAlchemy URL, or `journal:///<file>` (`journal:////<abs path>`),
    the file-based journal Optuna recommends for several processes on one machine (SQLite
    locks under concurrent writers)."""
    if url is None:
        return None
    if not str(url).startswith(JOURNAL_PREFIX):
        return _database_storage(str(url))
    path = Path(str(url)[len(JOURNAL_PREFIX):])
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def _database_storage(url: str, attempts: int = 5):
    """Optuna's storage in a database. Sweep workers started together on an empty server
    database race to create its tables, and PostgreSQL answers the losers with a duplicate key
    (`pg_type_typname_nsp_index`) or an existing table; by the next attempt the tables are there."""
    # A database storage alone needs SQLAlchemy: loaded for it only.
    from optuna.storages import RDBStorage
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(1, attempts + 1):
        try:
            return RDBStorage(url)
        except (IntegrityError, ProgrammingError):
            if attempt == attempts:
                raise
            log.info("Another sweep worker is creating the study's tables; retrying")
            time.sleep(0.2 * attempt)


def _reserve_job_numbers(sweep_dir: Path, count: int) -> int:
    """The first of `count` consecutive job folders created here, after every existing one.

    `mkdir` fails when the folder exists, so sweep processes sharing a sweep directory never
    get the same folder (Hydra then writes into the folder it finds).
    """
    sweep_dir.mkdir(parents=True, exist_ok=True)
    start = max((int(p.name) for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()),
                default=-1) + 1
    while True:
        made = []
        try:
            for number in range(start, start + count):
                (sweep_dir / str(number)).mkdir()
                made.append(number)
            return start
        except FileExistsError:  # another process took it: start after it
            for number in made:
                (sweep_dir / str(number)).rmdir()
            start += len(made) + 1


def _read_metrics(run_dir: Path | None) -> dict:
    path = run_dir / "metrics.json" if run_dir else None
    if path is None or not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _keep_best_weights(study: optuna.Study) -> None:
    """Delete the weights (checkpoints, final_model/) of every trial but the best complete one."""
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if not complete:
        return
    best = max(complete, key=lambda t: t.value)
    for t in study.get_trials(deepcopy=False):
        run_dir = t.user_attrs.get("run_dir")
        if t.number == best.number or not run_dir or not Path(run_dir).is_dir():
            continue
        doomed = [path for path in Path(run_dir).iterdir() if path.is_dir()
                  and (path.name == "final_model" or path.name.startswith(CHECKPOINT_PREFIX))]
        for path in doomed:
            shutil.rmtree(path)
        if doomed:
            log.info("keep_weights=best: removed the weights of trial %d (%s)", t.number, run_dir)
