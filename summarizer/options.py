"""Option values: every key a user sets, checked before any data or model is loaded.

Two checks. The rules below give the project's own keys their type and range (a batch size is an
integer >= 1, `training.precision` one of four words). And every object a config builds
(`_target_` nodes) gets only keys its constructor takes, each of the type its annotation
declares, so `+logger.api_key=...` or `training.args.eval_strategy=[1]` stop here with the key
named, not with a `TypeError` after the data has loaded.
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, Union

from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig, OmegaConf

from summarizer.causal.adapter_config import COMPUTE_DTYPES, METHODS
from summarizer.errors import SummarizerError
from summarizer.hardware import PRECISIONS
from summarizer.metric_names import EVAL_METRICS, EVAL_PREFIX
from summarizer.rouge import TOKENIZER_MODES
from summarizer.secrets import is_secret_name
from summarizer.whitelist import check_targets

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Rule:
    """What a key's value must be: `ok` decides, `expected` says it in the error message, and
    `bad` holds values it refuses (the tests give each key these)."""

    ok: Callable[[Any], bool]
    expected: str
    bad: tuple


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _nullable(rule: Rule, optional: bool) -> Rule:
    if not optional:
        return rule
    return Rule(lambda value: value is None or rule.ok(value), f"{rule.expected} or null", rule.bad)


def integer(minimum: int | None = None, optional: bool = False) -> Rule:
    if minimum is None:
        return _nullable(Rule(_is_int, "an integer", ("many", 1.5)), optional)
    return _nullable(Rule(lambda value: _is_int(value) and value >= minimum,
                          f"an integer >= {minimum}", ("many", minimum - 1)), optional)


def number(minimum: float | None = None, strict: bool = False, optional: bool = False) -> Rule:
    if minimum is None:
        return _nullable(Rule(_is_number, "a number", ("lots",)), optional)

    def ok(value: Any) -> bool:
        return _is_number(value) and (value > minimum if strict else value >= minimum)
    below = minimum if strict else minimum - 1
    return _nullable(Rule(ok, f"a number {'>' if strict else '>='} {minimum:g}", ("lots", below)),
                     optional)


def boolean(optional: bool = False) -> Rule:
    return _nullable(Rule(lambda value: isinstance(value, bool), "true or false", ("maybe", 2)),
                     optional)


def one_of(*choices: Any) -> Rule:
    # `True in (1, ...)` holds in Python; compare types too, so that 1 is no `true`.
    def ok(value: Any) -> bool:
        return any(value == choice and type(value) is type(choice) for choice in choices)
    words = ", ".join("null" if c is None else str(c).lower() if isinstance(c, bool) else str(c)
                      for c in choices)
    return Rule(ok, f"one of {words}", ("nonsense",))


def text(optional: bool = False, numbers: bool = False) -> Rule:
    """A non-empty string; `numbers`: a number is fine too (Hydra reads `name=2024` as one)."""
    kinds = (str, int, float) if numbers else (str,)

    def ok(value: Any) -> bool:
        return isinstance(value, kinds) and not isinstance(value, bool) and str(value).strip() != ""
    return _nullable(Rule(ok, "a non-empty text", ("", ["a", "list"])), optional)


def texts(optional: bool = False) -> Rule:
    def ok(value: Any) -> bool:
        return isinstance(value, list) and all(isinstance(item, str) and item for item in value)
    return _nullable(Rule(ok, "a list of texts, e.g. [a,b]", ("one", [1, 2])), optional)


def mapping() -> Rule:
    return Rule(lambda value: isinstance(value, dict), "a mapping, e.g. {key: value}",
                ("text", [1, 2]))


def either(*rules: Rule) -> Rule:
    return Rule(lambda value: any(rule.ok(value) for rule in rules),
                " or ".join(rule.expected for rule in rules), rules[0].bad[:1])


def _metric_name(value: Any) -> str | None:
    name = "loss" if value is None else str(value).removeprefix(EVAL_PREFIX)
    return name if name in EVAL_METRICS else None


GENERATION_RULES = {
    "max_length": integer(1),
    "num_beams": integer(1),
    "no_repeat_ngram_size": integer(0),
    "length_penalty": number(),
    # transformers' beam search also takes "never".
    "early_stopping": either(boolean(), one_of("never")),
}
DATA_RULES = {
    "data.name": text(numbers=True),
    "data.dir": text(),
    "data.train_file": text(),
    "data.dev_file": text(),
    "data.test_file": text(),
    "data.id_column": text(numbers=True),
    "data.text_column": text(numbers=True),
    "data.summary_column": text(numbers=True),
    "data.max_source_length": integer(4),
    "data.max_target_length": integer(2),
    "data.max_train_samples": integer(1, optional=True),
    "data.max_dev_samples": integer(1, optional=True),
    "data.max_test_samples": integer(1, optional=True),
    "data.folds": integer(2, optional=True),
    "data.fold": integer(0, optional=True),
    "data.fold_seed": integer(0),
    "data.empty_rows": one_of("drop", "fail"),
    "data.special_tokens": texts(),
    "data.rouge_tokenizer": one_of(*TOKENIZER_MODES),
}
# A causal model preset's `prompt` (summarizer/causal/prompt_config.py).
PROMPT_RULES = {
    "model.prompt.instruction": text(),
    "model.prompt.user_template": text(),
    "model.prompt.system": text(optional=True),
    "model.prompt.template": text(optional=True),
    "model.prompt.chat_template_kwargs": mapping(),
}
# The `peft` group (summarizer/causal/adapter_config.py).
PEFT_RULES = {
    "peft.method": one_of(*METHODS),
    "peft.rank": integer(1),
    "peft.alpha": integer(1),
    "peft.dropout": Rule(lambda value: _is_number(value) and 0 <= value < 1,
                         "a number from 0 to below 1", ("lots", 1)),
    "peft.target_modules": either(text(), texts()),
    "peft.tags_as_tokens": boolean(),
    "peft.gradient_checkpointing": boolean(),
    "peft.merge": boolean(),
    "peft.compute_dtype": one_of(*COMPUTE_DTYPES),
}
PATH_RULES = {
    "paths.data_dir": text(),
    "paths.outputs_dir": text(),
    "paths.multirun_dir": text(),
    "paths.cache_dir": text(optional=True),
}
# Keys of `python -m summarizer.train` and what their values must be; the trainer would reject
# most of these only after the model is loaded, and some (no beams, no tokens) it never rejects.
TRAIN_RULES = {
    "name": text(numbers=True),
    "seed": integer(0),
    **PATH_RULES,
    **DATA_RULES,
    "model.name": text(numbers=True),
    "model.name_or_path": text(),
    "model.tokenizer_from_data": boolean(),
    "model.trust_remote_code": boolean(),
    "model.tokenizer.vocab_size": integer(100),
    "model.tokenizer.min_frequency": integer(1),
    # Read by summarizer.modeling.causal_from_pretrained (model=causal_lm).
    "model.dtype": one_of("auto", "float32", "bfloat16", "float16"),
    "model.attn_implementation": one_of("sdpa", "eager", "flash_attention_2"),
    **PROMPT_RULES,
    **PEFT_RULES,
    "training.epochs": number(0, strict=True),
    "training.batch_size": integer(1),
    "training.eval_batch_size": integer(1),
    "training.learning_rate": number(0, strict=True),
    "training.weight_decay": number(0),
    # Below 1, transformers reads it as a share of the training steps.
    "training.warmup_steps": number(0),
    "training.gradient_accumulation_steps": integer(1),
    "training.save_total_limit": integer(1, optional=True),
    "training.logging_steps": integer(1),
    "training.early_stopping_patience": integer(0),
    "training.num_workers": integer(0),
    "training.group_by_length": boolean(),
    "training.length_group_batches": integer(1, optional=True),
    "training.sort_eval_by_length": boolean(),
    "training.precision": one_of(*PRECISIONS),
    "training.pad_to_multiple_of": either(one_of("auto", None), integer(1)),
    "training.tf32": one_of("auto", True, False, None),
    "training.torch_compile": boolean(),
    "training.resume_from_checkpoint": text(optional=True),
    **{f"training.generation.{key}": rule for key, rule in GENERATION_RULES.items()},
    "training.epoch_eval.num_beams": integer(1),
    "training.epoch_eval.max_length": integer(1),
    "training.epoch_eval.dev_rows": integer(1, optional=True),
    "training.epoch_eval.every_epochs": integer(1),
    "training.args.eval_strategy": one_of("no", "steps", "epoch"),
    "training.args.save_strategy": one_of("no", "steps", "epoch", "best"),
    "training.args.logging_strategy": one_of("no", "steps", "epoch"),
    "training.trainer.max_nonfinite_steps": integer(1),
    "training.trainer.length_group_batches": integer(1, optional=True),
    "logger.project": text(numbers=True),
    "logger.entity": text(optional=True, numbers=True),
    "logger.run_name": text(optional=True, numbers=True),
    "logger.group": text(optional=True, numbers=True),
    "logger.tags": texts(),
    "logger.mode": one_of("auto", "online", "offline", "disabled"),
    "logger.filename": text(),
    "logger.prediction_rows": integer(0),
    "logger.tracking_uri": text(optional=True),
    "logger.store_dir": text(),
    "logger.log_model": boolean(),
}
# The data settings of `predict` are checked once the run's saved ones are filled in.
PREDICT_RULES = {
    "name": text(numbers=True),
    **PATH_RULES,
    "run": either(text(), texts()),
    "split": one_of(*SPLITS),
    "output": text(optional=True),
    "text": text(optional=True, numbers=True),
    "batch_size": integer(1),
    "ensemble": one_of(None, "mbr"),
    "ensemble_candidates": integer(1),
    "trust_remote_code": boolean(),
    **{f"generation.{key}": _nullable(rule, True) for key, rule in GENERATION_RULES.items()},
    "generation.max_new_tokens": integer(1, optional=True),
    "generation.min_new_tokens": integer(0, optional=True),
    "generation.repetition_penalty": number(0, strict=True, optional=True),
    "generation.tuned": boolean(),
}


def bounds(rule: Rule) -> Rule:
    """A search range: null (not searched), or [low, high] of values `rule` allows, low <= high."""
    def ok(value: Any) -> bool:
        return value is None or (isinstance(value, list) and len(value) == 2
                                 and all(rule.ok(item) for item in value) and value[0] <= value[1])
    return Rule(ok, f"null or [low, high] with low <= high, each {rule.expected}",
                ([3, 1], "wide"))


# `python -m summarizer.tune` (summarizer/tuning.py); its data settings are checked as predict's.
TUNE_RULES = {
    "name": text(numbers=True),
    **PATH_RULES,
    "run": text(),
    "n_trials": integer(1),
    "seed": integer(0),
    "holdout": Rule(lambda value: _is_number(value) and 0 <= value < 1,
                    "a number from 0 to below 1", ("half", 1)),
    "batch_size": integer(1),
    "trust_remote_code": boolean(),
    "space.num_beams": bounds(integer(1)),
    "space.length_penalty": bounds(number()),
    "space.no_repeat_ngram_size": bounds(integer(0)),
    "space.repetition_penalty": bounds(number(0, strict=True)),
    "space.max_new_tokens": bounds(integer(1)),
    "space.min_new_tokens": bounds(integer(0)),
}

# The data settings of `average` are the run's, checked by `summarizer.average` once filled in.
AVERAGE_RULES = {
    "name": text(numbers=True),
    **PATH_RULES,
    "run": text(),
    "last": integer(2, optional=True),
    "best": integer(2, optional=True),
    "batch_size": integer(1),
    "trust_remote_code": boolean(),
}


SCORE_RULES = {
    "predictions": text(),
    "references": text(),
    "reference_columns": either(text(optional=True, numbers=True), texts()),
    "prediction_column": text(optional=True, numbers=True),
    "tokenizer": one_of(*TOKENIZER_MODES),
    "output": text(optional=True),
}


_ABSENT = object()


def check_options(cfg: DictConfig, rules: dict[str, Rule]) -> None:
    """Every key of `rules` that `cfg` has holds a value its rule allows; then every object the
    config builds gets only keys it takes, of the types it declares."""
    for key, rule in rules.items():
        if OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=False) is _ABSENT:
            continue
        value = OmegaConf.select(cfg, key, throw_on_missing=True)
        if isinstance(value, (DictConfig, ListConfig)):
            value = OmegaConf.to_container(value, resolve=True)
        if not rule.ok(value):
            raise SummarizerError(f"{key}={_shown(value)} is invalid: it must be {rule.expected}. "
                                  f"Override it on the command line, e.g. {key}=<value>.")
    check_arguments(cfg)


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return str(value).lower() if isinstance(value, bool) or value is None else str(value)


def check_training_values(cfg: DictConfig) -> None:
    """`python -m summarizer.train`'s checks: the key rules, the objects' arguments, and a
    best-model metric compared in the right direction."""
    check_options(cfg, TRAIN_RULES)
    check_best_metric(cfg.training.args)


def check_best_metric(args: DictConfig) -> None:
    """`metric_for_best_model` must be a metric the evaluation reports, in the right direction."""
    metric = args.metric_for_best_model
    name = _metric_name(metric)
    if name is None:
        raise SummarizerError(
            f"training.args.metric_for_best_model={metric} is not a metric the evaluation "
            f"reports; use one of {', '.join(EVAL_PREFIX + name for name in EVAL_METRICS)} "
            "(the eval_ prefix is optional)."
        )
    greater = args.get("greater_is_better")
    if (name == "loss" and greater) or (name.startswith("rouge") and greater is False):
        better = "lower" if name == "loss" else "higher"
        raise SummarizerError(
            f"training.args.metric_for_best_model={metric} is better when {better}, but "
            f"training.args.greater_is_better={greater} would keep the worst checkpoint. Set "
            f"training.args.greater_is_better={str(better == 'higher').lower()}."
        )


# ----------------------------------------------------------------- arguments of built objects

# Keys of a `_target_` node that Hydra reads itself.
HYDRA_KEYS = ("_target_", "_args_", "_partial_", "_convert_", "_recursive_")
# Keys (and key prefixes) handed to transformers without a type check: it takes more than their
# annotations say (`fsdp=true`, a DeepSpeed dict) and checks them itself when it builds the
# model or the trainer's arguments, which the pipeline reports as the user's mistake.
PASSED_AS_IS = ("model.model.config.", "training.args.fsdp", "training.args.deepspeed")


def target_nodes(cfg: DictConfig) -> Iterator[tuple[str, dict]]:
    """(dotted key, node as written) of every node with a `_target_`, outside the `hydra` node."""
    def walk(node: Any, path: str) -> Iterator[tuple[str, dict]]:
        if isinstance(node, dict):
            if "_target_" in node:
                yield path, node
            for key, child in node.items():
                if path or key != "hydra":
                    yield from walk(child, f"{path}.{key}" if path else str(key))

    yield from walk(OmegaConf.to_container(cfg, resolve=False), "")


def check_arguments(cfg: DictConfig) -> None:
    """Each `_target_` node names only parameters its callable has, with values of the types
    its annotations give (parameters without one, and `**kwargs`, take anything).

    Targets are imported to read their signatures, so the whitelist is checked first: importing
    a module a config names runs its code.
    """
    check_targets(cfg)
    for path, node in target_nodes(cfg):
        try:
            target = get_object(str(OmegaConf.select(cfg, f"{path}._target_")))
        except Exception:  # noqa: BLE001 - not importable: Hydra's own message names it later
            continue
        parameters, hints = _parameters(target)
        if parameters is None:
            continue
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        for key, written in node.items():
            if key in HYDRA_KEYS:
                continue
            full = f"{path}.{key}"
            if key not in parameters:
                if not takes_any:
                    raise SummarizerError(_unknown_key(full, node["_target_"], parameters))
                continue
            if isinstance(written, dict) and "_target_" in written:
                continue  # built first, then passed: checked as its own node
            value = OmegaConf.select(cfg, full)
            if isinstance(value, (DictConfig, ListConfig)):
                value = OmegaConf.to_container(value, resolve=True)
            hint = hints.get(key)
            if hint is not None and not full.startswith(PASSED_AS_IS) and not conforms(value, hint):
                raise SummarizerError(_wrong_type(full, value, hint, written))


def _parameters(target: Any) -> tuple[dict[str, inspect.Parameter] | None, dict[str, Any]]:
    try:
        parameters = dict(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        return None, {}
    try:
        function = target.__init__ if isinstance(target, type) else target
        hints = typing.get_type_hints(function)
    except Exception:  # noqa: BLE001 - annotations that do not evaluate: keys only
        hints = {}
    return parameters, hints


def _unknown_key(key: str, target: str, parameters: dict[str, inspect.Parameter]) -> str:
    taken = ", ".join(name for name, p in parameters.items()
                      if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and name != "self")
    message = (f"{key} is not an option here: {key.rpartition('.')[0]} builds {target}, which "
               f"takes {taken or 'no options'}. Remove {key} from the command line (or the config "
               "file that adds it), or fix its spelling.")
    if is_secret_name(key.rpartition(".")[2]):
        message += (" Keys and tokens never go into a config, which is saved with the run: "
                    "set them in the environment (e.g. WANDB_API_KEY, HF_TOKEN) or log in "
                    "(`wandb login`, `hf auth login`).")
    return message


def _wrong_type(key: str, value: Any, hint: Any, written: Any) -> str:
    source = _interpolation_source(written)
    where = f" (set from {source})" if source else ""
    return (f"{key}={_shown(value)}{where} is invalid: it must be {describe(hint)}. Override "
            f"{source or key} on the command line with such a value.")


def _interpolation_source(written: Any) -> str | None:
    """`training.batch_size` for a value written `${training.batch_size}`."""
    if isinstance(written, str) and written.startswith("${") and written.endswith("}") and (
            ":" not in written and written.count("${") == 1):
        return written[2:-1]
    return None


def conforms(value: Any, hint: Any) -> bool:
    """Whether a config value fits a parameter annotation; unknown kinds of annotation pass."""
    origin = typing.get_origin(hint)
    if hint is Any or hint is inspect.Parameter.empty or isinstance(hint, typing.TypeVar):
        return True
    if origin in (Union, types.UnionType):
        return any(conforms(value, arg) for arg in typing.get_args(hint))
    if hint is type(None) or hint is None:
        return value is None
    if origin is Literal:
        return any(value == arg and type(value) is type(arg) for arg in typing.get_args(hint))
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return _is_int(value)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple, Sequence, set) or hint in (list, tuple, set):
        items = typing.get_args(hint)
        return isinstance(value, (list, tuple)) and (
            len(items) != 1 or all(conforms(item, items[0]) for item in value))
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return isinstance(value, hint) or value in {member.value for member in hint}
    return True


def describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(dict.fromkeys(describe(arg) for arg in typing.get_args(hint)))
    if hint is type(None) or hint is None:
        return "null"
    if origin is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(hint)))
    if isinstance(hint, type) and issubclass(hint, Enum):
        return "one of " + ", ".join(str(member.value) for member in hint)
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a text"}
    if hint in names:
        return names[hint]
    if origin in (list, tuple, Sequence, set) or hint in (list, tuple, set):
        return "a list"
    if origin is dict or hint is dict:
        return "a mapping"
    return getattr(hint, "__name__", str(hint))
