"""A dialogue being written, in the competition's turn format (`#Person1#: ...`)."""

from __future__ import annotations


class Dialogue:
    """Collects turns; speakers get `#PersonN#` tags in order of first appearance, as in the
    competition data. Scenarios name speakers by role ("C" customer, "S" staff, ...) and look up
    a role's tag with `dialogue[role]` to mention it in the summary."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.tags: dict[str, str] = {}

    def say(self, role: str, text: str) -> None:
        """Add a turn; a speaker who talks twice in a row keeps one turn, as in transcribed data."""
        tag = self.tags.setdefault(role, f"#Person{len(self.tags) + 1}#")
        if self.lines and self.lines[-1].startswith(f"{tag}: "):
            self.lines[-1] += f" {text}"
        else:
            self.lines.append(f"{tag}: {text}")

    def __getitem__(self, role: str) -> str:
        return self.tags[role]

    def text(self) -> str:
        return "\n".join(self.lines)
