"""Config-level helpers: OmegaConf resolvers, the instantiate whitelist, remote code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException
from omegaconf import DictConfig, OmegaConf

from summarizer import distributed, hardware
from summarizer.errors import SummarizerError
from summarizer.options import PRECISIONS

# `_target_`s the shipped configs may name. Narrow on purpose: a broad `transformers.*` or
# `torch.*` would let a shared YAML file call `torch.load` or load remote code.
EXECUTION_WHITELIST = [
    "summarizer.*",
    "transformers.MBartConfig",
    "transformers.Seq2SeqTrainingArguments",
    "transformers.DataCollatorForSeq2Seq",
    "transformers.EarlyStoppingCallback",
    # Callable objects that the targets above return are checked by their class too.
    "transformers.tokenization_utils_tokenizers.TokenizersBackend",
    "transformers.models.bart.modeling_bart.BartForConditionalGeneration",  # KoBART
    "transformers.models.mbart.modeling_mbart.MBartForConditionalGeneration",
    "transformers.data.data_collator.DataCollatorForSeq2Seq",
]

# `1` or `true` lets models and tokenizers run the Python code their repository ships.
TRUST_REMOTE_CODE_ENV = "SUMMARIZER_TRUST_REMOTE_CODE"


def _precision_flag(flag: str, precision: str) -> bool:
    """Resolve `training.precision` into the fp16/bf16 booleans of the training arguments."""
    if precision not in PRECISIONS:
        raise SummarizerError(
            f"training.precision={precision!r} is not one of {', '.join(PRECISIONS)}."
        )
    if precision == "auto":
        precision = hardware.auto_precision()
    return precision == flag


def _train_sampling(group_by_length: Any) -> str:
    """`training.group_by_length` as transformers' `train_sampling_strategy`."""
    if not isinstance(group_by_length, bool):
        raise SummarizerError(
            f"training.group_by_length={group_by_length!r} is invalid: use true or false."
        )
    return "group_by_length" if group_by_length else "random"


def _pad_multiple(value: Any) -> int | None:
    """`training.pad_to_multiple_of`: `auto` pads batches to a multiple of 8 on a GPU (tensor
    cores work on tiles of 8), and not at all on a CPU, where it would only add work."""
    if value == "auto":
        return 8 if hardware.has_cuda() else None
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise SummarizerError(f"training.pad_to_multiple_of={value!r} is invalid: use auto, null or "
                          "a positive integer.")


def _tf32(value: Any) -> bool | None:
    """`training.tf32`: `auto` switches TF32 matrix multiplications on where the GPU has them
    and leaves torch's setting alone elsewhere (transformers refuses `true` without them)."""
    if value == "auto":
        return True if hardware.supports_tf32() else None
    if value is None or isinstance(value, bool):
        return value
    raise SummarizerError(f"training.tf32={value!r} is invalid: use auto, true, false or null.")


def _sweep_job() -> tuple[str, int] | None:
    """(sweep dir, job number) inside a `--multirun` job, else None."""
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    hydra_cfg = HydraConfig.get()
    return str(hydra_cfg.sweep.dir), int(hydra_cfg.job.num)


def _trial_name(name: str) -> str:
    job = _sweep_job()
    return name if job is None else f"{name}-trial-{job[1]}"


def _sweep_group() -> str | None:
    job = _sweep_job()
    return None if job is None else job[0]


def env_trusts_remote_code() -> bool:
    """SUMMARIZER_TRUST_REMOTE_CODE from the user's environment, not from `hydra.job.env_set`
    (which a config file can fill, and Hydra copies into the environment of the run)."""
    if HydraConfig.initialized() and TRUST_REMOTE_CODE_ENV in HydraConfig.get().job.env_set:
        return False
    return os.environ.get(TRUST_REMOTE_CODE_ENV, "").strip().lower() in ("1", "true")


def register_resolvers() -> None:
    # `hardware` functions are looked up on each call, so tests can stand in for a GPU.
    for name, resolver in (("summarizer.precision", _precision_flag),
                           ("summarizer.has_cuda", lambda: hardware.has_cuda()),
                           ("summarizer.pad_multiple", _pad_multiple),
                           ("summarizer.tf32", _tf32),
                           ("summarizer.train_sampling", _train_sampling),
                           ("summarizer.trial_name", _trial_name),
                           ("summarizer.sweep_group", _sweep_group),
                           ("summarizer.env_trusts_remote_code", env_trusts_remote_code),
                           ("summarizer.launch_time", distributed.launch_time),
                           ("summarizer.on_main_process", distributed.on_main_process),
                           ("summarizer.distributed_cpu", distributed.uses_cpu_processes)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_resolver(name, resolver)


def to_container(cfg: DictConfig) -> dict:
    """The composed config as a plain dict (what loggers and JSON files get)."""
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)


