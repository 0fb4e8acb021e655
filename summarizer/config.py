"""Config-level helpers: OmegaConf resolvers, the instantiate whitelist and value checks."""

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

from summarizer.errors import SummarizerError
from summarizer import distributed, hardware

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

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
# What the evaluation reports (`eval_` + these); the only sensible `metric_for_best_model`s.
EVAL_METRICS = ("loss", "rouge1", "rouge2", "rougeL", "rouge_sum", "gen_len")
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


def _train_sampling(group_by_length: bool) -> str:
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


def _integer(minimum: int, optional: bool = False) -> tuple[Callable[[Any], bool], str]:
    def ok(value: Any) -> bool:
        if value is None:
            return optional
        return isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    return ok, f"an integer >= {minimum}" + (" or null" if optional else "")


def _number(minimum: float, strict: bool) -> tuple[Callable[[Any], bool], str]:
    def ok(value: Any) -> bool:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        return value > minimum if strict else value >= minimum
    return ok, f"a number {'>' if strict else '>='} {minimum}"


# Keys and what their values must be; the trainer would reject most of these only after the model
# is loaded, and some (no beams, no tokens) it never rejects.
VALUE_RULES = {
    "training.learning_rate": _number(0, strict=True),
    "training.epochs": _number(1, strict=False),
    "training.batch_size": _integer(1),
    "training.eval_batch_size": _integer(1),
    "training.gradient_accumulation_steps": _integer(1),
    "training.warmup_steps": _integer(0),
    "training.early_stopping_patience": _integer(0),
    "training.generation.num_beams": _integer(1),
    "training.generation.max_length": _integer(1),
    "data.max_source_length": _integer(4),
    "data.max_target_length": _integer(2),
    "data.max_train_samples": _integer(1, optional=True),
    "data.max_dev_samples": _integer(1, optional=True),
    "data.max_test_samples": _integer(1, optional=True),
}


def check_training_values(cfg: DictConfig) -> None:
    """Fail before any data or model is loaded on config values the run would reject, or must
    not run: bad numbers, a best-model metric the evaluation does not report, `_target_`s
    outside the whitelist, remote code switched on by a config file."""
    for key, (ok, expected) in VALUE_RULES.items():
        value = OmegaConf.select(cfg, key)
        if not ok(value):
            raise SummarizerError(f"{key}={value} is invalid: it must be {expected}. "
                                  f"Override it on the command line, e.g. {key}=<value>.")
    check_best_metric(cfg.training.args)
    check_targets(cfg)
    check_trust_remote_code(cfg, command_line_overrides())


def check_best_metric(args: DictConfig) -> None:
    """`metric_for_best_model` must be a metric the evaluation reports, in the right direction."""
    metric = args.metric_for_best_model
    name = "loss" if metric is None else str(metric).removeprefix("eval_")
    if name not in EVAL_METRICS:
        raise SummarizerError(
            f"training.args.metric_for_best_model={metric} is not a metric the evaluation "
            f"reports; use one of {', '.join('eval_' + m for m in EVAL_METRICS)} (the eval_ "
            "prefix is optional)."
        )
    greater = args.get("greater_is_better")
    if (name == "loss" and greater) or (name.startswith("rouge") and greater is False):
        better = "lower" if name == "loss" else "higher"
        raise SummarizerError(
            f"training.args.metric_for_best_model={metric} is better when {better}, but "
            f"training.args.greater_is_better={greater} would keep the worst checkpoint. Set "
            f"training.args.greater_is_better={str(better == 'higher').lower()}."
        )


def find_keys(cfg: DictConfig, name: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, resolved value) of every key called `name`, at any depth of `cfg`."""
    def walk(node: Any, path: tuple[str, ...]) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == name:
                    yield ".".join((*path, key))
                else:
                    yield from walk(value, (*path, str(key)))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, (*path, str(index)))

    # Walked unresolved (a `???` elsewhere must not stop the check); only the hits are resolved.
    for key in walk(OmegaConf.to_container(cfg, resolve=False), ()):
        yield key, OmegaConf.select(cfg, key)


def is_whitelisted(target: str) -> bool:
    """Hydra's rule: an exact entry, or a `package.*` entry for anything under the package."""
    return any(target.startswith(pattern[:-1]) if pattern.endswith(".*") else target == pattern
               for pattern in EXECUTION_WHITELIST)


def check_targets(cfg: DictConfig) -> None:
    """Every `_target_` is whitelisted, checked before anything is built.

    Hydra refuses the others itself, but only when it reaches them, after data and model are
    loaded, and with a traceback; this names all of them at once, before any side effect.
    """
    refused = [f"{key}={value}" for key, value in find_keys(cfg, "_target_")
               if not is_whitelisted(str(value))]
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
