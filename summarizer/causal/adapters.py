"""LoRA and QLoRA adapters (the `peft` package) on causal and seq2seq models.

A 7-11B model does not fit a single GPU for full fine-tuning; frozen weights (in 4-bit for QLoRA)
plus low-rank adapters do. The trained adapter is small, so checkpoints hold only it; the final
model is saved both merged (plain weights that `from_pretrained` loads without peft) and as the
adapter alone.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    BitsAndBytesConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from summarizer.causal.adapter_config import AdapterConfig
from summarizer.causal.saved import ADAPTER_DIR
from summarizer.errors import SummarizerError

log = logging.getLogger(__name__)



def _peft():
    """The peft package, or the install command when it is missing (an optional extra)."""
    if importlib.util.find_spec("peft") is None:
        raise SummarizerError(
            "peft.method=lora/qlora needs the peft package: pip install \"summarizer[lora]\" "
            "(or \"summarizer[qlora]\" for 4-bit), or train without adapters (peft=none).")
    import peft

    return peft


def quantization_kwargs(config: AdapterConfig) -> dict[str, Any]:
    """The `from_pretrained` keyword arguments that load the base model for `config`: for
    `qlora` 4-bit NF4 weights with double quantization, computing in `config.compute_dtype`.

    Raises SummarizerError before anything is loaded when `qlora` cannot run here: bitsandbytes
    quantizes on CUDA GPUs only.
    """
    if config.method != "qlora":
        return {}
    if not torch.cuda.is_available():
        raise SummarizerError(
            "peft=qlora loads the model in 4 bits with bitsandbytes, which needs a CUDA GPU, and "
            "this machine has none. Use peft=lora (full-precision base weights, more memory) or "
            "run on a machine with an NVIDIA GPU.")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise SummarizerError(
            "peft=qlora needs the bitsandbytes package: pip install \"summarizer[qlora]\".")
    dtype = compute_dtype(config)
    quantization = BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=dtype)
    return {"quantization_config": quantization, "dtype": dtype}


def compute_dtype(config: AdapterConfig) -> torch.dtype:
    """`config.compute_dtype` as a torch dtype, `auto` resolved for this machine's GPU."""
    if config.compute_dtype != "auto":
        return getattr(torch, config.compute_dtype)
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def tag_token_ids(tokenizer: PreTrainedTokenizerBase, tags: Sequence[str]) -> list[int]:
    """The ids of `tags` that are tokens of their own (added by `fix_tokenizer`)."""
    added = tokenizer.get_added_vocab()
    return sorted({added[tag] for tag in tags if tag in added})


def add_adapters(model: PreTrainedModel, config: AdapterConfig,
                 trainable_token_ids: Sequence[int] = ()) -> PreTrainedModel:
    """`model` with LoRA adapters as the only trained weights (a `PeftModel`).

    Args:
        model: A causal or seq2seq model; 4-bit loaded for `qlora` (`quantization_kwargs`).
        config: The adapters' settings (`config.method` must not be `none`).
        trainable_token_ids: Token ids whose embedding rows train too (the tags when
            `config.tags_as_tokens`); a head not tied to the embeddings trains the same rows.
    """
    if not config.adapters:
        raise ValueError("peft.method=none trains the model's own weights: add no adapters")
    peft = _peft()
    if getattr(model, "is_loaded_in_4bit", False) or getattr(model, "is_loaded_in_8bit", False):
        model = peft.prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=config.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False})
    elif config.gradient_checkpointing:
        # transformers 5.24 renamed it (the old name warns); earlier 5.x have the old name only.
        enable = getattr(model, "activation_checkpointing_enable",
                         model.gradient_checkpointing_enable)
        # Non-reentrant: works although the frozen embeddings' outputs need no gradient.
        enable({"use_reentrant": False})
    if config.gradient_checkpointing:
        model.config.use_cache = False  # the cache is only for generation, which re-enables it
    lora = peft.LoraConfig(
        r=config.rank, lora_alpha=config.alpha, lora_dropout=config.dropout,
        # A list from a Hydra config arrives as a ListConfig, which peft does not take.
        target_modules=(config.target_modules if isinstance(config.target_modules, str)
                        else list(config.target_modules)),
        task_type="SEQ_2_SEQ_LM" if model.config.is_encoder_decoder else "CAUSAL_LM",
        trainable_token_indices=_token_rows(model, trainable_token_ids))
    model = peft.get_peft_model(model, lora)
    trained, total = model.get_nb_trainable_parameters()
    log.info("%s (rank %d, alpha %d, %s): %s of %s parameters train (%.2f%%)",
             config.method.upper(), config.rank, config.alpha, config.target_modules,
             f"{trained:,}", f"{total:,}", 100 * trained / total)
    return model


def _token_rows(model: PreTrainedModel, ids: Sequence[int]) -> dict[str, list[int]] | None:
    """peft's `trainable_token_indices`: the rows in the input embedding, and in the output head
    when it has weights of its own (peft trains a tied head through the embedding)."""
    if not ids:
        return None
    modules = [model.get_input_embeddings()]
    head = model.get_output_embeddings()
    if head is not None and head.weight is not modules[0].weight:
        modules.append(head)
    names = {id(module): name for name, module in model.named_modules()}
    return {names[id(module)]: list(ids) for module in modules}


def save_final(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, directory: str | Path,
               config: AdapterConfig, **load_kwargs: Any) -> PreTrainedModel:
    """Save a trained adapter model for prediction: the adapter alone in `directory/adapter/`,
    and with `config.merge` the merged model (and tokenizer) in `directory` itself.

    Returns the model to predict with from here on, as `model` predicts: merged in place (a copy
    would double the memory of a large model), or `model` itself when nothing is merged or its
    base is 4-bit. A 4-bit base cannot take the adapter's updates exactly, so for it the base is
    loaded again on the CPU in `config.compute_dtype` from where it came (`load_kwargs` go to
    `from_pretrained`, e.g. `trust_remote_code`) and the saved adapter is merged into that.
    """
    peft = _peft()
    directory = Path(directory)
    adapter_dir = directory / ADAPTER_DIR
    model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    if not config.merge:
        return model
    base = model.get_base_model()
    if not getattr(base, "is_quantized", False):
        merged = model.merge_and_unload()
        merged.save_pretrained(directory)
        tokenizer.save_pretrained(directory)
        return merged
    auto = AutoModelForSeq2SeqLM if base.config.is_encoder_decoder else AutoModelForCausalLM
    full = auto.from_pretrained(model.peft_config["default"].base_model_name_or_path,
                                dtype=compute_dtype(config), **load_kwargs)
    if len(tokenizer) > full.get_input_embeddings().num_embeddings:
        full.resize_token_embeddings(len(tokenizer))
    peft.PeftModel.from_pretrained(full, adapter_dir).merge_and_unload().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return model


def load_adapter_model(adapter_dir: str | Path, **load_kwargs: Any) -> PreTrainedModel:
    """The base model named in the adapter's config with the adapter applied (not merged), for
    prediction from a run saved with `peft.merge=false`."""
    peft = _peft()
    config = peft.PeftConfig.from_pretrained(str(adapter_dir))
    auto = (peft.AutoPeftModelForSeq2SeqLM if config.task_type == "SEQ_2_SEQ_LM"
            else peft.AutoPeftModelForCausalLM)
    return auto.from_pretrained(str(adapter_dir), **load_kwargs)
