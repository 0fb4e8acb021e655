"""Generating summaries with a trained model: length-sorted batches, original order restored.

Seq2seq and causal (decoder-only) models are both predicted from here: a causal model gets its
training prompt around each dialogue and only the tokens it adds are decoded
(`summarizer.causal.generation`). A model saved as a LoRA adapter without merged weights is
loaded on its base model and merged in memory.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from contextlib import nullcontext
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.tokenization_utils_tokenizers import TokenizersBackend

from summarizer.causal import generation as causal_generation
from summarizer.causal.prompt import PromptFormat, prompt_format
from summarizer.causal.saved import (
    ADAPTER_WEIGHTS,
    BASE_DIR,
    adapter_dir,
    base_model,
    read_prompt_config,
    run_generation,
)
from summarizer.checkpoints import CHECKPOINT_PREFIX, safetensors_intact
from summarizer.data.features import encode_texts
from summarizer.errors import SummarizerError
from summarizer.hardware import auto_precision
from summarizer.remote_code import TRUST_REMOTE_CODE_ENV
from summarizer.run_files import FAILED_FILE, FINAL_MODEL
from summarizer.tokenization import decode

log = logging.getLogger(__name__)

# One file, or the index of a sharded checkpoint (large models).
SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")
# Saved tokenizer classes that mean "exactly the tokenizer.json saved here".
GENERIC_TOKENIZERS = ("TokenizersBackend", "PreTrainedTokenizerFast")
# A causal model's summary length when neither the user nor the saved model sets one.
DEFAULT_NEW_TOKENS = 100


def model_dir(path: str | Path) -> Path:
    """A run directory (its `final_model/`) or a model directory itself, checked to be complete:
    merged weights, or an adapter whose base model can be found (`summarizer.causal.saved`)."""
    path = Path(path)
    for candidate in (path / FINAL_MODEL, path):
        if (candidate / "config.json").is_file():
            _check_complete(candidate)
            return candidate
        adapter = adapter_dir(candidate)
        if adapter is not None:
            _check_adapter(candidate, adapter)
            return candidate
    raise SummarizerError(_no_model_message(path))


def _no_model_message(path: Path) -> str:
    if not path.exists():
        return (f"run={path} does not exist. Give the directory of a training run (it holds "
                "final_model/) or of a saved model; runs are under outputs/<name>/<time>/.")
    checkpoints = sorted((p for p in path.glob(f"{CHECKPOINT_PREFIX}*") if p.is_dir()),
                         key=lambda p: int(p.name.removeprefix(CHECKPOINT_PREFIX) or 0)
                         if p.name.removeprefix(CHECKPOINT_PREFIX).isdigit() else -1)
    if checkpoints:
        names = ", ".join(p.name for p in checkpoints)
        return (f"{path} holds no final_model/: the run did not finish (see its train.log"
                f"{' and FAILED' if (path / FAILED_FILE).is_file() else ''}). It has {names}: "
                f"predict with one of them (run={checkpoints[-1]}), or finish training with "
                f"`python -m summarizer.train <the run's overrides> hydra.run.dir={path} "
                "training.resume_from_checkpoint=auto`.")
    return (f"{path} holds no model: expected a run directory with final_model/ or a directory "
            "with config.json and weights (set run=<dir>). Train one with `python -m "
            "summarizer.train`.")


def _check_complete(directory: Path) -> None:
    """Weights as safetensors (never a pickle, which can run code), written to their end, and a
    tokenizer."""
    weights = next((directory / name for name in SAFETENSORS_FILES
                    if (directory / name).is_file()), None)
    if weights is None:
        pickled = " (its pytorch_model.bin is a pickle and is not loaded)" if (
            directory / "pytorch_model.bin").is_file() else ""
        raise SummarizerError(
            f"{directory} has config.json but no model.safetensors{pickled}. Point run= at the "
            "final_model/ or a checkpoint-* directory of a finished run."
        )
    if weights.suffix == ".safetensors" and not safetensors_intact(weights):
        raise SummarizerError(
            f"{weights} is cut short or damaged (its size does not match its header): the run "
            "was probably stopped while saving it. Predict with a checkpoint-* directory of the "
            "run instead, or train again."
        )
    if not (directory / "tokenizer_config.json").is_file():
        raise SummarizerError(
            f"{directory} has model weights but no tokenizer (tokenizer_config.json). Point run= "
            "at the final_model/ or a checkpoint-* directory of a finished run."
        )


def _check_adapter(directory: Path, adapter: Path) -> None:
    """An adapter's weights written to their end, a tokenizer, and a base model to put it on."""
    weights = adapter / ADAPTER_WEIGHTS
    if not weights.is_file():
        raise SummarizerError(
            f"{adapter} has adapter_config.json but no {ADAPTER_WEIGHTS}. Point run= at the "
            "final_model/ or a checkpoint-* directory of a finished run.")
    if not safetensors_intact(weights):
        raise SummarizerError(
            f"{weights} is cut short or damaged (its size does not match its header): the run "
            "was probably stopped while saving it. Predict with another checkpoint-* directory "
            "of the run instead, or train again.")
    if _tokenizer_dir(directory, adapter) is None:
        raise SummarizerError(
            f"{directory} has an adapter but no tokenizer (tokenizer_config.json). Point run= "
            "at the final_model/ or a checkpoint-* directory of a finished run.")
    base_model(adapter, directory)


