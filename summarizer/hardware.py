"""What the machine can do: the one place that asks torch about accelerators."""

from __future__ import annotations


def has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def auto_precision() -> str:
    """bf16 on GPUs that support it, fp16 on other GPUs, fp32 on CPU."""
    import torch

    if not has_cuda():
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def supports_tf32() -> bool:
    """TF32 matrix multiplications: NVIDIA GPUs from Ampere (compute capability 8.0) on."""
    import torch

    return has_cuda() and torch.cuda.get_device_capability() >= (8, 0)
