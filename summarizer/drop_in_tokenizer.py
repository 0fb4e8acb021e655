"""The tokenizer a seq2seq run saves in `final_model/`: one that adds `<s> ... </s>` by itself.

The project adds BOS and EOS in its own data code (`summarizer.data.features`): sources are
`<s> dialogue </s>`, labels `summary </s>`. KoBART's tokenizer and the tiny one trained from the
data add neither, so code written for BART-style tokenizers (`tokenizer(text)`,
`tokenizer(text_target=summary)`) would feed the model sources without them and train on labels
without EOS: such a model never learns to stop.

The saved copy gets BART's template, `<s> $A </s>`, in its `tokenizer.json` post-processor,
which a plain `AutoTokenizer.from_pretrained` loads. Sources then come out exactly as the
project's. Targets cannot differ from sources with stock tokenizer classes (`text_target` runs
the same pipeline), so `tokenizer(text_target=summary)` gives `<s> summary </s>`: BART's label
format, one `<s>` ahead of the project's labels. The project's own code encodes without the
tokenizer's special tokens and adds them itself, so it never adds them twice.
"""

from __future__ import annotations

import copy
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerBase

from summarizer.data.cache import LOAD_ONLY_KWARGS
from summarizer.tokenization import adds_special_tokens


def drop_in_tokenizer(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """`tokenizer`, or a copy that adds `<s> ... </s>` when it adds no tokens by itself.

    A tokenizer that adds its own tokens (BART's, or a final model's loaded again) is returned
    as it is: the project's data code already matched its template. The copy leaves the
    trainer's tokenizer as it was for whatever the run still encodes.
    """
    if adds_special_tokens(tokenizer) or None in (tokenizer.bos_token_id,
                                                    tokenizer.eos_token_id):
        return tokenizer
    wrapping = copy.deepcopy(tokenizer)
    # The setters rebuild the backend's post-processor, which `save_pretrained` writes.
    wrapping.add_bos_token = True
    wrapping.add_eos_token = True
    # Truncation and padding of the last call are no settings of the tokenizer.
    wrapping.backend_tokenizer.no_truncation()
    wrapping.backend_tokenizer.no_padding()
    return wrapping


def save_drop_in_tokenizer(tokenizer: PreTrainedTokenizerBase, directory: Path) -> None:
    """Write `drop_in_tokenizer(tokenizer)` into the model directory `directory`."""
    drop_in_tokenizer(tokenizer).save_pretrained(str(directory))


def rewrite_as_drop_in(directory: Path) -> None:
    """Make the tokenizer saved in `directory` (a checkpoint's copy) add `<s> ... </s>`."""
    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    for name in LOAD_ONLY_KWARGS:
        tokenizer.init_kwargs.pop(name, None)
    save_drop_in_tokenizer(tokenizer, directory)
