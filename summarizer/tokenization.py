"""Tokenizers whose decode(encode(text)) gives the text back, `#Person1#`-style tags included.

Two defects of KoBART-style tokenizers (BPE + ``Metaspace``) break ROUGE on this task:

* ``Metaspace(prepend_scheme="always")`` prefixes "▁" to *every* piece of text that follows an
  added token, so ``#Person2#는`` encodes as ``#Person2#``, ``▁는`` and decodes as
  ``#Person2# 는``. ``prepend_scheme="first"`` prefixes only the start of the input: text
  without added tokens encodes to the same ids as before, text after a tag keeps its (absent)
  space. (transformers' own `add_tokens` documentation recommends the same switch.)
* Added tokens flagged ``special`` vanish under ``skip_special_tokens=True``. KoBART flags its
  emoticons (``^^``, ``ㅠㅠ``, ``:)``, emoji, even ``BI``) that way; they are text, not control
  tokens.

Both fixes are made in the backend ``tokenizers`` pipeline, so ``save_pretrained`` persists them
and a plain ``AutoTokenizer.from_pretrained`` of the saved directory still round-trips.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    trainers,
)
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

# KoBART's control tokens and ids (<s>=0 ... <mask>=6); the tiny tokenizer uses the same layout.
CONTROL_TOKENS = ("<s>", "</s>", "<usr>", "<pad>", "<sys>", "<unk>", "<mask>")
TAG_PATTERN = re.compile(r"#[A-Za-z][A-Za-z0-9]*#")
# Control tokens look like markup (<s>, <unused7>, <|endoftext|>); emoticons like "<:-l" do not.
_CONTROL_LIKE = re.compile(r"<[^<>\s]+>")


def discover_tags(texts: Iterable[str]) -> list[str]:
    """``#...#`` tags in ``texts``, most frequent first, ties alphabetically (reproducible ids)."""
    counts = Counter(tag for text in texts for tag in TAG_PATTERN.findall(text))
    return sorted(counts, key=lambda tag: (-counts[tag], tag))


def train_tokenizer(
    texts: Iterable[str],
    special_tokens: Sequence[str],
    vocab_size: int = 4000,
    min_frequency: int = 2,
) -> PreTrainedTokenizerFast:
    """Train a KoBART-shaped BPE tokenizer for a from-scratch model.

    ``special_tokens`` are the data's ``#...#`` tags: they become never-split added tokens that
    ``skip_special_tokens`` keeps. Every character of ``texts`` is in the vocabulary (the BPE
    alphabet is not limited); unseen characters map to ``<unk>``. No BOS/EOS is added on encode
    (the copy a run saves in ``final_model/`` adds them: ``summarizer.drop_in_tokenizer``).
    Deterministic for the same input. The normalizer is NFC, not KoBART's NFKC: NFKC rewrites
    Hangul compatibility jamo (``ㅋㅋ``, ``ㅠㅠ``) and full-width characters, which could then
    never be generated as the references spell them.
    """
    tags = list(dict.fromkeys(special_tokens))
    metaspace = pre_tokenizers.Metaspace(prepend_scheme="first")
    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.normalizer = normalizers.NFC()
    # Training sees the words encode() will see: tags cut out, so the text after a tag starts at a
    # non-zero offset, which "first" leaves without a "▁".
    backend.pre_tokenizer = (
        pre_tokenizers.Sequence([pre_tokenizers.Split(_alternation(tags), "removed"), metaspace])
        if tags
        else metaspace
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(CONTROL_TOKENS),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer)
    backend.pre_tokenizer = metaspace
    backend.decoder = decoders.Metaspace(prepend_scheme="first")

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        clean_up_tokenization_spaces=False,
    )
    _add_tags(tokenizer, tags)
    return tokenizer


def load_tokenizer(
    name_or_path: str, special_tokens: Sequence[str] = (), **kwargs: Any
) -> PreTrainedTokenizerBase:
    """``AutoTokenizer.from_pretrained`` (hub id or local directory), then ``fix_tokenizer``."""
    return fix_tokenizer(AutoTokenizer.from_pretrained(name_or_path, **kwargs), special_tokens)


