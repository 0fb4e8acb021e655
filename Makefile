PYTHON ?= python
PIP := $(PYTHON) -m pip

.PHONY: install train lint test test-fast bench bench-speed bench-time-to-rouge bench-epoch-eval bench-drop-in bench-tokenize gpu-smoke wheelhouse install-offline clean

# torch first and on its own: with the pin in place pip never pulls a CUDA build here.
install:
	$(PIP) install -c constraints.txt torch
	$(PIP) install -c constraints.txt -e ".[dev]"

train:
	$(PYTHON) -m summarizer.train $(ARGS)

# Rules and the justified ignores: pyproject.toml [tool.ruff].
lint:
	$(PYTHON) -m ruff check .

test:
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest tests

test-fast:
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest tests -m "not slow"

# The three benchmarks against a plain Seq2SeqTrainer script on the bundled sample (docs/benchmarks.md);
# each also runs alone with options after ARGS=.
bench: bench-speed bench-time-to-rouge bench-epoch-eval

# Training, evaluation and prediction speed.
bench-speed:
	HF_HUB_OFFLINE=1 $(PYTHON) benchmarks/train_speed.py $(ARGS)

# Wall time from launch to a target dev ROUGE, over seeds.
bench-time-to-rouge:
	HF_HUB_OFFLINE=1 $(PYTHON) benchmarks/time_to_rouge.py $(ARGS)

# Lighter evaluation after each epoch: time saved, and whether it picks the same best checkpoint.
bench-epoch-eval:
	HF_HUB_OFFLINE=1 $(PYTHON) benchmarks/epoch_eval.py $(ARGS)

# A plain Seq2SeqTrainer script on a run's final_model/ files (standard tokenizer calls) against the run.
bench-drop-in:
	HF_HUB_OFFLINE=1 $(PYTHON) benchmarks/drop_in_model.py $(ARGS)

# Peak memory and time of loading and tokenizing a CSV of 10k, 100k and 1M rows (docs/benchmarks.md).
bench-tokenize:
	HF_HUB_OFFLINE=1 $(PYTHON) benchmarks/tokenize_memory.py $(ARGS)

# KoBART-base-sized training, evaluation and prediction on this machine's torch: speed, MFU, memory.
gpu-smoke:
	HF_HUB_OFFLINE=1 $(PYTHON) benchmarks/gpu_smoke.py $(ARGS)

# GPU servers without package access (docs/installation.md, "GPU servers (offline)").
WHEELHOUSE ?= wheelhouse
EXTRAS ?= dev
KEEP ?= transformers tokenizers accelerate safetensors huggingface-hub

# Connected machine: wheels of every dependency but torch and its CUDA packages, for WHEEL_PYTHON on WHEEL_PLATFORM.
wheelhouse:
	$(PYTHON) tools/wheelhouse.py build --dest $(WHEELHOUSE) --extras "$(EXTRAS)" \
		$(if $(WHEEL_PYTHON),--python $(WHEEL_PYTHON)) $(if $(WHEEL_PLATFORM),--platform $(WHEEL_PLATFORM)) \
		$(if $(SERVER_FREEZE),--server-freeze $(SERVER_FREEZE))

# GPU server, offline: the project from WHEELHOUSE, keeping the installed torch and KEEP packages.
install-offline:
	$(PYTHON) tools/wheelhouse.py install --wheelhouse $(WHEELHOUSE) --extras "$(EXTRAS)" --keep $(KEEP)

clean:
	rm -rf outputs multirun .pytest_cache
