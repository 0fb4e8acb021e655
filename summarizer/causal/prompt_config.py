"""The `prompt` settings: how a dialogue and its summary become one causal-LM sequence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Short and plain, so small models and large instruction-tuned ones read it the same way.
DEFAULT_INSTRUCTION = "다음 대화를 요약하세요."
# The user turn: the instruction above the dialogue, a blank line between them.
DEFAULT_USER_TEMPLATE = "{instruction}\n\n{dialogue}"
# For base models without a chat template; the summary follows the last line directly.
DEFAULT_PLAIN_TEMPLATE = "### 지시\n{instruction}\n\n### 대화\n{dialogue}\n\n### 요약\n"


@dataclass
class PromptConfig:
    """What the model reads before the summary it is trained to write.

    Args:
        instruction: The task in words, placed by `user_template` (and `template`) where
            `{instruction}` stands.
        user_template: The content of the user turn for chat templates; `{instruction}` and
            `{dialogue}` are replaced (nothing else in it is interpreted, braces included).
        system: A system message before the user turn; None sends none (a chat template may
            then add its own default, as Qwen's does).
        template: A plain prompt string with `{instruction}` and `{dialogue}`, used instead of
            the tokenizer's chat template; for base models, whose chat template (if they ship
            one) they were not trained with. None: the tokenizer's chat template, or
            `DEFAULT_PLAIN_TEMPLATE` when it has none.
        chat_template_kwargs: Extra variables for the chat template, e.g.
            `{"enable_thinking": false}` for Qwen3.
    """

    instruction: str = DEFAULT_INSTRUCTION
    user_template: str = DEFAULT_USER_TEMPLATE
    system: str | None = None
    template: str | None = None
    chat_template_kwargs: dict[str, Any] = field(default_factory=dict)
