"""The bundled Korean dialogue-summarization sample, generated deterministically (docs/sample_data.md).

The default run must work offline, so the project generates its own small dataset in the
competition's CSV layout instead of downloading one. Each scenario builds a dialogue from slot
values (names, dates, times, places, items, prices, numbers) and an outcome, and a summary that
restates the outcome with the same values: the summary is a learnable function of the dialogue.

Every slot value is *held out* or not by a stable hash of the value itself. Train rows use only
the other values, dev and test rows only held-out ones, so evaluation measures copying unseen
values out of the dialogue rather than recalling train summaries. Held-out values are new
combinations of parts (name syllables, place prefixes, colours, digits) that train also uses.
The same split applies to each scenario's outcome paired with its main detail (a symptom, an item,
an excuse), so the summary of the most similar train dialogue gets the outcome or the detail
wrong; copying train summaries is worth far less than learning (docs/sample_data.md).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import random
import tempfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SAMPLE_VERSION = "2"
SEED = 20240611
SIZES = {"train": 1200, "dev": 200, "test": 200}
COLUMNS = ("fname", "dialogue", "summary", "topic")
# Expected bytes of each generated file; `ensure` regenerates whatever differs.
SHA256: dict[str, str] = {
    "train.csv": "f8943bcff051af0a21a6a7e44c904cf08b001610ba87b85def4a35b2a0a352a7",
    "dev.csv": "9568e29020686c3a0277f9bb994a09985cb0630a58ff1fcb44c629b158be9dfd",
    "test.csv": "b743c151e090d547da4cdb88360d02f691cbbb2f610719da3bba177b4d3c3f12",
}

# ---------------------------------------------------------------------------------------------
# Korean particles: the form depends on whether the word ends in a final consonant (batchim).

_PARTICLES = {  # particle: (after a final consonant, after a vowel)
    "은": ("은", "는"),
    "이": ("이", "가"),
    "을": ("을", "를"),
    "과": ("과", "와"),
    "으로": ("으로", "로"),
    "아": ("아", "야"),
    "이고": ("이고", "고"),
    "이라": ("이라", "라"),
    "이에요": ("이에요", "예요"),
}
# Final consonant of each digit as read aloud (영 일 이 삼 사 오 육 칠 팔 구); 8 is ㄹ.
_DIGIT_CODA = {"0": 21, "1": 8, "2": 0, "3": 16, "4": 0, "5": 0, "6": 1, "7": 8, "8": 8, "9": 0}
_RIEUL = 8


def _coda(word: str) -> int:
    """Final consonant index (0: none) of the last syllable; `#Person1#` reads as ending in 일."""
    ch = word.rstrip("#")[-1]
    if "가" <= ch <= "힣":
        return (ord(ch) - 0xAC00) % 28
    if ch in _DIGIT_CODA:
        return _DIGIT_CODA[ch]
    raise ValueError(f"no particle rule for {word!r}")


def josa(word: str, particle: str) -> str:
    """`word` with the particle form that fits it: josa("#Person2#", "은") == "#Person2#는"."""
    with_coda, without = _PARTICLES[particle]
    coda = _coda(word)
    if particle == "으로":
        return word + ("로" if coda in (0, _RIEUL) else "으로")
    return word + (with_coda if coda else without)


def _group(tags: Sequence[str]) -> str:
    """Subject phrase for several speakers: "#Person1#과 #Person2#는", "#Person1#, #Person2#, #Person3#은"."""
    if len(tags) == 2:
        return f"{josa(tags[0], '과')} {josa(tags[1], '은')}"
    return ", ".join(tags[:-1]) + ", " + josa(tags[-1], "은")


# ---------------------------------------------------------------------------------------------
# Slot pools. A value is held out by the hash of the whole value (of the given name for people),
# so held-out values are new combinations of parts (month + day, hour + minute, colour + item,
# surname + given-name syllables) that train also uses.

_SURNAMES = "김이박최정강조윤장임한오신권황송홍유"
_GIVEN_FIRST = "민서지현준예하도수유시주태윤채"
_GIVEN_SECOND = "우연호아진원빈율린후솔희영재은"
_PREFIXES = ("한빛", "서울", "미소", "하나", "새봄", "푸른", "행복", "바른", "온누리", "우리", "튼튼", "맑은",
             "가온", "늘봄", "으뜸", "믿음", "사랑", "다온", "참좋은", "연세")
_AREAS = ("강남", "역삼", "합정", "망원", "신촌", "잠실", "건대", "서면", "수원", "분당", "일산", "종로",
          "성수", "연남", "사당", "목동", "부평", "동탄", "광교", "송도")
_COLOURS = ("검은색", "흰색", "파란색", "빨간색", "회색", "남색", "베이지색", "초록색", "노란색", "하늘색")
_ITEMS = ("운동화", "셔츠", "청바지", "원피스", "가방", "코트", "모자", "니트", "우산", "지갑", "패딩", "후드티")


def _is_heldout(key: str) -> bool:
    return zlib.crc32(key.encode("utf-8")) % 5 == 0


class _Slots:
    """Draws slot values from one side of the train/held-out split, distinct within a dialogue."""

    def __init__(self, rng: random.Random, heldout: bool) -> None:
        self.rng = rng
        self.heldout = heldout
        self.drawn: list[tuple[str, str]] = []

    def _draw(self, kind: str, make: Callable[[], str], key: Callable[[str], str] = str) -> str:
        for _ in range(10_000):
            value = make()
            if _is_heldout(key(value)) == self.heldout and all(value != v for _, v in self.drawn):
                self.drawn.append((kind, value))
                return value
        raise RuntimeError(f"the {kind} pool has no usable value on this side of the split")

    def name(self) -> str:
        r = self.rng
        return self._draw("name", lambda: r.choice(_SURNAMES) + r.choice(_GIVEN_FIRST) + r.choice(_GIVEN_SECOND),
                          key=lambda v: v[1:])

    def date(self) -> tuple[str, str]:
        """(month, day), e.g. ("5월", "21일"): two words, so that particles attach to the day only."""
        r = self.rng
        return tuple(self._draw("date", lambda: f"{r.randint(1, 12)}월 {r.randint(1, 28)}일").split())

    def time(self, first_hour: int, last_hour: int) -> str:
        """Spoken time without 오전/오후 ("3시", "3시 20분"), as people say it when the context is clear."""
        r = self.rng

        def make() -> str:
            hour, minute = (r.randint(first_hour, last_hour) - 1) % 12 + 1, r.choice((0, 10, 20, 30, 40, 50))
            return f"{hour}시" + (f" {minute}분" if minute else "")

        return self._draw("time", make)

    def day(self, other_than: str) -> str:
        """Another day of the month, for a rescheduled plan (not a slot of its own)."""
        return self.rng.choice([f"{d}일" for d in range(1, 29) if f"{d}일" != other_than])

    def place(self, make: Callable[[], str]) -> str:
        return self._draw("place", make)

    def item(self) -> tuple[str, str]:
        """(colour, item), e.g. ("흰색", "지갑")."""
        r = self.rng
        return tuple(self._draw("item", lambda: f"{r.choice(_COLOURS)} {r.choice(_ITEMS)}").split())

    def number(self, digits: int) -> str:
        return self._draw("number", lambda: str(self.rng.randrange(10 ** (digits - 1), 10 ** digits)))

    def unit(self) -> str:
        """A flat number, floor then line ("1203"), from the second floor up so the one below exists."""
        r = self.rng
        return self._draw("unit", lambda: f"{r.randint(2, 15)}0{r.randint(1, 4)}")

    def project(self) -> str:
        r = self.rng
        return self._draw("project", lambda: f"{r.choice(_PROJECT_A)} {r.choice(_PROJECT_B)}")

    def facets(self, kind: str, *pools: Sequence[str]) -> tuple[str, ...]:
        """One choice from each pool (the outcome, the main detail), held out as a combination: dev
        and test dialogues then pair an outcome with details it never came with in train."""
        r = self.rng
        return tuple(self._draw(kind, lambda: "|".join(r.choice(pool) for pool in pools)).split("|"))

    def won(self, low: int, high: int, step: int) -> str:
        """A price; prices are shared by all splits, like the other small-number pools."""
        return f"{self.rng.randrange(low, high + 1, step):,}원"


class _Talk:
    """Collects turns; speakers get `#PersonN#` tags in order of first appearance, as in the competition data."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.tags: dict[str, str] = {}

    def say(self, who: str, text: str) -> None:
        """Add a turn; a speaker who talks twice in a row keeps one turn, as in transcribed data."""
        tag = self.tags.setdefault(who, f"#Person{len(self.tags) + 1}#")
        if self.lines and self.lines[-1].startswith(f"{tag}: "):
            self.lines[-1] += f" {text}"
        else:
            self.lines.append(f"{tag}: {text}")

    def __getitem__(self, who: str) -> str:
        return self.tags[who]