def _tokenizer_dir(directory: Path, adapter: Path) -> Path | None:
    return next((candidate for candidate in (directory, adapter)
                 if (candidate / "tokenizer_config.json").is_file()), None)


def load_model(path: str | Path, trust_remote_code: bool = False,
               ) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The model and tokenizer of a run or model directory, on the GPU when there is one.

    Causal models load in bf16 (fp16 on GPUs without it) on a GPU, fp32 on the CPU; seq2seq
    models in fp32 (`summarize` autocasts them). `trust_remote_code`: run the Python code the
    directory (or the adapter's base model) ships, for architectures transformers lacks.
    """
    directory = model_dir(path)
    adapter = adapter_dir(directory) if not (directory / "config.json").is_file() else None
    trust = {"trust_remote_code": trust_remote_code}
    if adapter is not None:
        tokenizer = load_tokenizer(_tokenizer_dir(directory, adapter), **trust)
        model = _load_with_adapter(directory, adapter, tokenizer, **trust)
    else:
        # The config first: it says whether the directory's own code is needed.
        config = _remote_code_config(directory, trust_remote_code)
        tokenizer = load_tokenizer(directory, **trust)
        if config.is_encoder_decoder:
            model = AutoModelForSeq2SeqLM.from_pretrained(directory, use_safetensors=True,
                                                          **trust)
        else:
            model = AutoModelForCausalLM.from_pretrained(directory, use_safetensors=True,
                                                         dtype=_causal_dtype(), **trust)
    if not model.config.is_encoder_decoder:
        _for_summaries(model)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    log.info("Loaded %s from %s on %s", type(model).__name__, directory, device)
    return model.to(device).eval(), tokenizer


def _remote_code_config(directory: Path, trust_remote_code: bool):
    try:
        return AutoConfig.from_pretrained(directory, trust_remote_code=trust_remote_code)
    except ValueError as err:
        if trust_remote_code or "trust_remote_code" not in str(err):
            raise
        raise SummarizerError(
            f"The model in {directory} needs the Python code shipped in its directory "
            "(its config.json names classes by auto_map). If you trust it, pass "
            f"trust_remote_code=true on the command line (predict), trust_remote_code=True to "
            f"summarizer.predict, or set {TRUST_REMOTE_CODE_ENV}=1.") from None


def load_tokenizer(directory: Path, trust_remote_code: bool = False) -> PreTrainedTokenizerBase:
    """The tokenizer saved in `directory`, as it was saved.

    `AutoTokenizer` picks the tokenizer class of some model types (Qwen2) over the saved one
    and rebuilds it from the vocabulary alone: a tokenizer trained on the data (the tiny
    presets') saved next to such a model would lose its own pre-tokenizer and decoder.
    """
    config_file = directory / "tokenizer_config.json"
    saved_class = json.loads(config_file.read_text(encoding="utf-8")).get("tokenizer_class")
    if saved_class in GENERIC_TOKENIZERS and (directory / "tokenizer.json").is_file():
        return TokenizersBackend.from_pretrained(directory)
    return AutoTokenizer.from_pretrained(directory, trust_remote_code=trust_remote_code)


def _causal_dtype() -> torch.dtype:
    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(auto_precision(), torch.float32)


def _load_with_adapter(directory: Path, adapter: Path, tokenizer: PreTrainedTokenizerBase,
                       trust_remote_code: bool = False) -> PreTrainedModel:
    """The adapter's base model with the adapter merged into it (generation then runs as fast
    as on a merged model)."""
    if importlib.util.find_spec("peft") is None:
        raise SummarizerError(
            f"{directory} holds a LoRA adapter: loading it needs the peft package, pip install "
            "\"summarizer[lora]\". Or predict with a run trained with peft.merge=true.")
    from peft import PeftConfig, PeftModel

    source = base_model(adapter, directory)
    seq2seq = PeftConfig.from_pretrained(str(adapter)).task_type == "SEQ_2_SEQ_LM"
    kwargs = {"trust_remote_code": trust_remote_code}
    if not seq2seq:
        kwargs["dtype"] = _causal_dtype()
    auto = AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM
    try:
        base = auto.from_pretrained(source, **kwargs)
    except OSError as err:
        raise SummarizerError(
            f"The base model of the adapter in {adapter}, {source}, does not load: "
            f"{' '.join(str(err).split())} Put the base model's files in "
            f"{directory / BASE_DIR}/.") from None
    # Tags added as tokens in training grew the embeddings; the adapter holds their rows.
    if len(tokenizer) > base.get_input_embeddings().num_embeddings:
        base.resize_token_embeddings(len(tokenizer))
    log.info("Loading the adapter in %s on the base model %s", adapter, source)
    model = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    # The run's generation settings, not those the base model was released with.
    settings = run_generation(directory)
    if settings is not None:
        model.generation_config.update(**settings)
    return model


def load_prompt(path: str | Path, tokenizer: PreTrainedTokenizerBase) -> PromptFormat:
    """The prompt format a causal model was trained with (its `prompt.json`), for `tokenizer`."""
    return prompt_format(tokenizer, read_prompt_config(model_dir(path)))


def summarize(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, dialogues: list[str],
              max_source_length: int, batch_size: int = 32, split: str | None = None,
              prompt: PromptFormat | None = None, **generation) -> list[str]:
    """Summaries in the order of `dialogues`.

    Batches are cut from inputs sorted by length, so padding (and beam search over padding)
    stays small; results are put back in input order. `split` names the dialogues in the log
    line that counts the truncated ones. A causal model needs the `prompt` it was trained with
    (`load_prompt`); its `max_source_length` bounds the whole prompt.
    """
    return [texts[0] for texts in summary_candidates(
        model, tokenizer, dialogues, max_source_length, batch_size, split, prompt, **generation)]


def summary_candidates(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                       dialogues: list[str], max_source_length: int, batch_size: int = 32,
                       split: str | None = None, prompt: PromptFormat | None = None,
                       count: int = 1, **generation) -> list[list[str]]:
    """Each dialogue's `count` best beams, best first, as `summarize` generates them (an
    ensemble's candidates)."""
    encoded = encode_dialogues(model, tokenizer, dialogues, max_source_length, split, prompt)
    return encoded_candidates(model, tokenizer, encoded, batch_size, prompt, count, **generation)


def encode_dialogues(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                     dialogues: list[str], max_source_length: int, split: str | None = None,
                     prompt: PromptFormat | None = None) -> list[list[int]]:
    """The token ids `summarize_encoded` generates from: the dialogues, or a causal model's
    prompts around them."""
    if not model.config.is_encoder_decoder:
        return causal_generation.encode(tokenizer, _causal_prompt(prompt), dialogues,
                                        max_source_length)
    return encode_texts(tokenizer, dialogues, max_source_length, bos=True, what="dialogues",
                        split=split)


def summarize_encoded(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                      encoded: list[list[int]], batch_size: int = 32,
                      prompt: PromptFormat | None = None, **generation) -> list[str]:
    """`summarize` for dialogues already encoded (`encode_dialogues`), so that many generation
    settings can be tried on the same rows without tokenizing them again."""
    return [texts[0] for texts in encoded_candidates(model, tokenizer, encoded, batch_size,
                                                     prompt, **generation)]


def encoded_candidates(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                       encoded: list[list[int]], batch_size: int = 32,
                       prompt: PromptFormat | None = None, count: int = 1,
                       **generation) -> list[list[str]]:
    """`summary_candidates` for dialogues already encoded. Beam search needs `count` beams at
    least: fewer saved with the model are raised to `count`; fewer given in `generation` are
    refused."""
    if count > 1:
        generation = {**generation, **_beams_for(model, generation, count)}
    if not model.config.is_encoder_decoder:
        return causal_generation.prompt_candidates(model, tokenizer, _causal_prompt(prompt),
                                                   encoded, batch_size,
                                                   **causal_settings(model, generation))
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]), reverse=True)
    precision = auto_precision()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    autocast = torch.autocast("cuda", dtype=dtype) if dtype is not None else nullcontext()
    results: list[list[str]] = [[] for _ in encoded]
    settings = {k: v for k, v in generation.items() if v is not None}
    for start in tqdm(range(0, len(order), batch_size), desc="summarizing", unit="batch"):
        index = order[start:start + batch_size]
        batch = tokenizer.pad({"input_ids": [encoded[i] for i in index]}, return_tensors="pt")
        with torch.inference_mode(), autocast:
            output = _generate(model, batch, settings)
        texts = decode(tokenizer, output.cpu())
        for position, i in enumerate(index):
            results[i] = texts[position * count:(position + 1) * count]
    return results


