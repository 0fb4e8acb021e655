"""Causal-LM examples: the prompt is masked exactly, the dialogue alone is cut, tags survive."""

from __future__ import annotations

import pandas as pd
import pytest

from summarizer.causal.features import (
    IGNORE_INDEX,
    build_causal_dataset,
    encode_prompts,
    encode_summaries,
    prompt_length,
)
from summarizer.causal.prompt import prompt_format
from summarizer.causal.prompt_config import DEFAULT_INSTRUCTION, PromptConfig
from summarizer.errors import SummarizerError
from summarizer.tokenization import discover_tags
from tests.causal_like import qwen_like_tokenizer, texts_of, tiny_tokenizer


@pytest.fixture(scope="module")
def frame(data_dir) -> pd.DataFrame:
    return pd.read_csv(data_dir / "sample" / "train.csv").head(300)


@pytest.fixture(scope="module", params=["tiny", "qwen_like", "qwen_like_tag_tokens"])
def tokenizer(request, frame):
    """The tiny preset's; a byte-level one keeping the tags as text; the same with the tags as
    new tokens."""
    if request.param == "tiny":
        return tiny_tokenizer(frame)
    tags = discover_tags(texts_of(frame)) if request.param == "qwen_like_tag_tokens" else ()
    return qwen_like_tokenizer(frame, tags)


@pytest.fixture(scope="module")
def prompt(tokenizer):
    return prompt_format(tokenizer, PromptConfig())


def decoded(tokenizer, ids) -> str:
    return tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)


def test_labels_mask_every_prompt_position(tokenizer, prompt, frame):
    rows = frame.head(40)
    dataset = build_causal_dataset(rows, tokenizer, prompt, "dialogue", "summary", 1024, 256)
    prompts, _ = encode_prompts(tokenizer, prompt, rows["dialogue"].tolist(), 1024)
    closing = decoded(tokenizer, prompt.closing_ids)
    assert closing == tokenizer.eos_token
    for row, ids, summary in zip(dataset, prompts, rows["summary"], strict=True):
        assert row["input_ids"][:len(ids)] == ids
        assert row["labels"][:len(ids)] == [IGNORE_INDEX] * len(ids)
        answer = row["labels"][len(ids):]
        assert IGNORE_INDEX not in answer
        assert answer == row["input_ids"][len(ids):]
        assert decoded(tokenizer, answer) == summary + closing
        assert prompt_length(row["labels"]) == len(ids)


def test_prompt_and_tags_round_trip_through_the_template(tokenizer, prompt, frame):
    masked = frame[frame["dialogue"].str.contains("#PhoneNumber#")].head(5)
    assert len(masked) > 0
    dialogues = masked["dialogue"].tolist()
    prompts, cut = encode_prompts(tokenizer, prompt, dialogues, 1024)
    assert cut == 0
    for ids, dialogue in zip(prompts, dialogues, strict=True):
        text = decoded(tokenizer, ids)
        assert text == prompt.head + dialogue + prompt.tail
        assert DEFAULT_INSTRUCTION in prompt.head
    tag = tokenizer.get_added_vocab().get("#PhoneNumber#")
    if tag is not None:
        assert any(tag in ids for ids in prompts)


def test_a_long_dialogue_is_cut_never_the_template_or_the_summary(tokenizer, prompt, frame):
    dialogues, summaries = frame["dialogue"].head(20).tolist(), frame["summary"].head(20).tolist()
    whole, _ = encode_prompts(tokenizer, prompt, dialogues, 1024)
    head = tokenizer(prompt.head, add_special_tokens=False)["input_ids"]
    limit = min(len(ids) for ids in whole) - 12
    dataset = build_causal_dataset(frame.head(20), tokenizer, prompt, "dialogue", "summary",
                                   max_source_length=limit, max_target_length=256)
    for row, full, dialogue, summary in zip(dataset, whole, dialogues, summaries, strict=True):
        start = prompt_length(row["labels"])
        ids = row["input_ids"][:start]
        # At most a few tokens short: byte-level cuts move back to a character border.
        assert limit - 4 <= len(ids) <= limit
        assert ids[:len(head)] == head == full[:len(head)]
        text = decoded(tokenizer, ids)
        assert text.startswith(prompt.head) and text.endswith(prompt.tail)
        kept = text[len(prompt.head):len(text) - len(prompt.tail)]
        assert "\ufffd" not in kept
        assert len(kept) < len(dialogue) and dialogue.startswith(kept.rstrip())
        assert decoded(tokenizer, row["input_ids"][start:]) == summary + tokenizer.eos_token


def test_every_cut_length_keeps_whole_characters(tokenizer, prompt, frame):
    dialogue = frame["dialogue"].iloc[0]
    whole = encode_prompts(tokenizer, prompt, [dialogue], 1024)[0][0]
    tail = tokenizer(prompt.tail, add_special_tokens=False)["input_ids"]
    for limit in range(len(whole) - 30, len(whole)):
        ids = encode_prompts(tokenizer, prompt, [dialogue], limit)[0][0]
        assert len(ids) <= limit and ids[-len(tail):] == tail
        kept = decoded(tokenizer, ids)[len(prompt.head):-len(prompt.tail)]
        assert "\ufffd" not in kept and dialogue.startswith(kept.rstrip())


def test_a_long_summary_is_cut_but_still_closes(tokenizer, prompt, frame):
    labels, cut = encode_summaries(tokenizer, prompt, frame["summary"].head(10).tolist(), 6)
    assert cut == 10
    for ids in labels:
        assert len(ids) == 6 and tuple(ids[-len(prompt.closing_ids):]) == prompt.closing_ids


def test_lengths_that_leave_no_room_are_refused(tokenizer, prompt, frame):
    with pytest.raises(SummarizerError, match="data.max_source_length"):
        encode_prompts(tokenizer, prompt, frame["dialogue"].head(2).tolist(), 5)
    with pytest.raises(SummarizerError, match="data.max_target_length"):
        encode_summaries(tokenizer, prompt, ["요약"], len(prompt.closing_ids))


def test_a_split_without_summaries_holds_prompts_only(tokenizer, prompt, frame):
    rows = frame.head(5)
    dataset = build_causal_dataset(rows, tokenizer, prompt, "dialogue", None, 1024, 256)
    prompts, _ = encode_prompts(tokenizer, prompt, rows["dialogue"].tolist(), 1024)
    assert dataset.column_names == ["input_ids", "attention_mask"]
    assert dataset["input_ids"] == prompts


def test_written_to_an_arrow_file(tokenizer, prompt, frame, tmp_path):
    rows = frame.head(5)
    in_memory = build_causal_dataset(rows, tokenizer, prompt, "dialogue", "summary", 1024, 256)
    on_disk = build_causal_dataset(rows, tokenizer, prompt, "dialogue", "summary", 1024, 256,
                                   path=tmp_path / "train.arrow")
    assert on_disk["labels"] == in_memory["labels"]


def test_truncation_is_counted_in_the_notes(tokenizer, prompt, frame):
    notes: list[str] = []
    template = len(tokenizer(prompt.prompt(""), add_special_tokens=False)["input_ids"])
    limit = template + 10
    build_causal_dataset(frame.head(4), tokenizer, prompt, "dialogue", "summary", limit, 5,
                         split="train", notes=notes)
    assert notes == [f"train: 4 of 4 prompts longer than {limit} tokens had their dialogue cut",
                     "train: 4 of 4 summaries longer than 5 tokens were cut"]
