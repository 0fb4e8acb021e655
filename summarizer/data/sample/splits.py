"""The rows of each split: which scenario each row gets, and the random stream that fills it."""

from __future__ import annotations

import random
from dataclasses import dataclass

from summarizer.data.sample.scenarios import SCENARIOS
from summarizer.data.sample.slot_values import SlotDrawer

SEED = 20240611
SIZES = {"train": 1200, "dev": 200, "test": 200}


@dataclass(frozen=True)
class Example:
    fname: str
    dialogue: str
    summary: str
    topic: str
    slots: tuple[tuple[str, str], ...]  # (kind, value) drawn for this dialogue


def build(split: str) -> list[Example]:
    """The rows of one split, with the slot values each row was built from.

    Each split has its own random stream, so a change to one split's size leaves the others'
    bytes alone; every scenario occurs equally often, in shuffled order.
    """
    rng = random.Random(SEED + tuple(SIZES).index(split))
    order = [SCENARIOS[row % len(SCENARIOS)] for row in range(SIZES[split])]
    rng.shuffle(order)
    rows = []
    for row, (topic, scenario) in enumerate(order):
        slots = SlotDrawer(rng, held_out=split != "train")
        dialogue, summary = scenario(slots)
        rows.append(Example(fname=f"{split}_{row}", dialogue=dialogue.text(), summary=summary,
                            topic=topic, slots=tuple(slots.drawn)))
    return rows
