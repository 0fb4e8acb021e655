"""Slot values (names, dates, times, places, numbers) and the train/held-out split between them.

A value is held out by the hash of the whole value (of the given name for people), so held-out
values are new combinations of parts (month + day, hour + minute, colour + item, surname +
given-name syllables) that train also uses.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Sequence

SURNAMES = "김이박최정강조윤장임한오신권황송홍유"
GIVEN_NAME_FIRST = "민서지현준예하도수유시주태윤채"
GIVEN_NAME_SECOND = "우연호아진원빈율린후솔희영재은"
PLACE_PREFIXES = (
    "한빛", "서울", "미소", "하나", "새봄", "푸른", "행복", "바른", "온누리", "우리", "튼튼",
    "맑은", "가온", "늘봄", "으뜸", "믿음", "사랑", "다온", "참좋은", "연세",
)
AREAS = (
    "강남", "역삼", "합정", "망원", "신촌", "잠실", "건대", "서면", "수원", "분당", "일산", "종로",
    "성수", "연남", "사당", "목동", "부평", "동탄", "광교", "송도",
)
COLOURS = (
    "검은색", "흰색", "파란색", "빨간색", "회색", "남색", "베이지색", "초록색", "노란색", "하늘색",
)
ITEMS = (
    "운동화", "셔츠", "청바지", "원피스", "가방", "코트", "모자", "니트", "우산", "지갑", "패딩",
    "후드티",
)
PROJECT_TOPICS = ("신제품", "하반기", "고객", "온라인", "물류", "브랜드", "해외", "모바일", "신규")
PROJECT_KINDS = ("홍보", "예산", "출시", "개편", "분석", "전략", "채용")
MINUTES = (0, 10, 20, 30, 40, 50)
_TRIES = 10_000


def is_held_out(key: str) -> bool:
    return zlib.crc32(key.encode("utf-8")) % 5 == 0


class SlotDrawer:
    """Draws slot values from one side of the train/held-out split, distinct within a dialogue.

    `drawn` records every (kind, value) drawn, so tests can check that dev and test values never
    occur in train.
    """

    def __init__(self, rng: random.Random, held_out: bool) -> None:
        self.rng = rng
        self.held_out = held_out
        self.drawn: list[tuple[str, str]] = []

    def _draw(self, kind: str, make: Callable[[], str], key: Callable[[str], str] = str) -> str:
        for _ in range(_TRIES):
            value = make()
            unused = all(value != earlier for _, earlier in self.drawn)
            if is_held_out(key(value)) == self.held_out and unused:
                self.drawn.append((kind, value))
                return value
        raise RuntimeError(f"the {kind} pool has no usable value on this side of the split")

    def name(self) -> str:
        rng = self.rng

        def make() -> str:
            surname, first = rng.choice(SURNAMES), rng.choice(GIVEN_NAME_FIRST)
            return surname + first + rng.choice(GIVEN_NAME_SECOND)

        # Held out by the given name alone: a held-out person is new whatever the surname.
        return self._draw("name", make, key=lambda full_name: full_name[1:])

    def date(self) -> tuple[str, str]:
        """(month, day), e.g. ("5월", "21일"): two words, so that particles attach to the day."""
        rng = self.rng
        date = self._draw("date", lambda: f"{rng.randint(1, 12)}월 {rng.randint(1, 28)}일")
        month, day = date.split()
        return month, day

    def time(self, first_hour: int, last_hour: int) -> str:
        """Spoken time without 오전/오후 ("3시", "3시 20분"), as people say it when the context is
        clear."""
        rng = self.rng

        def make() -> str:
            hour = (rng.randint(first_hour, last_hour) - 1) % 12 + 1
            minute = rng.choice(MINUTES)
            return f"{hour}시" + (f" {minute}분" if minute else "")

        return self._draw("time", make)

    def day(self, other_than: str) -> str:
        """Another day of the month, for a rescheduled plan (not a slot of its own)."""
        days = [f"{number}일" for number in range(1, 29)]
        return self.rng.choice([day for day in days if day != other_than])

    def place(self, make: Callable[[], str]) -> str:
        return self._draw("place", make)

    def number(self, digits: int) -> str:
        rng = self.rng
        return self._draw("number", lambda: str(rng.randrange(10 ** (digits - 1), 10**digits)))

    def unit(self) -> str:
        """A flat number, floor then line ("1203"), from the second floor up so the one below
        exists."""
        rng = self.rng
        return self._draw("unit", lambda: f"{rng.randint(2, 15)}0{rng.randint(1, 4)}")

    def project(self) -> str:
        rng = self.rng
        return self._draw(
            "project", lambda: f"{rng.choice(PROJECT_TOPICS)} {rng.choice(PROJECT_KINDS)}")

    def facets(self, kind: str, *pools: Sequence[str]) -> tuple[str, ...]:
        """One choice from each pool (the outcome, the main detail), held out as a combination:
        dev and test dialogues then pair an outcome with details it never came with in train."""
        rng = self.rng
        combined = self._draw(kind, lambda: "|".join(rng.choice(pool) for pool in pools))
        return tuple(combined.split("|"))

    def won(self, low: int, high: int, step: int) -> str:
        """A price; prices are shared by all splits, like the other small-number pools."""
        return f"{self.rng.randrange(low, high + 1, step):,}원"