# ---------------------------------------------------------------------------------------------
# Scenarios. Each draws an outcome, writes the dialogue that shows it, and returns the summary
# for that outcome: the phrasing depends on what was said, never on a separate coin flip.
# Summaries reuse the dialogue's own words for the facts they restate (the same word with the
# same particle), so a small model can copy them. They restate many of the dialogue's facts
# (who, where, when, what, how much, why) around few fixed words, so that the summary of a
# similar train dialogue shares its phrasing but hardly any of its facts. Roles: C customer,
# S staff.

_SYMPTOMS = ("두통", "복통", "치통", "요통", "몸살", "감기", "비염", "장염", "위염", "결막염")


def _hospital(s: _Slots) -> tuple[_Talk, str]:
    r = s.rng
    clinic = s.place(lambda: r.choice(_PREFIXES) + r.choice(("내과", "의원", "병원", "정형외과", "이비인후과")))
    outcome, symptom = s.facets("hospital", ("booked", "moved", "closed"), _SYMPTOMS)
    symptom, days, name = josa(symptom, "으로"), f"{r.randint(2, 9)}일째", s.name()
    (month, day), when = s.date(), s.time(9, 17)
    t = _Talk()
    if r.random() < 0.5:
        t.say("S", f"네, {clinic}입니다. 무엇을 도와드릴까요?")
        t.say("C", r.choice(("진료 예약을 하고 싶어서 전화했어요.", "진료를 좀 받고 싶은데 예약이 되나요?")))
    else:
        t.say("C", f"여보세요, {clinic} 맞죠? 진료 예약 좀 하려고요.")
    t.say("S", "어디가 불편하세요?")
    t.say("C", f"{days} {symptom} 고생하고 있어요.")
    t.say("S", "성함과 생년월일을 말씀해 주세요.")
    t.say("C", f"{name}, #DateOfBirth#입니다.")
    t.say("S", r.choice(("언제 오시겠어요?", "원하시는 날짜가 있으세요?")))
    t.say("C", f"{month} {day} {when}에 갈 수 있을까요?")
    c, booked = josa(t["C"], "은"), josa(name, "으로")
    if outcome == "closed":
        t.say("S", f"죄송하지만 {josa(day, '은')} 휴진이에요.")
        t.say("C", "아, 그럼 다른 날 다시 연락드릴게요.")
        return t, f"{c} {days} {symptom} {clinic}에 {month} {day} {when} 예약하려 했지만 휴진이었다."
    if outcome == "moved":
        other = s.time(9, 17)
        t.say("S", f"그 시간은 꽉 찼어요. {josa(other, '으로')} 하시면 어떨까요?")
        t.say("C", "네, 그렇게 할게요.")
        summary = f"{c} {days} {symptom} {clinic}에 {booked} {month} {day} {josa(when, '이')} 차서 {other}에 예약했다."
    else:
        t.say("S", "네, 그 시간에 예약해 드릴게요.")
        summary = f"{c} {days} {symptom} {clinic}에 {month} {day} {when} {booked} 예약했다."
    t.say("S", "연락처도 남겨 주시겠어요?")
    t.say("C", "#PhoneNumber#입니다. " + r.choice(("문자로 안내 부탁드려요.", "감사합니다.")))
    return t, summary