def fix_tokenizer(
    tokenizer: PreTrainedTokenizerBase, special_tokens: Sequence[str] = ()
) -> PreTrainedTokenizerBase:
    """Make a loaded fast tokenizer round-trip text exactly (changed in place and returned).

    * every ``Metaspace`` (pre-tokenizer and decoder, also nested in a ``Sequence``) with
      ``prepend_scheme="always"`` gets ``"first"``;
    * added tokens that are not control tokens (declared special tokens or ``<...>`` markup) stop
      being special, so ``skip_special_tokens`` keeps them; the tags given are never special;
    * tags that are not added tokens yet are added (one already in the BPE vocabulary keeps its
      id, the others get new ids: resize the model's embeddings to ``len(tokenizer)``);
    * ``clean_up_tokenization_spaces`` is off (it rewrites " ." and friends).
    """
    if not tokenizer.is_fast:
        raise TypeError(f"{type(tokenizer).__name__} has no `tokenizers` backend to fix")
    tags = list(dict.fromkeys(special_tokens))
    declared = set(tokenizer.all_special_tokens) - set(tags)

    state = json.loads(tokenizer.backend_tokenizer.to_str())
    _prepend_first(state["pre_tokenizer"])
    _prepend_first(state["decoder"])
    for token in state["added_tokens"]:
        content = token["content"]
        control = content in declared or bool(_CONTROL_LIKE.fullmatch(content))
        token["special"] = control and content not in tags
    backend = Tokenizer.from_str(json.dumps(state))
    backend.encode_special_tokens = tokenizer.backend_tokenizer.encode_special_tokens
    # Swapping the whole backend is the only way to change flags of existing added tokens;
    # transformers does the same in `train_new_from_iterator`.
    tokenizer._tokenizer = backend

    _add_tags(tokenizer, tags)
    tokenizer.clean_up_tokenization_spaces = False
    tokenizer.init_kwargs["clean_up_tokenization_spaces"] = False  # into tokenizer_config.json
    return tokenizer


def decode(tokenizer: PreTrainedTokenizerBase, ids_batch: Iterable[Iterable[int]]) -> list[str]:
    """Turn generated (or label) ids into text for metrics and submissions.

    Skips the tokens the backend flags special: for KoBART and the tiny tokenizer ``<s>``,
    ``</s>``, ``<pad>``, ``<usr>``, ``<sys>``, ``<mask>``, ``<unusedN>`` and ``<unk>`` (its
    character is lost either way, and a literal "<unk>" would only cost ROUGE). ``#...#`` tags
    are never skipped. Negative ids (-100 label padding) are dropped like padding; ids outside
    the vocabulary are ignored. No space clean-up; outer whitespace is stripped.
    """
    rows = ids_batch.tolist() if hasattr(ids_batch, "tolist") else ids_batch  # numpy / torch
    rows = [[int(i) for i in row if i >= 0] for row in rows]
    texts = tokenizer.batch_decode(
        rows, skip_special_tokens=True, clean_up_tokenization_spaces=False
    )
    return [text.strip() for text in texts]


def adds_special_tokens(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether encoding adds tokens by itself (BOS/EOS); KoBART-style tokenizers do not."""
    return tokenizer("a")["input_ids"] != tokenizer("a", add_special_tokens=False)["input_ids"]


def adds_bos_eos(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether encoding gives `<s> text </s>`: BART's template, and `final_model/`'s
    (`summarizer.drop_in_tokenizer`)."""
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    wrapped = [tokenizer.bos_token_id, *plain, tokenizer.eos_token_id]
    return tokenizer.bos_token_id is not None and tokenizer("a")["input_ids"] == wrapped


def _add_tags(tokenizer: PreTrainedTokenizerBase, tags: Sequence[str]) -> None:
    missing = [tag for tag in tags if tag not in tokenizer.added_tokens_encoder]
    tokenizer.add_tokens([AddedToken(tag, special=False, normalized=False) for tag in missing])


def _alternation(tags: Sequence[str]) -> Regex:
    # Longest first so a tag that prefixes another cannot win.
    return Regex("|".join(re.escape(tag) for tag in sorted(tags, key=len, reverse=True)))


def _prepend_first(component: Any) -> None:
    """``prepend_scheme="first"`` for each always-prepending Metaspace in a serialized component."""
    if isinstance(component, list):
        for item in component:
            _prepend_first(item)
    elif isinstance(component, dict):
        if component.get("type") == "Metaspace" and component.get("prepend_scheme") == "always":
            component["prepend_scheme"] = "first"
        for value in component.values():
            _prepend_first(value)
