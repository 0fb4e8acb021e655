PYTHON ?= python
PIP := $(PYTHON) -m pip

.PHONY: install train test test-fast bench bench-tokenize clean

# torch first and on its own: with the pin in place pip never pulls a CUDA build here.
install:
	$(PIP) install -c constraints.txt torch
	$(PIP) install -c constraints.txt -e ".[dev]"

train:
	$(PYTHON) -m summarizer.train $(ARGS)

test:
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest tests

test-fast:
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest tests -m "not slow"

# Training, evaluation and prediction speed against a plain Seq2SeqTrainer script (docs/benchmarks.md).
bench:
	HF_HUB_OFFLINE=1 $(PYTHON) benchmarks/train_speed.py $(ARGS)

# Peak memory and time of loading and tokenizing a CSV of 10k, 100k and 1M rows (docs/benchmarks.md).
bench-tokenize:
	HF_HUB_OFFLINE=1 $(PYTHON) benchmarks/tokenize_memory.py $(ARGS)

clean:
	rm -rf outputs multirun .pytest_cache