_SERVICES = ("커트", "염색", "파마", "매직", "드라이", "클리닉")


def _salon(s: _Slots) -> tuple[_Talk, str]:
    r = s.rng
    salon = s.place(lambda: r.choice(_PREFIXES) + r.choice(("헤어", "미용실", "헤어살롱")))
    outcome, bare = s.facets("salon", ("booked", "booked", "declined"), _SERVICES)
    service = josa(bare, "을")
    (month, day), when, designer = s.date(), s.time(10, 19), s.name()
    price = s.won(20000, 200000, 10000) + "부터"
    t = _Talk()
    if r.random() < 0.5:
        t.say("S", f"감사합니다, {salon}입니다.")
        t.say("C", "안녕하세요, 예약 좀 하려고요.")
    else:
        t.say("C", f"여보세요, {salon} 맞죠? 예약 좀 하려고요.")
    t.say("S", "네, 어떤 시술 받으실 건가요?")
    t.say("C", f"{service} 하고 싶어요. {designer} 디자이너님께 받을 수 있나요?")
    t.say("S", "원하시는 날짜와 시간 말씀해 주세요.")
    t.say("C", f"{month} {day} {when}에 될까요?")
    t.say("S", f"네, 그 시간 비어 있어요. 가격은 {price}라 미리 말씀드려요.")
    c = josa(t["C"], "은")
    if outcome == "declined":
        t.say("C", "생각보다 비싸네요. 다음에 다시 연락드릴게요.")
        return t, f"{c} {salon} {designer}의 {josa(bare, '이')} {price}라 {month} {day} {when} 예약을 미뤘다."
    t.say("C", "네, 예약해 주세요. 번호는 #PhoneNumber#예요.")
    t.say("S", "예약 완료됐습니다. 그날 뵙겠습니다.")
    return t, f"{c} {salon} {designer}에게 {month} {day} {when} {price}인 {service} 예약했다."


_DEFECTS = (  # (what the customer says, how the summary names it)
    ("받아 보니까 얼룩이 묻어 있더라고요.", "얼룩 때문에"),
    ("박음질이 터져 있었어요.", "박음질 불량으로"),
    ("지퍼가 고장 나서 안 잠겨요.", "지퍼 고장으로"),
)
_SIZES = ("S", "M", "L", "XL")


def _returns(s: _Slots) -> tuple[_Talk, str]:
    r = s.rng
    outcome, item = s.facets("returns", ("refund", "exchange", "late"), _ITEMS)
    colour, item = r.choice(_COLOURS), josa(item, "을")
    price, order = s.won(19000, 199000, 1000), s.number(6)
    days = f"{r.randint(15, 40) if outcome == 'late' else r.randint(2, 10)}일"
    t = _Talk()
    if r.random() < 0.5:
        t.say("S", "안녕하세요, 고객센터입니다. 무엇을 도와드릴까요?")
    t.say("C", f"{days} 전에 산 옷 때문에 연락드렸어요.")
    t.say("S", "주문번호와 상품을 알려 주시겠어요?")
    t.say("C", f"주문번호는 {order}번이고, {colour} {item} {price}에 샀어요.")
    c = josa(t["C"], "은")
    if outcome == "late":
        t.say("S", f"확인해 보니 구매하신 지 {josa(days, '이')} 지나서 반품이 어려워요.")
        t.say("C", "아, 그렇군요. 알겠습니다.")
        return t, f"{c} {order}번 {colour} {item} {josa(days, '이')} 지나 반품하지 못했다."
    t.say("S", "어떤 문제가 있으세요?")
    if outcome == "refund":
        said, defect = r.choice(_DEFECTS)
        refund = josa(price, "을")
        t.say("C", said)
        t.say("S", f"불편을 드려 죄송합니다. {refund} #CardNumber# 카드로 환불해 드릴게요.")
        t.say("C", "네, 감사합니다.")
        return t, f"{c} {order}번 {colour} {item} {defect} 반품하고 {refund} 환불받았다."
    size = r.choice(_SIZES[:-1])
    bigger = _SIZES[_SIZES.index(size) + 1]
    t.say("C", f"입어 보니 {size} 사이즈가 작더라고요.")
    t.say("S", f"그럼 {bigger} 사이즈로 바꿔 드릴게요. 내일 회수하러 가겠습니다.")
    t.say("C", "네, 그렇게 해 주세요.")
    return t, f"{c} {order}번 {price}짜리 {colour} {item} {size}에서 {bigger} 사이즈로 바꿨다."


