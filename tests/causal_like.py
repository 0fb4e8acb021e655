"""Offline stand-ins for causal LMs: the tiny preset's tokenizer and decoder, and a tokenizer and
model directory shaped like a Qwen2 release (byte-level BPE, ChatML chat template, EOS
`<|im_end|>`, pad `<|endoftext|>`, no BOS), all small and built from the sample's texts.

The byte-level vocabulary is small on purpose: most Hangul syllables (three UTF-8 bytes) are then
split over several tokens, the case where cutting a dialogue between tokens could split a
character.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedModel, PreTrainedTokenizerFast, Qwen2Config

from summarizer.causal.adapter_config import AdapterConfig
from summarizer.causal.tiny import from_config, train_chat_tokenizer
from summarizer.tokenization import discover_tags, fix_tokenizer

# Small adapters for the tests, without dropout so that runs repeat exactly.
LORA = AdapterConfig(method="lora", rank=4, alpha=8, dropout=0.0)
# Qwen2's pre-tokenizer split.
QWEN_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Qwen2.5's template without its tool-calling branches.
CHATML_TEMPLATE = (
    "{%- if messages[0]['role'] != 'system' -%}"
    "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)


def texts_of(frame: pd.DataFrame) -> list[str]:
    return frame["dialogue"].tolist() + frame["summary"].tolist()


def tiny_tokenizer(frame: pd.DataFrame) -> PreTrainedTokenizerFast:
    """The tiny causal preset's tokenizer, trained on `frame`'s dialogues and summaries."""
    texts = texts_of(frame)
    return train_chat_tokenizer(texts, discover_tags(texts), vocab_size=1000)


def qwen_like_tokenizer(frame: pd.DataFrame, tags: Sequence[str] = (),
                        vocab_size: int = 600) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer with Qwen2's layout, passed through `fix_tokenizer` (with
    `tags` as new tokens when given) as the runner loads pretrained tokenizers."""
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_PATTERN), "isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(texts_of(frame), trainer)
    backend.add_special_tokens([AddedToken(token, special=True, normalized=False)
                                for token in QWEN_SPECIAL])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        clean_up_tokenization_spaces=False)
    tokenizer.chat_template = CHATML_TEMPLATE
    return fix_tokenizer(tokenizer, tags)


def tiny_decoder(tokenizer: PreTrainedTokenizerFast, layers: int = 2, hidden: int = 64,
                 tie: bool = True, seed: int = 0) -> PreTrainedModel:
    """A random Qwen2-layout decoder sized for tests."""
    torch.manual_seed(seed)
    config = Qwen2Config(hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         tie_word_embeddings=tie)
    return from_config(config, tokenizer).eval()


def qwen_like_dir(directory: str | Path, frame: pd.DataFrame) -> Path:
    """A local directory shaped like a Qwen2 release: config.json, generation_config.json,
    model.safetensors and a tokenizer with its chat template, all tiny."""
    directory = Path(directory)
    tokenizer = qwen_like_tokenizer(frame)
    tiny_decoder(tokenizer).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
