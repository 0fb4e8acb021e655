"""Turning a split into model inputs: `<s> dialogue </s>` sources and `summary </s>` labels."""

from __future__ import annotations

import pandas as pd
from datasets import Dataset
from transformers import PreTrainedTokenizerBase

from summarizer.tokenization import adds_special_tokens


def encode_texts(
    tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int, bos: bool
) -> list[list[int]]:
    """Token ids with EOS (and BOS when asked) whether or not the tokenizer adds them itself.

    KoBART's tokenizer adds neither, BART's adds both: handling it here keeps one format.
    """
    if adds_special_tokens(tokenizer):
        ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
        return [seq if bos else seq[1:] for seq in ids]
    room = max_length - (2 if bos else 1)
    ids = tokenizer(texts, add_special_tokens=False, truncation=True, max_length=room)["input_ids"]
    head = [tokenizer.bos_token_id] if bos else []
    return [head + seq + [tokenizer.eos_token_id] for seq in ids]


def build_dataset(
    frame: pd.DataFrame,
    tokenizer: PreTrainedTokenizerBase,
    text_column: str,
    summary_column: str | None,
    max_source_length: int,
    max_target_length: int,
) -> Dataset:
    sources = encode_texts(tokenizer, frame[text_column].tolist(), max_source_length, bos=True)
    columns = {"input_ids": sources, "attention_mask": [[1] * len(s) for s in sources]}
    if summary_column is not None:
        columns["labels"] = encode_texts(
            tokenizer, frame[summary_column].tolist(), max_target_length, bos=False
        )
    return Dataset.from_dict(columns)
