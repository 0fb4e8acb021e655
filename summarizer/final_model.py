"""What a run saves in `final_model/`: what `from_pretrained` and `predict` load.

* a model trained whole: its weights, tokenizer and generation settings (`trainer.save_model`);
* a seq2seq model's tokenizer adds `<s> ... </s>` itself, as the model saw them in training,
  for code that relies on the tokenizer to add them (`summarizer.drop_in_tokenizer`);
* with adapters (`peft=lora/qlora`): the merged model there, and the adapter alone in
  `adapter/`; with `peft.merge=false` the adapter, the tokenizer and the generation settings
  only, plus the base model in `base/` when no hub id or directory names it (built from a
  config, randomly initialised), so that predict can put the adapter back on it;
* a decoder-only model: also `prompt.json`, the prompt settings it was trained with
  (`PromptConfig` as a mapping), which predict renders the same way.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

from transformers import Seq2SeqTrainer

from summarizer.causal.adapter_config import AdapterConfig
from summarizer.causal.adapters import ADAPTER_DIR, save_final
from summarizer.causal.prompt_config import PromptConfig
from summarizer.causal.saved import BASE_DIR, write_prompt_config
from summarizer.distributed import is_main_process
from summarizer.drop_in_tokenizer import save_drop_in_tokenizer

log = logging.getLogger(__name__)


def save_final_model(trainer: Seq2SeqTrainer, directory: Path, adapter: AdapterConfig,
                     prompt: PromptConfig | None, **load_kwargs: Any) -> None:
    """Save the trainer's model (the best one, loaded at the end of training) into `directory`.

    `load_kwargs` go to `from_pretrained` when a 4-bit base is loaded again to merge into
    (`trust_remote_code`). Every process must call it (FSDP and DeepSpeed gather the weights of
    a model trained whole); the main one writes.
    """
    main = is_main_process()
    if not adapter.adapters:
        trainer.save_model(str(directory))
    elif main:
        model, tokenizer = trainer.model, trainer.processing_class
        if not adapter.merge:
            _save_unmerged_extras(model, directory)
            tokenizer.save_pretrained(directory)
        # Merged in place: the trainer's model is the merged one from here on (reports read it).
        trainer.model = save_final(model, tokenizer, directory, adapter, **load_kwargs)
        log.info("Saved the adapter in %s%s", directory / ADAPTER_DIR,
                 ", merged model next to it" if adapter.merge else "")
    if not main:
        return
    if prompt is not None:
        write_prompt_config(prompt, directory)
    else:
        # Over the trainer's copy: this one adds `<s> ... </s>` as the model was trained.
        save_drop_in_tokenizer(trainer.processing_class, directory)


def _save_unmerged_extras(model, directory: Path) -> None:
    """The generation settings, and the base model when the adapter's config names none."""
    model.generation_config.save_pretrained(directory)
    if model.peft_config["default"].base_model_name_or_path:
        return
    # A copy without the adapters: the trained model itself keeps them.
    base = copy.deepcopy(model).unload()
    base.save_pretrained(directory / BASE_DIR)
    log.info("The base model was built from a config: saved in %s", directory / BASE_DIR)