def _beams_for(model: PreTrainedModel, generation: dict, count: int) -> dict:
    """`generate`'s settings for `count` sequences per input: that many beams at least."""
    given = generation.get("num_beams")
    if given is not None and given < count:
        raise SummarizerError(
            f"ensemble_candidates={count} takes the {count} best beams of each model, but "
            f"generation.num_beams={given}: set generation.num_beams={count} or more, or fewer "
            "ensemble_candidates.")
    beams = given or model.generation_config.num_beams or 1
    if beams < count:
        log.info("num_beams %d of the saved generation config raised to %d for %d candidates",
                 beams, count, count)
    return {"num_beams": max(beams, count), "num_return_sequences": count}


def _causal_prompt(prompt: PromptFormat | None) -> PromptFormat:
    if prompt is None:
        raise ValueError("A causal model needs its prompt format: pass prompt=load_prompt(..)")
    return prompt


def causal_settings(model: PreTrainedModel, generation: dict) -> dict:
    """The generation options for a causal model, whose `max_length` would count the prompt.

    The summary's length in tokens (`max_new_tokens`) is the first of: `max_new_tokens`, then
    `max_length` (what it means for a seq2seq model: the summary's length), then the same two of
    the model's saved generation config, then `DEFAULT_NEW_TOKENS`.
    """
    saved = model.generation_config
    given = {key: value for key, value in generation.items() if value is not None}
    new_tokens, max_length = given.pop("max_new_tokens", None), given.pop("max_length", None)
    return {**given, "max_new_tokens": (new_tokens or max_length or saved.max_new_tokens
                                        or saved.max_length or DEFAULT_NEW_TOKENS)}


def _for_summaries(model: PreTrainedModel) -> None:
    """A causal model's saved generation config made fit for summaries.

    Its `max_length` (the run's summary length) becomes `max_new_tokens`, so that `generate`
    never applies it to prompt and summary together; sampling, which chat models are released
    with, is switched off: predictions are greedy or beam search, as in evaluation.
    """
    saved = model.generation_config
    if saved.max_length is not None:
        saved.max_new_tokens = saved.max_new_tokens or saved.max_length
        saved.max_length = None
    saved.update(do_sample=False, temperature=None, top_p=None, top_k=None)


def _generate(model: PreTrainedModel, batch, settings: dict) -> torch.Tensor:
    try:
        return model.generate(**batch.to(model.device), **settings)
    except ValueError as err:  # transformers checks the settings against each other and the model
        reason = " ".join(str(err).split())
        raise SummarizerError(
            f"transformers refused the generation settings {settings}: {reason} Change the "
            "generation.* keys (e.g. generation.max_length) on the command line."
        ) from None
