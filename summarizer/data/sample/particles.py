"""Korean particles: the form depends on whether the word ends in a final consonant (batchim)."""

from __future__ import annotations

from collections.abc import Sequence

_FORMS = {  # particle: (after a final consonant, after a vowel)
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
_DIGIT_FINAL_CONSONANT = {
    "0": 21, "1": 8, "2": 0, "3": 16, "4": 0, "5": 0, "6": 1, "7": 8, "8": 8, "9": 0,
}
_RIEUL = 8
_HANGUL_FIRST_SYLLABLE = 0xAC00
_FINAL_CONSONANTS = 28  # per initial-medial pair, "none" included


def _final_consonant(word: str) -> int:
    """Final consonant index (0: none) of the last syllable; `#Person1#` reads as ending in 일."""
    last = word.rstrip("#")[-1]
    if "가" <= last <= "힣":
        return (ord(last) - _HANGUL_FIRST_SYLLABLE) % _FINAL_CONSONANTS
    if last in _DIGIT_FINAL_CONSONANT:
        return _DIGIT_FINAL_CONSONANT[last]
    raise ValueError(f"no particle rule for {word!r}")


def with_particle(word: str, particle: str) -> str:
    """`word` with the particle form that fits it:
    with_particle("#Person2#", "은") == "#Person2#는"."""
    after_consonant, after_vowel = _FORMS[particle]
    final = _final_consonant(word)
    if particle == "으로":  # ㄹ takes the vowel form: 서울로, not 서울으로
        return word + ("로" if final in (0, _RIEUL) else "으로")
    return word + (after_consonant if final else after_vowel)


def group_subject(tags: Sequence[str]) -> str:
    """Subject phrase for several speakers: "#Person1#과 #Person2#는",
    "#Person1#, #Person2#, #Person3#은"."""
    if len(tags) == 2:
        return f"{with_particle(tags[0], '과')} {with_particle(tags[1], '은')}"
    return ", ".join(tags[:-1]) + ", " + with_particle(tags[-1], "은")
