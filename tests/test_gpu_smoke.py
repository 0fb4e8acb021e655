"""The GPU smoke test (`make gpu-smoke`): its report, and a real run of it on CPU."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys

import pytest
import torch
import transformers

from benchmarks.device_info import peak_tflops
from tests.conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "gpu_smoke.py"
REAL_TOKENIZER = os.environ.get("SUMMARIZER_KOBART_TOKENIZER")
# A handful of short steps: minutes become seconds on a CPU; the model keeps its full size.
CPU_ARGS = ["--steps", "4", "--untimed-steps", "1", "--train-rows", "64", "--dev-rows", "4",
            "training.batch_size=4", "training.num_workers=0", "data.max_source_length=64",
            "data.max_target_length=16", "training.generation.max_length=8",
            "training.generation.num_beams=2"]


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_smoke", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name,tflops", [
    ("NVIDIA H200", 989.0), ("NVIDIA H200 NVL", 835.0), ("NVIDIA H100 80GB HBM3", 989.0),
    ("NVIDIA H100 PCIe", 756.0), ("NVIDIA H100 NVL", 835.0), ("NVIDIA A100-SXM4-80GB", 312.0),
    ("NVIDIA A100 80GB PCIe", 312.0), ("NVIDIA L4", 121.0), ("NVIDIA L40S", 362.0),
    ("NVIDIA A10", 125.0), ("Tesla T4", 65.0), ("Tesla V100-SXM2-16GB", 125.0),
    ("Tesla V100-PCIE-32GB", 112.0),
    # Not in the table: near names must not borrow another part's peak.
    ("NVIDIA A10G", None), ("NVIDIA L40", None), ("NVIDIA GeForce RTX 4090", None),
])
def test_peak_tflops_by_device_name(name, tflops):
    assert peak_tflops(name) == tflops


def gpu_result(**changes) -> dict:
    """A result as a bf16 run on an H200 would report it (numbers made up for the format)."""
    result = {
        "device": "NVIDIA H200", "cuda": "12.8", "torch": "2.11.0+cu128",
        "transformers": "5.17.0", "python": "3.11.7", "layers": 6, "parameters": 123859968,
        "vocab_size": 30015, "tokenizer": "KoBART (tok.json)", "tokenizer_size": 30015,
        "data": "bundled sample", "train_rows": 1200, "dev_rows": 200, "max_source_length": 256,
        "max_target_length": 64, "precision": "bf16", "training.precision": "auto",
        "tf32_matmuls": True, "training.tf32": "auto", "pad_to_multiple_of": 8,
        "training.pad_to_multiple_of": "auto", "optimizer": "adamw_torch_fused",
        "fused_optimizer": True, "torch_compile": False, "batch_size": 50,
        "gradient_accumulation_steps": 1, "steps": 100, "timed_steps": 95,
        "train_samples_per_s": 900.0, "train_tokens_per_s": 120000.0, "train_loss": 9.5,
        "model_tflops_per_s": 300.0, "peak_tflops": 989.0, "mfu": 300.0 / 989.0,
        "num_beams": 4, "generation_max_length": 100, "eval_s": 5.0, "eval_rows_per_s": 40.0,
        "eval_loss": 9.0, "eval_rouge_sum": 0.5, "predict_s": 4.0, "predict_rows_per_s": 50.0,
        "peak_memory_mib": 20000.0, "train_peak_memory_mib": 18000.0,
        "memory_measure": "torch.cuda.max_memory_allocated",
    }
    return {**result, **changes}


def test_report_shows_mfu_against_the_device_peak_or_says_why_not():
    smoke = load_script()
    text = smoke.report(gpu_result())
    assert "MFU          30.3% (300.0 model TFLOPS of a 989 TFLOPS dense bf16 peak)" in text
    assert "precision bf16 (training.precision=auto), TF32 matmuls on" in text
    assert "pad_to_multiple_of 8 (training.pad_to_multiple_of=auto)" in text
    assert ("peak memory  20000 MiB (torch.cuda.max_memory_allocated; training 18000 MiB)"
            in text)
    unknown = smoke.report(gpu_result(device="NVIDIA A10G", peak_tflops=None, mfu=None))
    assert "MFU          n/a (no peak known for NVIDIA A10G; 300.000 model TFLOPS)" in unknown
    fp32 = smoke.report(gpu_result(precision="fp32", peak_tflops=None, mfu=None))
    assert "MFU          n/a (fp32 has no peak in the table" in fp32


def run_smoke(args: list[str], tmp_path, tokenizer: str | None = None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("SUMMARIZER_KOBART_TOKENIZER", None)
    if tokenizer:
        args = [*args, "--tokenizer", tokenizer]
    proc = subprocess.run([sys.executable, str(SCRIPT), *args, "--json", str(tmp_path / "r.json")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert json.loads((tmp_path / "r.json").read_text()) == result
    return result, proc.stdout


@pytest.mark.slow
def test_cpu_run_trains_evaluates_predicts_and_reports(tmp_path):
    result, stdout = run_smoke(CPU_ARGS, tmp_path)

    # KoBART-base at full size: 6+6 layers, d_model 768, FFN 3072, 30,000-entry vocabulary.
    assert (result["layers"], result["vocab_size"]) == (6, 30000)
    assert 123_000_000 < result["parameters"] < 125_000_000
    assert result["encoder_matmul_weights"] == 6 * (4 * 768**2 + 2 * 768 * 3072)
    assert result["decoder_matmul_weights"] == 6 * (8 * 768**2 + 2 * 768 * 3072) + 30000 * 768
    assert result["tokenizer"] == "trained on the training split"
    # What the machine and the config chose on a CPU.
    assert result["device"].startswith("CPU") and result["cuda"] is None
    assert (result["torch"], result["transformers"]) == (torch.__version__,
                                                         transformers.__version__)
    assert result["precision"] == "fp32" and result["training.precision"] == "auto"
    assert result["pad_to_multiple_of"] is None and result["tf32_matmuls"] is None
    assert result["optimizer"] == "adamw_torch_fused" and result["fused_optimizer"]
    # Throughput over the steps after the first: 3 steps of 4 samples.
    assert (result["steps"], result["timed_steps"], result["train_samples"]) == (4, 3, 12)
    seconds = result["train_seconds"]
    assert result["train_samples_per_s"] == pytest.approx(12 / seconds)
    tokens = result["train_source_tokens"] + result["train_target_tokens"]
    assert 12 * 8 < tokens <= 12 * (64 + 16)
    assert result["train_tokens_per_s"] == pytest.approx(tokens / seconds)
    flops = 6 * (result["encoder_matmul_weights"] * result["train_source_tokens"]
                 + result["decoder_matmul_weights"] * result["train_target_tokens"])
    assert result["model_tflops_per_s"] == pytest.approx(flops / seconds / 1e12)
    assert result["mfu"] is None and result["peak_tflops"] is None
    assert math.isfinite(result["train_loss"]) and math.isfinite(result["eval_loss"])
    assert (result["num_beams"], result["generation_max_length"]) == (2, 8)
    assert result["dev_rows"] == 4 and result["eval_s"] > 0 and result["predict_s"] > 0
    assert result["memory_measure"] == "peak RSS" and result["peak_memory_mib"] > 500

    for line in ("GPU smoke test: KoBART-base architecture, random init, 123.9M parameters, "
                 "6+6 layers", f"torch {torch.__version__}, transformers "
                 f"{transformers.__version__}", "precision fp32 (training.precision=auto)",
                 "pad_to_multiple_of off (training.pad_to_multiple_of=auto)",
                 "optimizer adamw_torch_fused (fused: yes)", "4 steps, last 3 timed",
                 "samples/s", "tokens/s", "MFU          n/a (CPU;", "evaluation   4 rows in",
                 "prediction   4 rows in", "MiB (peak RSS)"):
        assert line in stdout, line


@pytest.mark.slow
@pytest.mark.skipif(not REAL_TOKENIZER, reason="SUMMARIZER_KOBART_TOKENIZER is not set")
def test_cpu_run_with_the_real_kobart_tokenizer(tmp_path):
    result, _ = run_smoke([*CPU_ARGS, "--layers", "1"], tmp_path, REAL_TOKENIZER)
    assert result["tokenizer"] == f"KoBART ({REAL_TOKENIZER})"
    # KoBART's 30,000 entries plus the data's tags the tokenizer did not know.
    assert result["tokenizer_size"] == result["vocab_size"] > 30000
    assert result["layers"] == 1 and result["parameters"] < 50_000_000
    assert math.isfinite(result["train_loss"])


def test_bad_input_stops_with_a_message(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--data-dir", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2
    assert f"--data-dir {tmp_path / 'none'} is not a directory" in proc.stderr
    proc = subprocess.run([sys.executable, str(SCRIPT), "--steps", "3", "--untimed-steps", "3"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2 and "at least 1 timed step" in proc.stderr
