"""Building what the `model` config names: the tokenizer (loaded, or trained from the data),
and the seq2seq or causal (decoder-only) model from a config (random init) or from pretrained
weights."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd
import torch
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, OmegaConf
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from summarizer.causal.adapter_config import AdapterConfig
from summarizer.causal.adapters import add_adapters
from summarizer.causal.collator import pad_token_id
from summarizer.causal.prompt import PromptFormat
from summarizer.causal.prompt_config import PromptConfig
from summarizer.data.cache import cached_tokenizer, fingerprint, texts_fingerprint
from summarizer.data.features import iter_texts
from summarizer.data.module import SummarizationData
from summarizer.errors import SummarizerError
from summarizer.whitelist import check_targets

log = logging.getLogger(__name__)


def is_causal(model_cfg: DictConfig) -> bool:
    """Whether the `model` preset is a decoder-only model: those have a `prompt` (how a dialogue
    and its summary become one sequence); seq2seq presets have none."""
    return model_cfg.get("prompt") is not None


def called(node: DictConfig, **kwargs: Any) -> Any:
    """What the `_target_` of `node` returns, called here with the node's other keys (nested
    `_target_` nodes built by Hydra) and `kwargs`.

    Hydra would refuse a callable result (a model, a tokenizer) unless its class is whitelisted
    too, and a pretrained model and its tokenizer are of whatever class their files name. The
    target itself must be whitelisted. `kwargs` win over the node's keys.
    """
    target = str(node._target_)
    check_targets(OmegaConf.create({"_target_": target}))
    arguments = OmegaConf.to_container(node, resolve=True)
    arguments.pop("_target_")
    built = instantiate(OmegaConf.create(arguments), _convert_="all")
    return get_object(target)(**{**built, **kwargs})


def prompt_settings(model_cfg: DictConfig) -> PromptConfig | None:
    """The `model.prompt` of a causal preset as a `PromptConfig`; None for a seq2seq model."""
    if not is_causal(model_cfg):
        return None
    return instantiate(model_cfg.prompt, _convert_="all")


def adapter_settings(cfg: DictConfig) -> AdapterConfig:
    """The `peft` settings; a config without the group (saved by an older run) trains whole."""
    node = cfg.get("peft")
    return AdapterConfig() if node is None else instantiate(node, _convert_="all")


def build_tokenizer(model_cfg: DictConfig, data: SummarizationData, train_frame: pd.DataFrame,
                    cache_dir: str | None = None,
                    tags_as_tokens: bool = True) -> PreTrainedTokenizerBase:
    """The tokenizer `model.tokenizer` names, with the data's special tokens.

    With `model.tokenizer_from_data` it is trained on the dialogues and summaries of
    `train_frame`, or comes from `cache_dir` when an earlier run trained it from the same texts
    with the same settings. The tags become its never-split tokens, or a loaded tokenizer's new
    tokens, only with `tags_as_tokens` (always for seq2seq models; `peft.tags_as_tokens` for a
    causal one); otherwise they are text like the rest.
    """
    special_tokens = list(data.special_tokens) if tags_as_tokens else []
    if not model_cfg.tokenizer_from_data:
        try:
            return called(model_cfg.tokenizer, special_tokens=special_tokens)
        except (OSError, ValueError) as err:
            reason = " ".join(str(err).split())
            raise SummarizerError(
                f"The tokenizer (model.tokenizer) could not be loaded: {reason} Check "
                "model.name_or_path (a hub id, or a directory with the model's files).") from None
    columns = [data.text_column, data.summary_column]
    key = fingerprint(texts_fingerprint(train_frame, columns), special_tokens,
                      OmegaConf.to_container(model_cfg.tokenizer, resolve=True))

    def train_new() -> PreTrainedTokenizerBase:
        # The texts go to the call, not through `instantiate`, which would copy a list of them
        # into config nodes (minutes and gigabytes for a million rows).
        train = instantiate(model_cfg.tokenizer, special_tokens=special_tokens, _partial_=True)
        return train(texts=iter_texts(train_frame, columns))

    return cached_tokenizer(cache_dir, key, train_new)


def _special_ids(tokenizer: PreTrainedTokenizerBase) -> dict[str, int]:
    return {
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        # Labels are `summary </s>`; the decoder starts from `</s>` as in BART.
        "decoder_start_token_id": tokenizer.eos_token_id,
        "forced_bos_token_id": None,
        "forced_eos_token_id": tokenizer.eos_token_id,
    }


def from_config(config: PretrainedConfig, tokenizer: PreTrainedTokenizerBase) -> PreTrainedModel:
    """A randomly initialised model whose vocabulary and special ids match `tokenizer`."""
    config.vocab_size = len(tokenizer)
    for key, value in _special_ids(tokenizer).items():
        setattr(config, key, value)
    model = AutoModelForSeq2SeqLM.from_config(config)
    log.info("Built %s from config: %.2fM parameters", type(model).__name__,
             model.num_parameters() / 1e6)
    return model


def from_pretrained(
    name_or_path: str, tokenizer: PreTrainedTokenizerBase, trust_remote_code: bool = False,
    **kwargs
) -> PreTrainedModel:
    """Pretrained weights, with the embeddings grown for tokens the data added to the tokenizer.

    `trust_remote_code` comes from `model.trust_remote_code`, which only the command line or
    the environment may switch on (`summarizer.remote_code.check_trust_remote_code`).
    """
    model = AutoModelForSeq2SeqLM.from_pretrained(
        name_or_path, trust_remote_code=trust_remote_code, **kwargs
    )
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
        log.info("Resized embeddings to %d for the data's special tokens", len(tokenizer))
    if model.config.pad_token_id != tokenizer.pad_token_id:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model


def model_dtype(setting: str) -> torch.dtype:
    """`model.dtype` as a torch dtype: `auto` is bfloat16 on a GPU that has it, else float32."""
    if setting != "auto":
        return getattr(torch, setting)
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def causal_from_pretrained(
    name_or_path: str, tokenizer: PreTrainedTokenizerBase, trust_remote_code: bool = False,
    dtype: str | torch.dtype = "auto", attn_implementation: str = "sdpa", **kwargs: Any
) -> PreTrainedModel:
    """A pretrained decoder-only model (`AutoModelForCausalLM`: Qwen, Llama, EXAONE, SOLAR, ...),
    with the embeddings grown for tokens the data added to the tokenizer.

    `dtype` is `model.dtype` (`model_dtype`), or a torch dtype: the compute dtype of the 4-bit
    loading of `peft=qlora` (`summarizer.causal.adapters.quantization_kwargs`), whose other
    arguments come in `kwargs`, for `from_pretrained`. `trust_remote_code` as in
    `from_pretrained` above.
    """
    flash = attn_implementation == "flash_attention_2"
    if flash and importlib.util.find_spec("flash_attn") is None:
        raise SummarizerError(
            "model.attn_implementation=flash_attention_2 needs the flash-attn package (CUDA "
            "only): pip install flash-attn --no-build-isolation, or use "
            "model.attn_implementation=sdpa.")
    model = AutoModelForCausalLM.from_pretrained(
        name_or_path, trust_remote_code=trust_remote_code, attn_implementation=attn_implementation,
        dtype=dtype if isinstance(dtype, torch.dtype) else model_dtype(dtype), **kwargs)
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
        log.info("Resized embeddings to %d for the data's special tokens", len(tokenizer))
    if tokenizer.pad_token_id is not None and model.config.pad_token_id != tokenizer.pad_token_id:
        model.config.pad_token_id = tokenizer.pad_token_id
    log.info("Loaded %s from %s in %s", type(model).__name__, name_or_path, model.dtype)
    return model


def apply_generation(model: PreTrainedModel, generation: DictConfig,
                     tokenizer: PreTrainedTokenizerBase | None = None,
                     prompt: PromptFormat | None = None) -> None:
    """Store the run's generation settings in the model, so that `final_model/` generates the
    same way.

    For a causal model (`prompt` given) `max_length` is the summary's length, stored as
    `max_new_tokens` (transformers' `max_length` counts the prompt too), and the answer's stop
    tokens (`<|im_end|>` and EOS) end generation.
    """
    settings = OmegaConf.to_container(generation, resolve=True)
    if settings.get("no_repeat_ngram_size") == 0:
        settings["no_repeat_ngram_size"] = None
    if settings.get("num_beams", 1) == 1:
        settings["early_stopping"] = False
    if prompt is not None:
        settings["max_new_tokens"] = settings.pop("max_length")
    for key, value in settings.items():
        setattr(model.generation_config, key, value)
    if prompt is not None:
        model.generation_config.eos_token_id = list(prompt.stop_ids)
        model.generation_config.pad_token_id = pad_token_id(tokenizer)
        model.generation_config.bos_token_id = model.config.bos_token_id
        return
    for key in ("decoder_start_token_id", "pad_token_id", "eos_token_id", "bos_token_id"):
        setattr(model.generation_config, key, getattr(model.config, key))


def check_kind(model: PreTrainedModel, causal: bool) -> None:
    """The model is of the kind its preset prepares the data for."""
    if causal and model.config.is_encoder_decoder:
        raise SummarizerError(
            f"The model is a {type(model).__name__} (encoder-decoder), but the model preset has a "
            "`prompt`, which only decoder-only models take. Remove model.prompt, or use a causal "
            "model (model=causal_lm).")
    if not causal and not model.config.is_encoder_decoder:
        raise SummarizerError(
            f"The model is a {type(model).__name__} (decoder-only), but the model preset has no "
            "`prompt` to turn a dialogue and its summary into one sequence. Use model=causal_lm "
            "(model.name_or_path=<hub id or directory>), or copy its prompt node into your "
            "preset.")


def prepare_for_training(model: PreTrainedModel, adapter: AdapterConfig,
                         trainable_token_ids: Sequence[int] = ()) -> PreTrainedModel:
    """`model` as it trains: with LoRA adapters for `peft=lora/qlora`
    (`summarizer.causal.adapters.add_adapters`), else whole, with gradient checkpointing when
    asked; the log says how many parameters train."""
    if adapter.adapters:
        return add_adapters(model, adapter, trainable_token_ids)
    if adapter.gradient_checkpointing:
        # As `add_adapters` does: transformers 5.24 renamed the method, non-reentrant.
        enable = getattr(model, "activation_checkpointing_enable",
                         model.gradient_checkpointing_enable)
        enable({"use_reentrant": False})
        model.config.use_cache = False
    total = model.num_parameters()
    trained = model.num_parameters(only_trainable=True)
    log.info("Full fine-tuning: %s of %s parameters train (%.2f%%)", f"{trained:,}",
             f"{total:,}", 100 * trained / total)
    return model
