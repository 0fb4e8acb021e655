"""The `peft` settings: train the whole model, LoRA adapters, or LoRA on a 4-bit base (QLoRA)."""

from __future__ import annotations

from dataclasses import dataclass

from summarizer.errors import SummarizerError

METHODS = ("none", "lora", "qlora")
COMPUTE_DTYPES = ("auto", "bfloat16", "float16", "float32")


@dataclass
class AdapterConfig:
    """How the model's weights are trained.

    Args:
        method: `none` trains every weight; `lora` freezes them and trains low-rank adapters;
            `qlora` does the same on the base weights loaded in 4-bit NF4 (CUDA only).
        rank: The adapters' rank r: more capacity, more trained parameters.
        alpha: The adapters' scaling numerator (the update is scaled by alpha / rank).
        dropout: Dropout on the adapters' input during training.
        target_modules: The layers that get adapters: `all-linear` (every linear layer but the
            output head) or a list of module names (e.g. `[q_proj, v_proj]`).
        tags_as_tokens: Whether the data's `#...#` tags become new tokens of a pretrained
            tokenizer; their embedding rows (and output rows of an untied head) then train too.
            Off keeps them as ordinary text, which byte-level tokenizers round-trip exactly
            without untrained embeddings.
        gradient_checkpointing: Recompute activations in the backward pass instead of keeping
            them: less memory for longer sequences or larger batches, about a third slower.
        merge: Save the final model with the adapters merged into its weights (loadable
            without peft) next to the adapter alone; off saves the adapter only.
        compute_dtype: The dtype `qlora` computes in, and merges the final model in; `auto`:
            bfloat16 where the GPU has it, else float16.
    """

    method: str = "none"
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"
    tags_as_tokens: bool = False
    gradient_checkpointing: bool = False
    merge: bool = True
    compute_dtype: str = "auto"

    def __post_init__(self) -> None:
        problems = []
        if self.method not in METHODS:
            problems.append(f"peft.method={self.method!r} is not one of {', '.join(METHODS)}")
        if not (isinstance(self.rank, int) and self.rank > 0):
            problems.append(f"peft.rank={self.rank!r} must be a positive integer")
        if not 0 <= self.dropout < 1:
            problems.append(f"peft.dropout={self.dropout!r} must be in [0, 1)")
        if self.compute_dtype not in COMPUTE_DTYPES:
            problems.append(f"peft.compute_dtype={self.compute_dtype!r} is not one of "
                            f"{', '.join(COMPUTE_DTYPES)}")
        if problems:
            raise SummarizerError("; ".join(problems) + ". Fix it on the command line or in the "
                                  "peft config.")

    @property
    def adapters(self) -> bool:
        """Whether the model trains adapters rather than its own weights."""
        return self.method != "none"
