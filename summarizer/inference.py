"""Generating summaries with a trained model: length-sorted batches, original order restored."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from summarizer.checkpoints import CHECKPOINT_PREFIX, safetensors_intact
from summarizer.data.features import encode_texts
from summarizer.errors import SummarizerError
from summarizer.hardware import auto_precision
from summarizer.run_files import FAILED_FILE, FINAL_MODEL
from summarizer.tokenization import decode

log = logging.getLogger(__name__)

# One file, or the index of a sharded checkpoint (large models).
SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")


def model_dir(path: str | Path) -> Path:
    """A run directory (its `final_model/`) or a model directory itself, checked to be complete."""
    path = Path(path)
    for candidate in (path / FINAL_MODEL, path):
        if (candidate / "config.json").is_file():
            _check_complete(candidate)
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


def load_model(path: str | Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    directory = model_dir(path)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForSeq2SeqLM.from_pretrained(directory, use_safetensors=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    log.info("Loaded %s from %s on %s", type(model).__name__, directory, device)
    return model.to(device).eval(), tokenizer


def summarize(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, dialogues: list[str],
              max_source_length: int, batch_size: int = 32, split: str | None = None,
              **generation) -> list[str]:
    """Summaries in the order of `dialogues`.

    Batches are cut from inputs sorted by length, so padding (and beam search over padding)
    stays small; results are put back in input order. `split` names the dialogues in the log
    line that counts the truncated ones.
    """
    encoded = encode_texts(tokenizer, dialogues, max_source_length, bos=True, what="dialogues",
                           split=split)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]), reverse=True)
    precision = auto_precision()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    autocast = torch.autocast("cuda", dtype=dtype) if dtype is not None else nullcontext()
    results: list[str] = [""] * len(encoded)
    settings = {k: v for k, v in generation.items() if v is not None}
    for start in tqdm(range(0, len(order), batch_size), desc="summarizing", unit="batch"):
        index = order[start:start + batch_size]
        batch = tokenizer.pad({"input_ids": [encoded[i] for i in index]}, return_tensors="pt")
        with torch.inference_mode(), autocast:
            output = _generate(model, batch, settings)
        for i, text in zip(index, decode(tokenizer, output.cpu()), strict=True):
            results[i] = text
    return results


def _generate(model: PreTrainedModel, batch, settings: dict) -> torch.Tensor:
    try:
        return model.generate(**batch.to(model.device), **settings)
    except ValueError as err:  # transformers checks the settings against each other and the model
        reason = " ".join(str(err).split())
        raise SummarizerError(
            f"transformers refused the generation settings {settings}: {reason} Change the "
            "generation.* keys (e.g. generation.max_length) on the command line."
        ) from None
