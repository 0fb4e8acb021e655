"""LoRA adapters: only adapter weights (and, with tags as tokens, their embedding rows) train;
the merged final model reloads without peft and predicts as base + adapter; QLoRA stops on a
machine without CUDA before loading anything."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from omegaconf import ListConfig
from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, MBartConfig

from summarizer.causal.adapter_config import AdapterConfig
from summarizer.causal.adapters import (
    ADAPTER_DIR,
    add_adapters,
    compute_dtype,
    load_adapter_model,
    quantization_kwargs,
    save_final,
    tag_token_ids,
)
from summarizer.causal.collator import CausalLMCollator
from summarizer.causal.features import build_causal_dataset
from summarizer.causal.generation import summarize
from summarizer.causal.prompt import prompt_format
from summarizer.causal.prompt_config import PromptConfig
from summarizer.errors import SummarizerError
from summarizer.modeling import from_config as seq2seq_from_config
from summarizer.tokenization import discover_tags
from tests.causal_like import LORA, qwen_like_tokenizer, texts_of, tiny_decoder, tiny_tokenizer


@pytest.fixture(scope="module")
def tags(frame) -> list[str]:
    return discover_tags(texts_of(frame))


def train_steps(model, tokenizer, frame, steps: int = 3, lr: float = 1e-2) -> None:
    """A few optimizer steps on the trainable parameters, as the trainer takes them."""
    prompt = prompt_format(tokenizer, PromptConfig())
    rows = list(build_causal_dataset(frame.head(4), tokenizer, prompt, "dialogue", "summary",
                                     512, 64))
    batch = CausalLMCollator(tokenizer, with_prompts=False)(rows)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    for _ in range(steps):
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()


def snapshot(model) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in model.named_parameters()}


def test_lora_trains_only_the_adapters(frame):
    tokenizer = qwen_like_tokenizer(frame)
    model = add_adapters(tiny_decoder(tokenizer), LORA)
    trainable = [name for name, value in model.named_parameters() if value.requires_grad]
    assert trainable and all(".lora_A." in name or ".lora_B." in name for name in trainable)
    before = snapshot(model)
    train_steps(model, tokenizer, frame)
    changed = {name for name, value in model.named_parameters()
               if not torch.equal(value, before[name])}
    assert changed and changed <= set(trainable)


@pytest.mark.parametrize("tie", [True, False])
def test_tags_as_new_tokens_train_their_embedding_rows_only(frame, tags, tie):
    tokenizer = qwen_like_tokenizer(frame, tags)
    ids = tag_token_ids(tokenizer, tags)
    assert ids == sorted(tokenizer.convert_tokens_to_ids(tags))
    base = tiny_decoder(tokenizer, tie=tie)
    embeddings = base.get_input_embeddings().weight.detach().clone()
    head = base.get_output_embeddings().weight.detach().clone()
    model = add_adapters(base, LORA, ids)
    trainable = [name for name, value in model.named_parameters() if value.requires_grad]
    tokens = [name for name in trainable if "trainable_tokens_delta" in name]
    assert len(tokens) == (1 if tie else 2)
    assert all(".lora_" in name for name in trainable if name not in tokens)
    train_steps(model, tokenizer, frame)
    merged = model.merge_and_unload()
    rows = torch.zeros(len(tokenizer), dtype=torch.bool)
    rows[ids] = True
    new_embeddings = merged.get_input_embeddings().weight.detach()
    new_head = merged.get_output_embeddings().weight.detach()
    assert torch.equal(new_embeddings[~rows], embeddings[~rows])
    assert not torch.equal(new_embeddings[rows], embeddings[rows])
    assert torch.equal(new_head[~rows], head[~rows])
    assert not torch.equal(new_head[rows], head[rows])


def test_the_merged_model_reloads_and_predicts_as_base_plus_adapter(frame, tags, tmp_path):
    tokenizer = qwen_like_tokenizer(frame, tags)
    # Loaded from a directory, as pretrained models are: the adapter names where its base is.
    tiny_decoder(tokenizer, tie=False).save_pretrained(tmp_path / "base")
    base = AutoModelForCausalLM.from_pretrained(tmp_path / "base")
    model = add_adapters(base, LORA, tag_token_ids(tokenizer, tags))
    train_steps(model, tokenizer, frame)
    prompt = prompt_format(tokenizer, PromptConfig())
    dialogues = frame["dialogue"].head(3).tolist()
    ids = tokenizer(prompt.prompt(dialogues[0]), return_tensors="pt")["input_ids"]
    with torch.no_grad():
        expected = model(input_ids=ids).logits
    expected_texts = summarize(model, tokenizer, prompt, dialogues, 512, max_new_tokens=10)

    final = tmp_path / "final_model"
    returned = save_final(model, tokenizer, final, LORA)
    assert (final / "model.safetensors").is_file()
    assert (final / ADAPTER_DIR / "adapter_config.json").is_file()
    assert (final / ADAPTER_DIR / "adapter_model.safetensors").is_file()
    reloaded = AutoModelForCausalLM.from_pretrained(final).eval()
    assert not hasattr(reloaded, "peft_config")
    for candidate in (returned, reloaded):
        with torch.no_grad():
            assert torch.allclose(candidate(input_ids=ids).logits, expected, atol=1e-5)
        assert summarize(candidate, tokenizer, prompt, dialogues, 512,
                         max_new_tokens=10) == expected_texts
    # The adapter alone, on the base it names, predicts the same.
    adapter = load_adapter_model(final / ADAPTER_DIR).eval()
    with torch.no_grad():
        assert torch.allclose(adapter(input_ids=ids).logits, expected, atol=1e-5)


def test_without_merge_only_the_adapter_is_saved(frame, tmp_path):
    tokenizer = qwen_like_tokenizer(frame)
    model = add_adapters(tiny_decoder(tokenizer), LORA)
    config = AdapterConfig(method="lora", rank=4, merge=False)
    assert save_final(model, tokenizer, tmp_path, config) is model
    assert (tmp_path / ADAPTER_DIR / "adapter_model.safetensors").is_file()
    assert not (tmp_path / "model.safetensors").exists()


def test_lora_on_a_seq2seq_model(frame, tmp_path):
    tokenizer = tiny_tokenizer(frame)
    torch.manual_seed(0)
    base = seq2seq_from_config(MBartConfig(
        d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
        max_position_embeddings=256), tokenizer)
    model = add_adapters(base, LORA)
    assert model.peft_config["default"].task_type == "SEQ_2_SEQ_LM"
    trainable = [name for name, value in model.named_parameters() if value.requires_grad]
    assert trainable and all(".lora_" in name for name in trainable)
    source = tokenizer(["#Person1#: 안녕하세요."] * 2, return_tensors="pt")
    labels = tokenizer(["#Person1#가 인사한다."] * 2, return_tensors="pt")["input_ids"]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        model(**source, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    with torch.no_grad():
        expected = model(**source, labels=labels).logits
    save_final(model, tokenizer, tmp_path, LORA)
    reloaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        assert torch.allclose(reloaded(**source, labels=labels).logits, expected, atol=1e-5)


def test_adapter_targets_by_name_from_a_config_list(frame):
    tokenizer = qwen_like_tokenizer(frame)
    config = AdapterConfig(method="lora", rank=4, target_modules=ListConfig(["q_proj", "v_proj"]))
    model = add_adapters(tiny_decoder(tokenizer), config)
    adapted = {name.split(".")[-4] for name, value in model.named_parameters()
               if value.requires_grad}
    assert adapted == {"q_proj", "v_proj"}
    with pytest.raises(ValueError, match="method=none"):
        add_adapters(tiny_decoder(tokenizer), AdapterConfig())


def test_gradient_checkpointing_trains(frame):
    tokenizer = qwen_like_tokenizer(frame)
    config = AdapterConfig(method="lora", rank=4, gradient_checkpointing=True)
    model = add_adapters(tiny_decoder(tokenizer), config)
    assert model.get_base_model().is_activation_checkpointing
    before = snapshot(model)
    train_steps(model, tokenizer, frame, steps=1)
    assert any(not torch.equal(value, before[name]) for name, value in model.named_parameters())


def test_qlora_without_cuda_stops_before_loading(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SummarizerError, match="needs a CUDA GPU") as error:
        AutoModelForCausalLM.from_pretrained("/no/such/model",
                                             **quantization_kwargs(AdapterConfig(method="qlora")))
    assert "peft=lora" in str(error.value)
    assert quantization_kwargs(LORA) == {}
    assert compute_dtype(AdapterConfig(compute_dtype="float32")) == torch.float32
    assert compute_dtype(AdapterConfig()) == torch.float16  # no GPU, so no bfloat16


def test_qlora_without_bitsandbytes_names_the_extra(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "bitsandbytes"
                        else real_find_spec(name, *args))
    with pytest.raises(SummarizerError, match=r"summarizer\[qlora\]"):
        quantization_kwargs(AdapterConfig(method="qlora"))


@pytest.mark.parametrize("settings, key", [
    ({"method": "dora"}, "peft.method"), ({"rank": 0}, "peft.rank"),
    ({"dropout": 1.5}, "peft.dropout"), ({"compute_dtype": "int8"}, "peft.compute_dtype"),
])
def test_bad_settings_name_their_key(settings, key):
    with pytest.raises(SummarizerError, match=key):
        AdapterConfig(**settings)
