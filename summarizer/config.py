"""Config-level helpers: OmegaConf resolvers, the instantiate whitelist and value checks."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from summarizer.errors import SummarizerError
from summarizer.hardware import auto_precision, has_cuda

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


def _precision_flag(flag: str, precision: str) -> bool:
    """Resolve `training.precision` into the fp16/bf16 booleans of the training arguments."""
    if precision not in PRECISIONS:
        raise SummarizerError(
            f"training.precision={precision!r} is not one of {', '.join(PRECISIONS)}."
        )
    if precision == "auto":
        precision = auto_precision()
    return precision == flag


def _sweep_job() -> tuple[str, int] | None:
    """(sweep dir, job number) inside a `--multirun` job, else None."""
    from hydra.core.hydra_config import HydraConfig
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


def register_resolvers() -> None:
    for name, resolver in (("summarizer.precision", _precision_flag),
                           ("summarizer.has_cuda", has_cuda),
                           ("summarizer.trial_name", _trial_name),
                           ("summarizer.sweep_group", _sweep_group)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_resolver(name, resolver)


def to_container(cfg: DictConfig) -> dict:
    """The composed config as a plain dict (what loggers and JSON files get)."""
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)


def check_training_values(cfg: DictConfig) -> None:
    """Fail before any model is loaded on values the trainer would reject much later."""
    t = cfg.training
    checks = [
        ("training.learning_rate", t.learning_rate, t.learning_rate > 0, "a positive number"),
        ("training.batch_size", t.batch_size, t.batch_size >= 1, "an integer >= 1"),
        ("training.epochs", t.epochs, t.epochs >= 1, "an integer >= 1"),
        ("training.generation.num_beams", t.generation.num_beams, t.generation.num_beams >= 1,
         "an integer >= 1"),
        ("training.generation.max_length", t.generation.max_length,
         t.generation.max_length >= 1, "an integer >= 1"),
        ("data.max_source_length", cfg.data.max_source_length, cfg.data.max_source_length >= 4,
         "an integer >= 4"),
        ("data.max_target_length", cfg.data.max_target_length, cfg.data.max_target_length >= 2,
         "an integer >= 2"),
        ("training.early_stopping_patience", t.early_stopping_patience,
         t.early_stopping_patience >= 0, "an integer >= 0"),
    ]
    for key, value, ok, expected in checks:
        if not ok:
            raise SummarizerError(f"{key}={value} is invalid: it must be {expected}. "
                                  f"Override it on the command line, e.g. {key}=<value>.")