_NOISES = ("발소리", "음악소리", "청소기", "세탁기", "강아지", "피아노", "망치질", "드릴")
_FIXES = {  # how the summary states the neighbour's promise: what the neighbour said
    "매트를 깔기로": "바닥에 매트를 더 깔게요.",
    "밤에 조심하기로": "밤에는 조심할게요.",
    "더 신경 쓰기로": "앞으로 더 신경 쓸게요.",
}


def _noise(s: _Slots) -> tuple[_Talk, str]:
    r = s.rng
    upstairs = s.unit()
    downstairs = f"{int(upstairs[:-2]) - 1}{upstairs[-2:]}호"
    upstairs += "호"
    fix, noise = s.facets("noise", ("denied", "denied", *_FIXES), _NOISES)
    when, nights = s.time(21, 23) + "쯤", f"{r.randint(2, 9)}일째"
    t = _Talk()
    t.say("A", f"안녕하세요, 아래층 {downstairs}에 사는 사람인데요.")
    t.say("B", f"네, {upstairs}입니다. 무슨 일이세요?")
    t.say("A", f"벌써 {nights} 밤 {when} {noise} 때문에 잠을 못 자고 있어요.")
    a, b = josa(t["A"], "은"), t["B"]
    complaint = f"{downstairs} {a} {nights} {when} {noise} 때문에 {upstairs} {b}에게 항의했"
    if fix == "denied":
        t.say("B", "저희 집은 아닌데요. 그 시간엔 아무도 없어요.")
        t.say("A", "그럼 관리사무소에 말해 볼게요.")
        return t, f"{complaint}지만 {josa(b, '은')} 부인했다."
    t.say("B", r.choice(("아, 정말 죄송해요. 그렇게 크게 들리는 줄 몰랐어요.", "어머, 죄송합니다. 전혀 몰랐네요.")))
    t.say("B", _FIXES[fix])
    t.say("A", "이해해 주셔서 감사해요.")
    return t, f"{complaint}고 {josa(b, '은')} {fix} 했다."


_CITIES = ("부산", "제주", "강릉", "경주", "여수", "속초", "전주", "통영", "포항", "목포", "춘천")
_ROOMS = ("디럭스 더블", "스탠다드 트윈", "오션뷰 스위트", "패밀리 룸", "온돌 룸")


def _hotel(s: _Slots) -> tuple[_Talk, str]:
    r = s.rng
    hotel = s.place(lambda: f"{r.choice(_CITIES)} {r.choice(_PREFIXES)}{r.choice(('호텔', '리조트'))}")
    (month, day), nights, guests = s.date(), f"{r.randint(1, 4)}박", f"{r.randint(1, 6)}명"
    outcome, wanted = s.facets("hotel", ("full", "free"), _ROOMS)
    offered = r.choice([room for room in _ROOMS if room != wanted])
    room, other = josa(wanted, "을"), josa(offered, "을")
    t = _Talk()
    if r.random() < 0.5:
        t.say("S", f"{hotel}입니다. 무엇을 도와드릴까요?")
        t.say("C", "방을 예약하고 싶어요.")
    else:
        t.say("C", f"여보세요, {hotel} 맞나요? 방 예약하려고요.")
    t.say("S", "언제 묵으실 건가요?")
    t.say("C", f"{month} {day}부터 {josa(guests, '이')} {nights} 묵을 거고 {room} 원해요.")
    c = josa(t["C"], "은")
    if outcome == "full":
        full = josa(wanted, "은")
        t.say("S", f"죄송하지만 {full} 그날 만실이라 {other} 추천드려요.")
        t.say("C", "그럼 그걸로 할게요.")
        room = f"{full} 만실이라 {other}"
    else:
        t.say("S", "네, 그 날짜에 가능합니다.")
    t.say("S", "예약자 성함과 이메일 주소를 알려 주세요.")
    name = s.name()
    t.say("C", f"{name}, #Email#입니다.")
    return t, f"{c} {hotel}에 {month} {day}부터 {nights} {guests} {room} {josa(name, '으로')} 예약했다."


