"""`@hydra_command`: what every `python -m summarizer.<command>` runs around its Hydra task.

Hydra builds objects from the `hydra` node (callbacks, sweeper, launcher, logging factories)
before the task function starts, and its built-in blocklist lets `builtins.open` or
`pathlib.Path.touch` through. So the command line is composed once more and checked before
Hydra is handed the command: a refused `_target_` anywhere in the config, or a config that does
not compose, ends with the project's message and exit status 2 before anything is built.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra._internal.hydra import Hydra
from hydra._internal.utils import (
    _run_hydra,
    create_automatic_config_search_path,
    detect_calling_file_or_module_from_task_function,
    detect_task_name,
    get_args_parser,
)
from hydra.core.config_search_path import SearchPathQuery
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.types import RunMode
from hydra.utils import execution_whitelist
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from summarizer.distributed import is_main_process
from summarizer.errors import SummarizerError, user_errors_exit
from summarizer.multirun import multirun_job
from summarizer.resolvers import register_resolvers
from summarizer.secrets import redact_files, secret_values
from summarizer.whitelist import EXECUTION_WHITELIST, check_targets

CONF_DIR = Path(__file__).resolve().parent / "conf"
HYDRA_FILES = ("config.yaml", "hydra.yaml", "overrides.yaml")

log = logging.getLogger("summarizer")


def hydra_command(config_name: str) -> Callable[[Callable[[DictConfig], Any]], Callable[[], Any]]:
    """`@hydra.main` for the project's commands: one execution whitelist, checked up front.

    The task runs with secrets masked in its `.hydra/` files and a user's mistake ending in the
    message and exit 2. In a `--multirun` job the error is raised, so that the sweep records a
    failed trial and goes on.
    """
    def decorate(task: Callable[[DictConfig], Any]) -> Callable[[], Any]:
        @functools.wraps(task)
        def job(cfg: DictConfig) -> Any:
            hydra_cfg = HydraConfig.get()
            sweeping = multirun_job() is not None
            try:
                with user_errors_exit(raise_instead=sweeping):
                    check_targets(cfg)
                    _mask_saved_secrets(cfg, hydra_cfg)
                    return task(cfg)
            except Exception:
                if sweeping:
                    raise
                # Reported here: Hydra's own report starts with the command line, secrets and all.
                log.exception("python -m summarizer.%s failed; the traceback follows.",
                              config_name)
                sys.exit(1)

        @functools.wraps(task)
        def main(argv: Sequence[str] | None = None) -> None:
            """Run the command for `argv`, the command line as `sys.argv` holds it (the
            default), program name first."""
            args = list(sys.argv if argv is None else argv)[1:]
            with user_errors_exit():
                check_command_line(config_name, args, task)
            _run_hydra_with(config_name, args, job)

        main.config_name = config_name
        return main

    return decorate


def _run_hydra_with(config_name: str, args: list[str], job: Callable[[DictConfig], Any]) -> None:
    """What `@hydra.main` runs, given the arguments instead of reading them from `sys.argv`, so
    a command can change what it runs (train: a sweep preset adds --multirun) without
    rewriting the process's `sys.argv`."""
    parser = get_args_parser()
    with execution_whitelist(EXECUTION_WHITELIST):
        _run_hydra(args=parser.parse_intermixed_args(args), args_parser=parser, task_function=job,
                   config_path=str(CONF_DIR), config_name=config_name)


def _mask_saved_secrets(cfg: DictConfig, hydra_cfg: DictConfig) -> None:
    """Hydra saved the config and the command line before the task started; mask them."""
    if not hydra_cfg.output_subdir or not is_main_process():
        return
    hydra_dir = Path(hydra_cfg.runtime.output_dir) / str(hydra_cfg.output_subdir)
    redact_files([hydra_dir / name for name in HYDRA_FILES], secret_values(cfg))


def check_command_line(config_name: str, argv: Sequence[str],
                       task: Callable[..., Any]) -> None:
    """Compose what `argv` asks Hydra to run and check every `_target_` in it, `hydra.*` too.

    Raises `SummarizerError` for a refused target, a config that does not compose (a misspelt
    key or group), and Hydra's `--experimental-rerun`, which loads a pickle.
    """
    args = get_args_parser().parse_intermixed_args(list(argv))
    if args.experimental_rerun is not None:
        raise SummarizerError(
            "--experimental-rerun is refused: it loads a pickled config, and unpickling runs "
            "code. Rerun a job with the overrides saved in its .hydra/overrides.yaml instead."
        )
    if args.shell_completion or args.help or args.hydra_help:
        return
    register_resolvers()
    try:
        cfg = _compose(config_name, args, task)
    except (HydraException, OmegaConfBaseException) as err:
        # Hydra appends its search path to a missing group option: noise to a user.
        reason = " ".join(str(err).split()).partition(" Config search path:")[0].rstrip(".")
        raise SummarizerError(
            f"The command line does not compose into a config: {reason}. "
            f"Check the key or group name against `python -m summarizer.{config_name} --cfg "
            "job` "
            "(a new key needs a leading +, e.g. +key=value)."
        ) from None
    check_targets(cfg)


def _compose(config_name: str, args: Any, task: Callable[..., Any]) -> DictConfig:
    """The config Hydra composes for `args`, with its `hydra` node, built the way Hydra's own
    `_run_hydra` builds its search path (so `--config-dir` and `--config-path` count too)."""
    config_name = args.config_name or config_name
    calling_file, calling_module = detect_calling_file_or_module_from_task_function(task)
    search_path = create_automatic_config_search_path(
        calling_file, calling_module, args.config_path or str(CONF_DIR))
    if args.config_dir is not None:
        search_path.prepend(provider="command-line",
                            path=f"file://{os.path.abspath(args.config_dir)}",
                            anchor=SearchPathQuery(provider="schema"))
    GlobalHydra.instance().clear()
    try:
        composer = Hydra.create_main_hydra2(
            task_name=detect_task_name(calling_file, calling_module),
            config_search_path=search_path)
        overrides = list(args.overrides)
        parsed = composer.config_loader.parse_overrides(config_name, overrides)
        mode = composer.get_mode(config_name=config_name, overrides=overrides,
                                 parsed_overrides=parsed)
        multirun = args.multirun or mode == RunMode.MULTIRUN
        return composer.compose_config(config_name, overrides,
                                       run_mode=RunMode.MULTIRUN if multirun else RunMode.RUN,
                                       with_log_configuration=False, parsed_overrides=parsed)
    finally:
        GlobalHydra.instance().clear()
