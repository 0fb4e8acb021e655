"""The execution whitelist: the only objects a config may ask Hydra to build or call."""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig

from summarizer.config_keys import find_keys
from summarizer.errors import SummarizerError

# `_target_`s the shipped configs may name. Narrow on purpose: a broad `transformers.*` or
# `torch.*` would let a shared YAML file call `torch.load` or load remote code.
EXECUTION_WHITELIST = [
    "summarizer.*",
    "transformers.MBartConfig",
    # The layouts of the tiny causal preset (model=tiny_causal).
    "transformers.Qwen2Config",
    "transformers.LlamaConfig",
    "transformers.Seq2SeqTrainingArguments",
    "transformers.DataCollatorForSeq2Seq",
    "transformers.EarlyStoppingCallback",
    # Callable objects that the targets above return are checked by their class too.
    "transformers.tokenization_utils_tokenizers.TokenizersBackend",
    "transformers.models.bart.modeling_bart.BartForConditionalGeneration",  # KoBART
    "transformers.models.mbart.modeling_mbart.MBartForConditionalGeneration",
    "transformers.data.data_collator.DataCollatorForSeq2Seq",
]
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
            "(EXECUTION_WHITELIST in summarizer/whitelist.py) does not allow: a config may only "
            "build the project's own objects. Remove the key from the command line or from the "
            "config file that sets it."
        )