_AILMENTS = ("두통이", "기침이", "콧물이", "소화불량이", "근육통이", "가려움증이", "목감기가")
_MEDICINES = ("진통제를", "기침약을", "감기약을", "소화제를", "파스를", "연고를", "목캔디를")
_DOSES = ("식후에", "식전에", "자기 전에")


def _pharmacy(s: _Slots) -> tuple[_Talk, str]:
    r = s.rng
    ailment, days = s.facets("pharmacy", _AILMENTS, [str(d) for d in range(1, 15)])
    medicine, days = _MEDICINES[_AILMENTS.index(ailment)], int(days)
    pharmacy = s.place(lambda: r.choice(_PREFIXES) + "약국")
    t = _Talk()
    t.say("S", f"어서 오세요, {pharmacy}입니다.")
    t.say("C", r.choice(("안녕하세요, 약 좀 사려고요.", "저기요, 약 좀 추천해 주실 수 있나요?")))
    t.say("S", "네, 어디가 불편하세요?")
    t.say("C", f"{days}일째 {ailment} 계속돼요.")
    c, p = t["C"], f"{pharmacy} {josa(t['S'], '은')}"
    if days >= 7:  # a week or more: the pharmacist sends the customer to a doctor
        clinic = s.place(lambda: r.choice(_PREFIXES) + r.choice(("내과", "의원")))
        t.say("S", f"{days}일째면 약보다 진료를 받아 보시는 게 좋겠어요.")
        t.say("C", "그래요? 근처에 병원이 있나요?")
        t.say("S", f"길 건너 {clinic}에 가 보세요.")
        return t, f"{p} {days}일째 {ailment} 계속된 {c}에게 {clinic} 진료를 권했다."
    times, dose, price = f"{r.randint(2, 3)}번", r.choice(_DOSES), s.won(2000, 15000, 500)
    t.say("S", f"그럼 이 {medicine} 하루 {times} {dose} 드세요.")
    t.say("C", "네, 얼마예요?")
    t.say("S", f"{price}입니다.")
    return t, f"{p} {days}일째 {ailment} 계속된 {c}에게 {price}짜리 {medicine} 하루 {times} {dose} 먹으라고 했다."


_PROJECT_A = ("신제품", "하반기", "고객", "온라인", "물류", "브랜드", "해외", "모바일", "신규")
_PROJECT_B = ("홍보", "예산", "출시", "개편", "분석", "전략", "채용")
_CONFLICTS = {"출장": "죄송한데 그날 저는 출장이 있어요.", "외근": "저는 그날 외근이라 어렵습니다."}


def _meeting(s: _Slots) -> tuple[_Talk, str]:
    r = s.rng
    project = s.project()
    (month, day), when, floor = s.date(), s.time(9, 17), f"{r.randint(2, 12)}층"
    conflict, size = s.facets("meeting", ("agreed", "agreed", "agreed", *_CONFLICTS), ("1", "2", "3"))
    members = ["B", "C", "D"][: int(size)]
    t = _Talk()
    t.say("A", f"다음 주에 {project} 회의를 해야 하는데요.")
    t.say("A", f"{month} {day} {when}에 {floor} 회의실에서 어때요?")
    if conflict != "agreed":
        later = s.day(day) + "로"
        t.say(members[0], _CONFLICTS[conflict])
        t.say("A", f"그럼 같은 시간에 {later} 미룹시다.")
        for m in members:
            t.say(m, r.choice(("네, 좋습니다.", "그때는 괜찮아요.")))
        group = _group([t[w] for w in ["A", *members]])
        return t, f"{group} {t[members[0]]}의 {conflict} 때문에 {floor} {project} 회의를 {month} {day}에서 {later} 미뤘다."
    for m in members:
        t.say(m, r.choice(("저는 괜찮습니다.", "저도 좋아요.", "네, 그때 가능해요.")))
    name = s.name()
    t.say("A", f"{name} 씨가 자료 준비해 주세요.")
    t.say(members[0], "네, 알겠습니다.")
    group = _group([t[w] for w in ["A", *members]])
    return t, f"{group} {josa(name, '이')} 자료를 맡을 {project} 회의를 {month} {day} {when}에 {floor}에서 열기로 했다."


_SEATS = ("창가 자리로", "룸으로", "테라스 자리로", "조용한 자리로", "바 자리로")


def _restaurant(s: _Slots) -> tuple[_Talk, str]:
    r = s.rng
    place = s.place(lambda: r.choice(_PREFIXES) + r.choice(("횟집", "갈비", "칼국수", "한정식", "파스타", "초밥")))
    outcome, seat = s.facets("restaurant", ("booked", "booked", "full"), _SEATS)
    (month, day), when, party = s.date(), s.time(11, 20), f"{r.randint(2, 9)}명"
    t = _Talk()
    if r.random() < 0.5:
        t.say("S", f"감사합니다, {place}입니다.")
        t.say("C", "예약 좀 하려고요.")
    else:
        t.say("C", f"여보세요, {place} 맞죠? 예약 좀 하려고요.")
    t.say("S", "언제로 해 드릴까요?")
    t.say("C", f"{month} {day} {when}에 {party} 가능할까요? {seat} 부탁드려요.")
    c = josa(t["C"], "은")
    if outcome == "full":
        t.say("S", "죄송하지만 그날은 예약이 다 찼어요. 대기 명단에 올려 드릴까요?")
        t.say("C", "네, 올려 주세요. 번호는 #PhoneNumber#예요.")
        return t, f"{c} {place}에 {month} {day} {when} {party} 대기를 걸었다."
    t.say("S", "네, 가능합니다. 성함이 어떻게 되세요?")
    name = s.name()
    t.say("C", f"{name}, 번호는 #PhoneNumber#예요.")
    t.say("S", "예약됐습니다. 감사합니다.")
    return t, f"{c} {place}에 {month} {day} {when} {party} {seat} {josa(name, '으로')} 예약했다."