def find_keys(cfg: DictConfig, name: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, resolved value) of every key called `name`, at any depth of `cfg`.

    A value that does not resolve (an interpolation Hydra fills only later) is given as written.
    """
    def walk(node: Any, path: tuple) -> Iterator[tuple]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == name:
                    yield (*path, key)
                else:
                    yield from walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, (*path, index))

    # Walked unresolved (a `???` elsewhere must not stop the check); only the hits are resolved.
    raw = OmegaConf.to_container(cfg, resolve=False)
    for path in walk(raw, ()):
        yield ".".join(map(str, path)), _value_at(cfg, raw, path)


def _value_at(cfg: DictConfig, raw: Any, path: tuple) -> Any:
    node, written = cfg, raw
    for part in path:
        written = written[part]
    try:
        for part in path:
            node = node[part]
    except Exception:  # noqa: BLE001 - e.g. `${hydra:...}` outside a running job
        return written
    return node


# What the `hydra` node's sweeper and launcher may also build: Hydra's own and the installed
# sweeper/launcher plugins, and the Optuna samplers and pruners the Optuna sweeper creates.
PLUGIN_WHITELIST = [
    "hydra._internal.core_plugins.*",
    "hydra_plugins.*",
    "optuna.samplers.*",
    "optuna.pruners.*",
]
PLUGIN_NODES = ("hydra.sweeper.", "hydra.launcher.")
# `_target_` for `instantiate`; `()` for the factories of Python's logging config (Hydra's
# `job_logging` and `hydra_logging`).
CALL_KEYS = ("_target_", "()")


def is_whitelisted(target: str, patterns: Sequence[str] = EXECUTION_WHITELIST) -> bool:
    """Hydra's rule: an exact entry, or a `package.*` entry for anything under the package."""
    return any(target.startswith(pattern[:-1]) if pattern.endswith(".*") else target == pattern
               for pattern in patterns)


def check_targets(cfg: DictConfig) -> None:
    """Every object the config asks to build is whitelisted, checked before anything is built.

    Covers `_target_` and logging `()` factories at any depth, the `hydra` node included (its
    callbacks and logging factories run before the command's own code). Hydra refuses some of
    the others only when it reaches them, with a traceback, and lets `builtins.open` through;
    this names all of them at once, before any side effect.
    """
    refused = []
    for name in CALL_KEYS:
        for key, value in find_keys(cfg, name):
            patterns = EXECUTION_WHITELIST + (
                PLUGIN_WHITELIST if key.startswith(PLUGIN_NODES) else [])
            if not is_whitelisted(str(value), patterns):
                refused.append(f"{key}={value}")
    if refused:
        raise SummarizerError(
            f"The config asks to call {', '.join(refused)}, which the execution whitelist "
            "(EXECUTION_WHITELIST in summarizer/config.py) does not allow: a config may only "
            "build the project's own objects. Remove the key from the command line or from the "
            "config file that sets it."
        )


# The overrides `summarizer.load_config` was given, while `summarizer.train` runs its config.
API_OVERRIDES: ContextVar[list[str] | None] = ContextVar("api_overrides", default=None)


def command_line_overrides() -> list[str]:
    """The overrides typed on the command line, read from `sys.argv` (a config file can add
    entries to Hydra's own record of them, `hydra.overrides.task`), or given to the API."""
    given = API_OVERRIDES.get()
    if given is not None:
        return list(given)
    return [arg for arg in sys.argv[1:] if "=" in arg and not arg.startswith("-")]


def check_trust_remote_code(cfg: DictConfig, command_line: Sequence[str]) -> None:
    """Code shipped with a model runs only when the user switched it on in the command line or
    SUMMARIZER_TRUST_REMOTE_CODE, never because a (shared) config file set it."""
    switched_on = [key for key, value in find_keys(cfg, "trust_remote_code") if value]
    if not switched_on or env_trusts_remote_code():
        return
    parser = OverridesParser.create()
    for arg in command_line:
        try:
            override = parser.parse_override(arg)
        except OverrideParseException:  # the value of a flag such as `--config-dir`
            continue
        if (override.key_or_group.rpartition(".")[2] == "trust_remote_code"
                and not override.is_delete() and override.value() in (True, 1)):
            return
    raise SummarizerError(
        f"{switched_on[0]}=true is set by a config file, and a config file may not let a model "
        "run the Python code its repository ships. If you trust "
        f"{OmegaConf.select(cfg, 'model.name_or_path', default='the model')}, pass "
        f"model.trust_remote_code=true on the command line or set {TRUST_REMOTE_CODE_ENV}=1."
    )
