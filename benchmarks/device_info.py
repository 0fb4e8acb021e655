"""The machine a benchmark ran on: CPU and GPU names, and the GPU's peak TFLOPS."""

from __future__ import annotations

import platform
import re
from pathlib import Path

# Dense (no sparsity) bf16/fp16 tensor-core peaks in TFLOPS from NVIDIA's data sheets, for the
# model FLOPs utilisation the GPU smoke test reports. Keyed by the model's word in
# `torch.cuda.get_device_name()` and, for parts sold in several forms, a second word; entries
# with a form come first. The SXM parts are the plain names ("NVIDIA H100 80GB HBM3"). Turing
# (T4) and Volta (V100) have no bf16: their fp16 peak stands for both.
PEAK_TFLOPS = (
    ("H200", "NVL", 835.0),
    ("H200", None, 989.0),
    ("H100", "NVL", 835.0),
    ("H100", "PCIE", 756.0),
    ("H100", None, 989.0),
    ("A100", None, 312.0),
    ("L40S", None, 362.0),
    ("L4", None, 121.0),
    ("A10", None, 125.0),
    ("T4", None, 65.0),
    ("V100", "PCIE", 112.0),
    ("V100", None, 125.0),
)


def peak_tflops(device: str) -> float | None:
    """The dense bf16/fp16 peak of a GPU named like `torch.cuda.get_device_name()`, or None for
    GPUs the table does not hold. Whole words only: "A10G" or "L40" are not "A10" or "L4"."""
    words = set(re.split(r"[\s_-]+", device.upper()))
    for model, form, tflops in PEAK_TFLOPS:
        if model in words and (form is None or form in words):
            return tflops
    return None


def device_name() -> str:
    """The GPU's name, or the CPU's model name on a machine without CUDA."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return "CPU: " + cpu_name()


def cpu_name() -> str:
    """The CPU's model name (`/proc/cpuinfo` on Linux)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