_PURPOSES = ("월세로", "축의금으로", "용돈으로", "생활비로", "계약금으로", "병원비로")
_RATES = ("2.5%", "3.0%", "3.5%", "4.0%", "4.5%")


def _bank(s: _Slots) -> tuple[_Talk, str]:
    r = s.rng
    branch = s.place(lambda: r.choice(_AREAS) + "지점")
    t = _Talk()
    t.say("S", f"어서 오세요, {branch}입니다. 어떤 업무 보시겠어요?")
    task = r.choice(("transfer", "savings", "card"))
    if task == "transfer":
        to, amount, purpose = s.name(), josa(s.won(100000, 3000000, 50000), "을"), r.choice(_PURPOSES)
        t.say("C", f"{to} 씨에게 {purpose} {amount} 보내려고요.")
        t.say("S", "신분증과 받는 분 계좌번호를 주시겠어요?")
        t.say("C", "여기 있어요.")
        t.say("S", f"{to} 님께 송금 완료됐습니다.")
        return t, f"{josa(t['C'], '은')} {branch}에서 {to}에게 {purpose} {amount} 송금했다."
    if task == "savings":
        monthly, months, rate = s.won(50000, 1000000, 50000) + "씩", f"{r.choice((6, 12, 24, 36))}개월", r.choice(_RATES)
        t.say("C", f"매달 {monthly} {months} 동안 넣는 적금을 들고 싶어요.")
        t.say("S", f"금리는 연 {rate}입니다. 주민등록번호를 확인하겠습니다.")
        t.say("C", "#SSN#입니다.")
        t.say("S", "가입 완료됐습니다.")
        return t, f"{josa(t['C'], '은')} {branch}에서 {months} {monthly} {rate} 적금에 가입했다."
    (month, day), days = s.date(), f"{r.randint(3, 7)}일"
    t.say("C", f"{month} {day}에 체크카드를 잃어버려서 재발급받으려고요.")
    t.say("S", "분실 신고부터 할게요. 카드번호를 아시나요?")
    t.say("C", "#CardNumber#예요.")
    t.say("S", f"신고됐습니다. 새 카드는 {days} 안에 #Address#로 배송됩니다.")
    return t, f"{josa(t['C'], '은')} {branch}에서 {month} {day}에 잃어버린 체크카드를 {days} 안에 새로 받는다."


_HOMES = ("원룸", "투룸", "오피스텔", "아파트", "빌라")


def _realestate(s: _Slots) -> tuple[_Talk, str]:
    r = s.rng
    outcome, kind = s.facets("realestate", ("contract", "visit"), _HOMES)
    area, kind = s.place(lambda: f"{r.choice(_AREAS)}동"), josa(kind, "을")
    rent, floor = f"{r.randrange(30, 155, 5)}만원짜리", f"{r.randint(2, 15)}층"
    (month, day), when = s.date(), s.time(10, 19)
    t = _Talk()
    t.say("S", "어서 오세요. 어떤 집을 찾으세요?")
    t.say("C", f"{area} {kind} 보러 왔어요.")
    t.say("S", f"마침 {floor}에 월세 {rent} 매물이 하나 있어요.")
    if r.random() < 0.4:
        t.say("P", "주차도 되나요?")
        t.say("S", "네, 한 대는 가능해요.")
    group = _group([t["C"], t["P"]]) if "P" in t.tags else josa(t["C"], "은")
    home = f"{group} {rent} {area} {floor} {kind} {month} {day} {when}에"
    if outcome == "contract":
        t.say("C", "지난번에 본 집이죠? 그 집으로 계약할게요.")
        t.say("S", f"좋습니다. {month} {day} {when}에 계약서 쓰시죠.")
        t.say("C", "네, 그때 올게요.")
        return t, f"{home} 계약하기로 했다."
    t.say("C", "집을 직접 볼 수 있을까요?")
    t.say("S", f"{month} {day} {when}에 보여 드릴게요.")
    t.say("C", "좋아요, 그때 갈게요.")
    return t, f"{home} 보러 가기로 했다."


