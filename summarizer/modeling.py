"""Building what the `model` config names: the tokenizer (loaded, or trained from the data),
and the seq2seq model from a config (random init) or from pretrained weights."""

from __future__ import annotations

import logging

import pandas as pd
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from transformers import (
    AutoModelForSeq2SeqLM,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from summarizer.data.cache import cached_tokenizer, fingerprint, texts_fingerprint
from summarizer.data.features import iter_texts
from summarizer.data.module import SummarizationData

log = logging.getLogger(__name__)


def build_tokenizer(model_cfg: DictConfig, data: SummarizationData, train_frame: pd.DataFrame,
                    cache_dir: str | None = None) -> PreTrainedTokenizerBase:
    """The tokenizer `model.tokenizer` names, with the data's special tokens.

    With `model.tokenizer_from_data` it is trained on the dialogues and summaries of
    `train_frame`, or comes from `cache_dir` when an earlier run trained it from the same texts
    with the same settings.
    """
    special_tokens = list(data.special_tokens)
    if not model_cfg.tokenizer_from_data:
        return instantiate(model_cfg.tokenizer, special_tokens=special_tokens)
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


def apply_generation(model: PreTrainedModel, generation: DictConfig) -> None:
    """Store the run's generation settings in the model, so that `final_model/` generates the
    same way."""
    settings = OmegaConf.to_container(generation, resolve=True)
    if settings.get("no_repeat_ngram_size") == 0:
        settings["no_repeat_ngram_size"] = None
    if settings.get("num_beams", 1) == 1:
        settings["early_stopping"] = False
    for key, value in settings.items():
        setattr(model.generation_config, key, value)
    for key in ("decoder_start_token_id", "pad_token_id", "eos_token_id", "bos_token_id"):
        setattr(model.generation_config, key, getattr(model.config, key))
