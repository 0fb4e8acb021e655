"""What a run saves of a causal or adapter model, and finding its parts again to predict with.

A causal model answers the prompt it was trained with, so its `final_model/` holds that prompt
(`prompt.json`, the `PromptConfig`) next to the standard model files; predicting from any other
prompt would ask the model something it never learned. With `peft.merge=false` the directory
holds the adapter (`adapter/`) instead of merged weights, plus the base model (`base/`) when the
adapter's recorded base cannot be loaded from where it names; a `checkpoint-*` directory of an
adapter run holds the adapter itself.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, fields
from pathlib import Path

from omegaconf import OmegaConf

from summarizer.atomic_files import write_json_atomic
from summarizer.causal.prompt_config import PromptConfig
from summarizer.errors import SummarizerError
from summarizer.run_config import saved_config
from summarizer.run_files import FINAL_MODEL

log = logging.getLogger(__name__)

PROMPT_FILE = "prompt.json"
# The base model of an adapter saved without merging, when its recorded source cannot serve.
BASE_DIR = "base"
# Where a run saves the adapter alone, and the files peft writes there.
ADAPTER_DIR = "adapter"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


def write_prompt_config(config: PromptConfig, directory: str | Path) -> Path:
    """Save `config` as `directory/prompt.json`, for prediction to rebuild the same prompt."""
    path = Path(directory) / PROMPT_FILE
    write_json_atomic(asdict(config), path)
    return path


def read_prompt_config(directory: Path) -> PromptConfig:
    """The prompt a causal model in `directory` was trained with.

    From its `prompt.json`, else the one of the directory around it (`final_model/` for its
    `adapter/`) or of its run's `final_model/`, else the `prompt` settings of the run's
    `.hydra/config.yaml` (a checkpoint of a run still training), else the default prompt.
    """
    for candidate in (directory, directory.parent, directory.parent / FINAL_MODEL):
        path = candidate / PROMPT_FILE
        if path.is_file():
            log.info("Prompt from %s", path)
            return _prompt_config(_read_json(path), str(path))
    config = saved_config(directory)
    if config is not None and config.get("prompt") is not None:
        log.info("Prompt from the run's .hydra/config.yaml")
        return _prompt_config(OmegaConf.to_container(config.prompt, resolve=True),
                              "the run's .hydra/config.yaml")
    log.warning("%s has no %s and no run config: predicting with the default prompt, which may "
                "not be the one the model was trained with", directory, PROMPT_FILE)
    return PromptConfig()


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise SummarizerError(f"{path} cannot be read as JSON ({err}). Copy it again from the "
                              "training run's final_model/.") from None


def _prompt_config(values: dict, source: str) -> PromptConfig:
    known = {field.name for field in fields(PromptConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        log.info("Ignoring %s in %s: not prompt settings", ", ".join(unknown), source)
    return PromptConfig(**{key: value for key, value in values.items() if key in known})


def run_generation(directory: Path) -> dict | None:
    """The generation settings a model in `directory` was trained with: its own
    `generation_config.json`, else the run's `training.generation`; None when neither is there.
    An adapter saved without merging needs them: its base model carries those of its release.
    """
    from transformers import GenerationConfig

    if (directory / "generation_config.json").is_file():
        saved = GenerationConfig.from_pretrained(directory).to_diff_dict()
        return {key: value for key, value in saved.items()
                if key not in ("transformers_version", "_from_model_config")}
    config = saved_config(directory)
    generation = None if config is None else OmegaConf.select(config, "training.generation")
    if generation is None:
        return None
    settings = OmegaConf.to_container(generation, resolve=True)
    # As training stores them in the model: 0 means off, and early stopping needs beams.
    if settings.get("no_repeat_ngram_size") == 0:
        settings["no_repeat_ngram_size"] = None
    if settings.get("num_beams", 1) == 1:
        settings["early_stopping"] = False
    return settings


def adapter_dir(directory: Path) -> Path | None:
    """Where the adapter of `directory` is when it holds one instead of merged weights: the
    directory itself (a checkpoint, or `adapter/` given directly) or its `adapter/`."""
    if (directory / ADAPTER_CONFIG).is_file():
        return directory
    if (directory / ADAPTER_DIR / ADAPTER_CONFIG).is_file() and not (
            directory / "config.json").is_file():
        return directory / ADAPTER_DIR
    return None


def recorded_base(adapter: Path) -> str | None:
    """The base model the adapter was trained on, as peft recorded it (a hub id or a path)."""
    return _read_json(adapter / ADAPTER_CONFIG).get("base_model_name_or_path") or None


def base_model(adapter: Path, holder: Path) -> str:
    """Where to load the base model of `adapter` (found in `holder`) from: a `base/` directory
    saved with it, else the base the adapter names when that is a directory here or (offline) in
    the Hugging Face cache.

    Raises SummarizerError naming the fix when neither is there.
    """
    for candidate in (holder / BASE_DIR, adapter.parent / BASE_DIR,
                      holder.parent / FINAL_MODEL / BASE_DIR):
        if (candidate / "config.json").is_file():
            return str(candidate)
    named = recorded_base(adapter)
    if named is not None and (Path(named) / "config.json").is_file():
        return named
    if named is not None and _hub_reachable(named):
        return named
    where = (f"names {named!r}, which is neither a model directory here nor a downloaded hub "
             "model" if named is not None else "names no base model (the base was built from a "
             "config, not loaded)")
    raise SummarizerError(
        f"{holder} holds a LoRA adapter without merged weights (saved with peft.merge=false), "
        f"and its base model is missing: the adapter {where}, and there is no "
        f"{holder / BASE_DIR}/. Put the base model's files (config.json, safetensors weights) in "
        f"{holder / BASE_DIR}/"
        + (f", download {named!r} while online (`hf download {named}`)" if named else "")
        + ", or predict with a run trained with peft.merge=true (its final_model/ holds the "
        "merged model).")


def _hub_reachable(name: str) -> bool:
    """Whether `name` can be loaded as a hub id: online, or already in the cache."""
    from huggingface_hub import constants, try_to_load_from_cache
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(name)
    except ValueError:  # a path, not an id
        return False
    if not constants.HF_HUB_OFFLINE:
        return True
    return isinstance(try_to_load_from_cache(name, "config.json"), str)