def _delivery(s: _Slots) -> tuple[_Talk, str]:
    r = s.rng
    outcome, item = s.facets("delivery", ("late", "address", "missing"), _ITEMS)
    colour, item, tracking = r.choice(_COLOURS), josa(item, "을"), s.number(8)
    t = _Talk()
    t.say("S", "안녕하세요, 택배 고객센터입니다.")
    t.say("C", f"{colour} {item} 주문했는데 아직 안 왔어요.")
    t.say("S", "송장번호를 알려 주시겠어요?")
    t.say("C", f"{tracking}번이에요.")
    c = josa(t["C"], "은")
    if outcome == "late":
        month, day = s.date()
        t.say("S", f"물량이 많아서 늦어지고 있어요. {month} {day}에 도착할 예정입니다.")
        t.say("C", "알겠습니다. 그날은 꼭 받아야 해요.")
        return t, f"{c} {tracking}번 {colour} {item} {month} {day}에 받는다."
    if outcome == "address":
        t.say("S", "아직 출발 전이에요.")
        t.say("C", "그럼 배송지를 #Address#로 바꿔 주세요.")
        t.say("S", "네, 변경해 드렸습니다.")
        return t, f"{c} {tracking}번 {colour} {item} #Address#로 받도록 바꿨다."
    when = s.time(9, 20)
    t.say("S", f"기록상으로는 {when}에 배송 완료로 나와요.")
    t.say("C", "문 앞에 아무것도 없었는데요?")
    t.say("S", "경비실에 맡겨졌을 수 있으니 확인해 보세요.")
    return t, f"{c} {tracking}번 {colour} {item} {when}에 왔다는데 못 받았다."


_SUBJECTS = ("국어", "수학", "과학", "사회", "영어", "역사", "미술", "음악")
_EXCUSES = {  # how the summary states the student's excuse: what the student said
    "감기 때문에": "감기에 걸려서 자료를 다 못 찾았어요.",
    "조사할 게 많아": "조사할 게 생각보다 많아요.",
    "대회 준비로": "대회 준비 때문에 시간이 없었어요.",
}


def _school(s: _Slots) -> tuple[_Talk, str]:
    r = s.rng
    student = s.name()
    outcome, excuse, subject = s.facets("school", ("granted", "refused"), tuple(_EXCUSES), _SUBJECTS)
    month, day = s.date()
    t = _Talk()
    grade = f"{r.randint(1, 3)}학년 {r.randint(1, 9)}반"
    t.say("P", f"선생님, {grade} {josa(student, '이에요')}. {subject} 보고서 때문에 왔어요.")
    t.say("T", f"{josa(student[1:], '아')}, 무슨 일이니?")
    t.say("P", f"{month} {day}까지 내야 하는데 {_EXCUSES[excuse]} 조금만 늦게 내도 될까요?")
    teacher, pupil = josa(t["T"], "은"), f"{grade} {student}인 {t['P']}"
    if outcome == "granted":
        more = f"{r.randint(2, 7)}일"
        t.say("T", f"이번만이야. {more} 더 줄게.")
        t.say("P", "감사합니다, 선생님!")
        return t, f"{teacher} {excuse} {subject} 보고서가 늦는 {pupil}에게 {month} {day} 마감을 {more} 미뤄 주었다."
    t.say("T", f"안 돼. 다른 친구들도 다 맞춰서 내니까 {month} {day}까지 꼭 내.")
    t.say("P", "네, 알겠습니다. 최대한 해 볼게요.")
    return t, f"{teacher} {excuse} {subject} 보고서가 늦는 {pupil}에게 {month} {day}까지 내라고 했다."


_CARS = ("아반떼", "쏘나타", "모닝", "스포티지", "그랜저", "투싼", "레이", "카니발")
_PARTS = ("브레이크", "에어컨", "타이어", "엔진", "와이퍼", "배터리", "헤드라이트")


def _car(s: _Slots) -> tuple[_Talk, str]:
    r = s.rng
    shop = s.place(lambda: r.choice(_PREFIXES) + r.choice(("카센터", "모터스", "자동차")))
    outcome, part = s.facets("car", ("later", "today"), _PARTS)
    car, cost = r.choice(_CARS), s.won(30000, 600000, 10000) + "에"
    t = _Talk()
    t.say("S", f"{shop}입니다. 어떻게 오셨어요?")
    t.say("C", f"제 {car} {part} 상태가 이상해서요. 좀 봐 주세요.")
    t.say("S", "차량 번호가 어떻게 되세요?")
    t.say("C", "#CarNumber#이에요.")
    t.say("S", f"점검해 보니 부품을 갈아야겠네요. {cost} 해 드릴게요.")
    c = josa(t["C"], "은")
    if outcome == "later":
        month, day = s.date()
        t.say("S", f"부품을 주문해야 해서 {month} {day}에 끝나요.")
        t.say("C", "어쩔 수 없죠. 그때 찾으러 올게요.")
        return t, f"{c} {shop}에 {cost} {car} {part} 수리를 맡겨 {month} {day}에 찾는다."
    when = s.time(12, 19) + "까지"
    t.say("C", "오늘 안에 될까요?")
    t.say("S", f"네, {when} 해 놓을게요.")
    t.say("C", "그럼 그때 올게요.")
    return t, f"{c} {shop}에 {cost} {car} {part} 수리를 맡겨 {when} 찾으러 온다."


