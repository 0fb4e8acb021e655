"""What the machine can do: the one place that asks torch about accelerators, and the `auto`
values of `training.precision`, `training.tf32` and `training.pad_to_multiple_of` it decides.

`conf/training/default.yaml` hands those three keys straight to the functions below, under the
resolver names `summarizer.precision`, `summarizer.tf32` and `summarizer.pad_multiple`.

torch is imported inside the functions that ask it: it is heavy, and `import summarizer`,
`--help` and `--cfg job` never need it.
"""

from __future__ import annotations

from typing import Any

from summarizer.errors import SummarizerError

PRECISIONS = ("auto", "fp32", "fp16", "bf16")


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


def precision_flag(flag: str, precision: str) -> bool:
    """`training.precision` as the `fp16` or `bf16` (`flag`) boolean of the training arguments."""
    if precision not in PRECISIONS:
        raise SummarizerError(
            f"training.precision={precision!r} is not one of {', '.join(PRECISIONS)}."
        )
    if precision == "auto":
        precision = auto_precision()
    return precision == flag


def pad_multiple(value: Any) -> int | None:
    """`training.pad_to_multiple_of`: `auto` pads batches to a multiple of 8 on a GPU (tensor
    cores work on tiles of 8), and not at all on a CPU, where it would only add work."""
    if value == "auto":
        return 8 if has_cuda() else None
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise SummarizerError(f"training.pad_to_multiple_of={value!r} is invalid: use auto, null or "
                          "a positive integer.")


def tf32_setting(value: Any) -> bool | None:
    """`training.tf32`: `auto` switches TF32 matrix multiplications on where the GPU has them
    and leaves torch's setting alone elsewhere (transformers refuses `true` without them)."""
    if value == "auto":
        return True if supports_tf32() else None
    if value is None or isinstance(value, bool):
        return value
    raise SummarizerError(f"training.tf32={value!r} is invalid: use auto, true, false or null.")

