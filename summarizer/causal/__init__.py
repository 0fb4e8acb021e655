"""Decoder-only (causal LM) summarization: prompt, labels, batches, generation and adapters.

A causal model reads the dialogue and writes the summary in one sequence, so the pieces the
seq2seq path gets from the model's architecture (separate encoder input and decoder labels) are
built here: a prompt around the dialogue, labels masked on it, left-padded prompts to generate
from, and LoRA / QLoRA adapters for models too large to fine-tune whole.
"""
