"""Batches and generation for causal LMs: right-padded training rows, left-padded prompts, only
new tokens decoded, batched generation equal to one row at a time."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import EvalPrediction

from summarizer.causal.collator import CausalLMCollator, pad, pad_token_id
from summarizer.causal.features import IGNORE_INDEX, build_causal_dataset, encode_prompts
from summarizer.causal.generation import generate_new_tokens, generation_settings, summarize
from summarizer.causal.prompt import prompt_format
from summarizer.causal.prompt_config import DEFAULT_INSTRUCTION, PromptConfig
from summarizer.metrics import RougeMetrics
from tests.causal_like import qwen_like_tokenizer, tiny_decoder, tiny_tokenizer


@pytest.fixture(scope="module", params=["tiny", "qwen_like"])
def tokenizer(request, frame):
    return {"tiny": tiny_tokenizer, "qwen_like": qwen_like_tokenizer}[request.param](frame)


@pytest.fixture(scope="module")
def prompt(tokenizer):
    return prompt_format(tokenizer, PromptConfig())


@pytest.fixture(scope="module")
def model(tokenizer):
    # Untied: a tied random decoder mostly repeats the last prompt token.
    return tiny_decoder(tokenizer, tie=False)


def test_training_rows_right_padded_prompts_left_padded(tokenizer, prompt, frame):
    dataset = build_causal_dataset(frame.head(4), tokenizer, prompt, "dialogue", "summary",
                                   1024, 256)
    rows = list(dataset)
    batch = CausalLMCollator(tokenizer, pad_to_multiple_of=8)(rows)
    prompts, _ = encode_prompts(tokenizer, prompt, frame["dialogue"].head(4).tolist(), 1024)
    pad_id = pad_token_id(tokenizer)
    assert batch["input_ids"].shape[1] % 8 == 0 and batch["prompt_input_ids"].shape[1] % 8 == 0
    for index, (row, ids) in enumerate(zip(rows, prompts, strict=True)):
        length, width = len(row["input_ids"]), len(ids)
        assert batch["input_ids"][index, :length].tolist() == row["input_ids"]
        assert set(batch["input_ids"][index, length:].tolist()) <= {pad_id}
        assert batch["labels"][index, :length].tolist() == row["labels"]
        assert set(batch["labels"][index, length:].tolist()) <= {IGNORE_INDEX}
        assert batch["attention_mask"][index].sum() == length
        assert batch["prompt_input_ids"][index, -width:].tolist() == ids
        assert batch["prompt_attention_mask"][index].tolist() == (
            [0] * (batch["prompt_input_ids"].shape[1] - width) + [1] * width)


def test_rows_without_labels_are_their_own_prompts(tokenizer, prompt, frame):
    dataset = build_causal_dataset(frame.head(3), tokenizer, prompt, "dialogue", None, 1024, 256)
    batch = CausalLMCollator(tokenizer, with_prompts=True)(list(dataset))
    assert "labels" not in batch
    for index, ids in enumerate(dataset["input_ids"]):
        assert batch["prompt_input_ids"][index, -len(ids):].tolist() == ids
    assert "prompt_input_ids" not in CausalLMCollator(tokenizer, with_prompts=False)(list(dataset))


def test_the_loss_scores_the_summary_only(tokenizer, prompt, frame, model):
    rows = list(build_causal_dataset(frame.head(2), tokenizer, prompt, "dialogue", "summary",
                                     1024, 256))
    batch = CausalLMCollator(tokenizer, with_prompts=False)(rows)
    with torch.no_grad():
        output = model(**batch)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    targets = batch["labels"][:, 1:]
    scored = targets != IGNORE_INDEX
    expected = torch.nn.functional.cross_entropy(logits[:, :-1][scored], targets[scored])
    assert torch.allclose(output.loss, expected, atol=1e-5)
    assert int(scored.sum()) == sum(len(row["labels"]) - row["labels"].count(IGNORE_INDEX)
                                    for row in rows)


def test_a_tokenizer_without_pad_pads_with_eos(frame):
    tokenizer = qwen_like_tokenizer(frame)
    tokenizer.pad_token = None
    assert pad_token_id(tokenizer) == tokenizer.eos_token_id
    ids, mask = pad([[5, 6], [7]], 0, left=True)
    assert ids.tolist() == [[5, 6], [0, 7]] and mask.tolist() == [[1, 1], [0, 1]]


def test_generated_length_leaves_out_eos_padding(frame):
    # Generation pads finished rows with EOS when the tokenizer has no pad token; the trainer
    # pads batches of different widths with -100.
    tokenizer = qwen_like_tokenizer(frame)
    tokenizer.pad_token = None
    eos = tokenizer.eos_token_id
    references = frame["summary"].head(2).tolist()
    ids = [tokenizer(text)["input_ids"] for text in references]
    width = max(map(len, ids)) + 3
    rows = np.array([[*row, eos, *[-100] * (width - len(row) - 1)] for row in ids])
    rows[0, len(ids[0]) + 1] = eos
    scores = RougeMetrics(tokenizer, references)(EvalPrediction(rows, None))
    assert scores["gen_len"] == pytest.approx(np.mean([len(row) for row in ids]))
    assert scores["rouge_sum"] > 299


def test_batched_generation_equals_one_row_at_a_time(tokenizer, prompt, frame, model):
    # Lengths differ, so the batch pads most rows on the left.
    dialogues = frame["dialogue"].iloc[[0, 5, 17, 40, 41, 99]].tolist()
    settings = {"max_new_tokens": 12, "do_sample": False, "num_beams": 1}
    batched = summarize(model, tokenizer, prompt, dialogues, 1024, batch_size=6, **settings)
    alone = [summarize(model, tokenizer, prompt, [dialogue], 1024, batch_size=1, **settings)[0]
             for dialogue in dialogues]
    assert batched == alone
    assert len(set(batched)) > 1  # the prompts, not the padding, decide what is written


def test_only_new_tokens_come_back(tokenizer, prompt, frame, model):
    prompts, _ = encode_prompts(tokenizer, prompt, frame["dialogue"].head(3).tolist(), 1024)
    ids, mask = pad(prompts, pad_token_id(tokenizer), left=True)
    settings = generation_settings(tokenizer, prompt, max_new_tokens=8, do_sample=False)
    with torch.no_grad():
        new = generate_new_tokens(model, ids, mask, **settings)
        full = model.generate(input_ids=ids, attention_mask=mask, **settings)
    assert new.shape[1] <= 8
    assert torch.equal(new, full[:, ids.shape[1]:])
    texts = summarize(model, tokenizer, prompt, frame["dialogue"].head(3).tolist(), 1024,
                      max_new_tokens=8)
    for text, dialogue in zip(texts, frame["dialogue"].head(3), strict=True):
        assert DEFAULT_INSTRUCTION not in text and dialogue[:20] not in text
    with pytest.raises(ValueError, match="left-padded"):
        generate_new_tokens(model, *pad(prompts, 0), **settings)


def test_generation_stops_on_the_answers_closing_token(tokenizer, prompt, frame, model):
    stop = prompt.stop_ids[0]
    # A model that always predicts the closing token writes an empty summary.
    with torch.no_grad():
        model.lm_head.bias = torch.nn.Parameter(torch.full((len(tokenizer),), -1e4))
        model.lm_head.bias[stop] = 1e4
    try:
        texts = summarize(model, tokenizer, prompt, frame["dialogue"].head(2).tolist(), 1024)
    finally:
        model.lm_head.bias = None
    assert texts == ["", ""]
