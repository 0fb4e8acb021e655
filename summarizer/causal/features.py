"""Causal-LM training examples: `prompt + summary + closing` with the prompt masked in the labels.

Lengths, defined for the decoder-only layout:

* `max_source_length` bounds the prompt (template and dialogue: what generation starts from);
  when the prompt is longer, dialogue tokens are dropped from the dialogue's end, never the
  template's (instruction, turn markers, the start of the answer);
* `max_target_length` bounds the labels (summary tokens and the closing ones); a longer summary is
  cut, the closing tokens are always kept, so a trained model still learns to stop.

The prompt is tokenized as one text, with offsets that tell which tokens are the dialogue's, so
cutting never re-tokenizes it and the template's tokens are exactly those of the uncut text. The
summary is tokenized on its own: generation starts at the end of the prompt, so training must
too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
from datasets import Dataset, Features
from transformers import PreTrainedTokenizerBase

from summarizer.causal.prompt import PromptFormat
from summarizer.data.features import CHUNK_ROWS, FEATURES, arrow_dataset
from summarizer.errors import SummarizerError

log = logging.getLogger(__name__)
IGNORE_INDEX = -100


def encode_prompts(tokenizer: PreTrainedTokenizerBase, prompt: PromptFormat,
                   dialogues: Sequence[str], max_source_length: int) -> tuple[list[list[int]], int]:
    """The prompt ids of `dialogues`, each at most `max_source_length` long, and how many of the
    dialogues were cut to fit."""
    head_end = len(prompt.head)
    texts = [prompt.prompt(dialogue) for dialogue in dialogues]
    encoded = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
    prompts, cut = [], 0
    for ids, offsets, dialogue in zip(encoded["input_ids"], encoded["offset_mapping"], dialogues,
                                      strict=True):
        if len(ids) > max_source_length:
            ids = _cut_dialogue(ids, offsets, head_end, head_end + len(dialogue),
                                max_source_length)
            cut += 1
        prompts.append(ids)
    return prompts, cut


def _cut_dialogue(ids: list[int], offsets: list[tuple[int, int]], start: int, end: int,
                  max_length: int) -> list[int]:
    """`ids` without as many of the dialogue's last tokens as make it `max_length` long.

    The dialogue's tokens are those inside its characters [start, end); a token that also holds
    template text (a merge across the border) stays with the template.
    """
    first = next((i for i, (begin, _) in enumerate(offsets) if begin >= start), len(ids))
    stop = next((i for i in range(first, len(ids)) if offsets[i][1] > end), len(ids))
    keep = (stop - first) - (len(ids) - max_length)
    if keep < 0:
        template = len(ids) - (stop - first)
        raise SummarizerError(
            f"The prompt without any dialogue takes {template} tokens, more than "
            f"data.max_source_length={max_length}. Raise data.max_source_length or shorten "
            "prompt.instruction / prompt.system.")
    # Byte-level tokenizers split one character into several tokens: cut between characters.
    while keep > 0 and offsets[first + keep - 1][1] > offsets[first + keep][0]:
        keep -= 1
    return ids[:first + keep] + ids[stop:]


def encode_summaries(
    tokenizer: PreTrainedTokenizerBase, prompt: PromptFormat, summaries: Sequence[str],
    max_target_length: int,
) -> tuple[list[list[int]], int]:
    """The label ids of `summaries` (summary, then the closing tokens), each at most
    `max_target_length` long, and how many summaries were cut to fit."""
    closing = list(prompt.closing_ids)
    room = max_target_length - len(closing)
    if room < 1:
        raise SummarizerError(
            f"data.max_target_length={max_target_length} leaves no room for a summary: the "
            f"answer's closing tokens alone take {len(closing)}. Raise data.max_target_length.")
    encoded = tokenizer(list(summaries), add_special_tokens=False)["input_ids"]
    cut = sum(len(ids) > room for ids in encoded)
    return [ids[:room] + closing for ids in encoded], cut


def training_example(prompt_ids: list[int], label_ids: list[int]) -> dict[str, list[int]]:
    """One row: the ids the model reads, and labels that score only the answer."""
    return {"input_ids": prompt_ids + label_ids,
            "attention_mask": [1] * (len(prompt_ids) + len(label_ids)),
            "labels": [IGNORE_INDEX] * len(prompt_ids) + label_ids}


def build_causal_dataset(
    frame: pd.DataFrame,
    tokenizer: PreTrainedTokenizerBase,
    prompt: PromptFormat,
    text_column: str,
    summary_column: str | None,
    max_source_length: int,
    max_target_length: int,
    split: str | None = None,
    notes: list[str] | None = None,
    path: str | Path | None = None,
) -> Dataset:
    """The rows of one split as causal-LM examples (`training_example`); without
    `summary_column` (a test split) the prompts alone, without labels.

    Like `summarizer.data.features.build_dataset`: `CHUNK_ROWS` rows at a time, appended to the
    Arrow file `path` or kept in memory; `split` names the split in the log line counting cut
    dialogues and summaries, which `notes` collects when given.
    """
    names = ["input_ids", "attention_mask"] + (["labels"] if summary_column is not None else [])
    schema = Features({name: FEATURES[name] for name in names}).arrow_schema
    cut = {"dialogues": 0, "summaries": 0}

    def batches() -> Iterator[pa.RecordBatch]:
        for start in range(0, len(frame), CHUNK_ROWS):
            rows = frame.iloc[start:start + CHUNK_ROWS]
            prompts, count = encode_prompts(tokenizer, prompt, rows[text_column].astype(str)
                                            .tolist(), max_source_length)
            cut["dialogues"] += count
            if summary_column is None:
                columns = {"input_ids": prompts,
                           "attention_mask": [[1] * len(ids) for ids in prompts]}
            else:
                labels, count = encode_summaries(tokenizer, prompt, rows[summary_column]
                                                 .astype(str).tolist(), max_target_length)
                cut["summaries"] += count
                examples = [training_example(ids, label_ids)
                            for ids, label_ids in zip(prompts, labels, strict=True)]
                columns = {name: [example[name] for example in examples] for name in names}
            yield pa.RecordBatch.from_pydict(columns, schema=schema)

    dataset = arrow_dataset(batches(), schema, path)
    limits = {"dialogues": f"prompts longer than {max_source_length} tokens had their dialogue cut",
              "summaries": f"summaries longer than {max_target_length} tokens were cut"}
    for what, count in cut.items():
        if count:
            note = f"{f'{split}: ' if split else ''}{count} of {len(frame)} {limits[what]}"
            log.info("%s", note)
            if notes is not None:
                notes.append(note)
    return dataset


def prompt_length(labels: Sequence[int]) -> int:
    """How many leading positions of a training row are prompt: its leading masked labels."""
    for position, label in enumerate(labels):
        if label != IGNORE_INDEX:
            return position
    return len(labels)