def _lost(s: _Slots) -> tuple[_Talk, str]:
    r = s.rng
    outcome, bare = s.facets("lost", ("found", "missing"), _ITEMS)
    colour, item, when = r.choice(_COLOURS), josa(bare, "을"), s.time(7, 22) + "쯤"
    line, station = s.place(lambda: f"{r.randint(1, 9)}호선 {r.choice(_AREAS)}역").split()
    t = _Talk()
    t.say("C", "저기요, 지하철에 물건을 두고 내렸어요.")
    t.say("S", "어떤 물건인가요?")
    t.say("C", f"오늘 {when} {line} 타고 가다가 {colour} {item} 두고 내렸어요.")
    t.say("S", "어느 역에서 내리셨어요?")
    t.say("C", f"{station}에서 내렸어요.")
    lost = f"{josa(t['C'], '은')} {when} {line} {station}에서 잃은 {colour} {item}"
    if outcome == "found":
        t.say("S", f"{colour} {bare} 하나가 들어와 있네요. 유실물센터로 오세요.")
        t.say("C", "다행이다! 감사합니다.")
        return t, f"{lost} 찾았다."
    t.say("S", "아직 들어온 물건은 없어요. 연락처를 남겨 주세요.")
    t.say("C", "#PhoneNumber#입니다.")
    return t, f"{lost} 못 찾았다."


_ACTIVITIES = {  # summary phrase: suggestion
    "영화를 보기로 했다.": "영화 보러 갈래?",
    "전시회에 가기로 했다.": "새로 생긴 전시회 보러 갈래?",
    "볼링을 치기로 했다.": "볼링 치러 갈래?",
    "밥을 먹기로 했다.": "맛집 가서 밥 먹을래?",
    "자전거를 타기로 했다.": "한강에서 자전거 탈래?",
}


def _friends(s: _Slots) -> tuple[_Talk, str]:
    r = s.rng
    friend = s.name()[1:]
    plan, moved, joined = s.facets("friends", tuple(_ACTIVITIES), ("kept", "kept", "moved"), ("two", "two", "three"))
    (month, day), when = s.date(), s.time(10, 19)
    spot = s.place(lambda: f"{r.choice(_AREAS)}역") + "에서"
    t = _Talk()
    t.say("A", f"{josa(friend, '아')}, 이번 주말에 뭐 해?")
    t.say("B", "딱히 계획 없어. 왜?")
    t.say("A", _ACTIVITIES[plan])
    t.say("B", "좋아! 언제 볼까?")
    t.say("A", f"{month} {day} {when}에 {spot} 보자.")
    if moved == "moved":
        later = s.day(day) + "에"
        t.say("B", f"그날은 알바가 있어. {later} 보면 안 돼?")
        t.say("A", "좋아, 그날로 하자.")
    else:
        t.say("B", "응, 그때 봐.")
    if joined == "three":
        t.say("C", "뭐야, 나도 껴 줘!")
        t.say("A", "당연하지, 같이 가자.")
    group = _group([t[w] for w in t.tags])
    if moved == "moved":
        return t, f"{group} {t['B']}의 알바로 {month} {later} {when} {spot} {plan}"
    return t, f"{group} {month} {day} {when}에 {spot} {plan}"


SCENARIOS: tuple[tuple[str, Callable[[_Slots], tuple[_Talk, str]]], ...] = (
    ("병원 예약", _hospital),
    ("미용실 예약", _salon),
    ("반품 문의", _returns),
    ("층간 소음", _noise),
    ("호텔 예약", _hotel),
    ("건강 상담", _pharmacy),
    ("회의 일정", _meeting),
    ("식당 예약", _restaurant),
    ("은행 업무", _bank),
    ("집 구하기", _realestate),
    ("택배 문의", _delivery),
    ("과제 상담", _school),
    ("차량 수리", _car),
    ("분실물 찾기", _lost),
    ("주말 약속", _friends),
)


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    fname: str
    dialogue: str
    summary: str
    topic: str
    slots: tuple[tuple[str, str], ...]  # (kind, value) drawn for this dialogue


def build(split: str) -> list[Example]:
    """The rows of one split, with the slot values each row was built from."""
    index = tuple(SIZES).index(split)
    rng = random.Random(SEED + index)
    order = [SCENARIOS[i % len(SCENARIOS)] for i in range(SIZES[split])]
    rng.shuffle(order)
    rows = []
    for i, (topic, scenario) in enumerate(order):
        slots = _Slots(rng, heldout=split != "train")
        talk, summary = scenario(slots)
        rows.append(Example(f"{split}_{i}", "\n".join(talk.lines), summary, topic, tuple(slots.drawn)))
    return rows


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def generate(out_dir: str | Path) -> dict[str, Path]:
    """Write train.csv, dev.csv and test.csv (test without summaries) into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split in SIZES:
        columns = [c for c in COLUMNS if not (split == "test" and c == "summary")]
        rows = [[getattr(ex, c) for c in columns] for ex in build(split)]
        paths[split] = out / f"{split}.csv"
        _write_csv(paths[split], [columns, *rows])
    return paths


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def ensure(out_dir: str | Path) -> Path:
    """`out_dir`, generating the files first when any is missing or not byte-identical to SHA256."""
    out = Path(out_dir)
    for split in SIZES:
        path = out / f"{split}.csv"
        if not path.is_file() or sha256(path) != SHA256.get(path.name):
            generate(out)
            break
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the bundled Korean sample data.")
    parser.add_argument("--out", default="data/sample", help="output directory (default: data/sample)")
    args = parser.parse_args(argv)
    for split, path in generate(args.out).items():
        print(f"{path}\t{SIZES[split]} rows")


if __name__ == "__main__":
    main()
