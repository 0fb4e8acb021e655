"""Tests of summarizer.rouge against values computed here, independently of the project code."""

from __future__ import annotations

import itertools
import logging
import re
from pathlib import Path

import pytest
from rouge_score import rouge_scorer

from summarizer.rouge import (
    ENGLISH_MODES,
    TOKENIZER_MODES,
    CharTokenizer,
    MorphemeTokenizer,
    make_tokenizer,
    rouge,
    rouge_multi,
    rouge_per_example,
)
from tests.rouge_reference import TYPES, close, default_tokenizer_expected, expected, mean_of

DOCS = Path(__file__).resolve().parents[1] / "docs" / "rouge.md"


class CharsTokenizer:
    def tokenize(self, text):
        return [c for c in text if not c.isspace()]


PAIRS = [
    ("#Person1#은 내일 오후 3시에 사무실에서 #Person2#를 만나기로 했다.",
     "#Person1#과 #Person2#는 내일 오후 3시에 사무실에서 만나기로 했다."),
    ("#Person2#는 휴대폰을 잃어버려서 경찰서에 신고했다.",
     "#Person2#는 지하철에서 휴대폰을 잃어버렸고 #Person1#이 경찰서에 신고하라고 조언했다."),
    ("두 사람은 저녁 메뉴를 정했다",
     "두 사람은 저녁으로 김치찌개를 먹기로 했다. 두 사람은 7시에 만난다."),
    ("회의는 다음 주로 미뤄졌다 회의는 다음 주 월요일이다",
     "회의가 다음 주 월요일로 미뤄졌다"),
]


# ---------------------------------------------------------------- whitespace (default)


def test_korean_pairs_match_rouge_score_with_whitespace_tokenizer():
    preds, refs = zip(*PAIRS, strict=True)
    per = rouge_per_example(list(preds), list(refs))
    want = [expected(p, r) for p, r in PAIRS]
    for got, exp in zip(per, want, strict=True):
        close(got, exp)
    close(rouge(list(preds), list(refs)), mean_of(want))
    # the scores are neither trivial zeros nor perfect
    assert 0 < per[0]["rouge1"] < 100 and 0 < per[1]["rougeL"] < 100


def test_positional_call_of_the_original_api_still_works():
    preds, refs = zip(*PAIRS, strict=True)
    close(rouge(list(preds), list(refs)), rouge(list(preds), list(refs), tokenizer="whitespace"))


KOREAN_MODES = [mode for mode in TOKENIZER_MODES if mode not in ENGLISH_MODES]


@pytest.mark.parametrize("mode", KOREAN_MODES)
def test_identical_korean_strings_score_100(mode):
    text = "#Person1#은 내일 오후 3시에 #Person2#와 만나기로 했다"
    got = rouge([text], [text], tokenizer=mode)
    for t in TYPES:
        assert got[t] == pytest.approx(100, abs=1e-5), (mode, t)
    assert got["rouge_sum"] == pytest.approx(300, abs=1e-4)


def test_korean_sentences_sharing_only_a_digit_do_not_score_100():
    pred, ref = "회의는 3 시에 시작한다", "우리는 3 명이 함께 갔다"
    # the pitfall this module exists for: rouge-score's default tokenizer sees only "3" in both
    assert rouge_scorer.RougeScorer(["rouge1"]).score(ref, pred)["rouge1"].fmeasure == 1.0
    got = rouge([pred], [ref])
    assert got["rouge1"] != pytest.approx(100)
    close(got, expected(pred, ref))
    assert got["rouge1"] == pytest.approx(100 * 2 * (1 / 4) * (1 / 5) / (1 / 4 + 1 / 5))


def test_punctuation_stays_attached_under_whitespace():
    got = rouge(["두 사람은 만나기로 했다."], ["두 사람은 만나기로 했다"])
    # 3 of 4 tokens match ("했다." != "했다"), 2 of 3 bigrams
    assert got["rouge1"] == pytest.approx(75.0)
    assert got["rouge2"] == pytest.approx(100 * 2 / 3)
    assert got["rougeL"] == pytest.approx(75.0)
    close(got, expected("두 사람은 만나기로 했다.", "두 사람은 만나기로 했다"))


def test_tag_with_particle_is_one_whitespace_token():
    # "#Person1#은" vs "#Person1#는": different tokens, so no unigram matches
    got = rouge(["#Person1#은 간다"], ["#Person1#는 온다"])
    assert got["rouge1"] == 0.0


def test_empty_prediction_or_reference_scores_zero_without_crashing():
    per = rouge_per_example(["", "내일 만난다", "   ", ""], ["내일 만난다", "", "내일", ""])
    for row in per:
        assert row == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0, "rouge_sum": 0.0}
    for mode in TOKENIZER_MODES:
        assert rouge([""], [""], tokenizer=mode)["rouge_sum"] == 0.0
    assert rouge(["..."], ["..."], tokenizer="compat")["rouge_sum"] == 0.0
    assert rouge([], [])["rouge_sum"] == 0.0


def test_bad_arguments():
    with pytest.raises(ValueError):
        rouge(["a"], ["a", "b"])
    with pytest.raises(ValueError):
        rouge(["a"], ["a"], tokenizer="nltk")
    with pytest.raises(TypeError):
        rouge("a", "a")
    with pytest.raises(TypeError):
        rouge_multi(["a"], ["a"])
    with pytest.raises(ValueError):
        rouge_multi(["a", "b"], [["a"], ["b", "c"]])


def test_one_scorer_per_call(monkeypatch):
    created = []
    real = rouge_scorer.RougeScorer

    def counting(*args, **kwargs):
        created.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(rouge_scorer, "RougeScorer", counting)
    preds, refs = zip(*PAIRS, strict=True)
    rouge(list(preds) * 50, list(refs) * 50)
    assert len(created) == 1
    rouge_multi(list(preds), [[r, p] for p, r in PAIRS])
    assert len(created) == 2


# ---------------------------------------------------------------- char and morpheme


def test_char_mode():
    for pred, ref in PAIRS:
        close(rouge([pred], [ref], tokenizer="char"), expected(pred, ref, CharsTokenizer()))
    assert CharTokenizer().tokenize("만나 기로\n했다") == ["만", "나", "기", "로", "했", "다"]
    # insensitive to spacing
    scores = rouge(["만나기로 했다"], ["만나기로했다"], tokenizer="char")
    assert scores["rouge_sum"] == pytest.approx(300)


def test_morpheme_mode_keeps_tags_whole():
    tok = MorphemeTokenizer()
    tokens = tok.tokenize("#Person1#은 #PhoneNumber#로 #Person2#에게 연락했다.")
    for tag in ("#Person1#", "#PhoneNumber#", "#Person2#"):
        assert tag in tokens
    assert [t for t in tokens if "#" in t] == ["#Person1#", "#PhoneNumber#", "#Person2#"]
    assert tokens[tokens.index("#Person1#") + 1] == "은"
    # morphemes, not words: the verb is split and the full stop is a token of its own
    assert "연락했다." not in tokens and "." in tokens and "하" in tokens
    # the Kiwi instance is created once and shared
    assert MorphemeTokenizer()._kiwi is tok._kiwi


def test_morpheme_mode_scores():
    pred, ref = "#Person1#은 내일 만나기로 했다.", "#Person1#은 내일 만나기로 했다"
    tok = MorphemeTokenizer()
    # the scores are RougeScorer's on the morpheme tokens
    close(rouge([pred], [ref], tokenizer="morpheme"), expected(pred, ref, tok))
    got = rouge([pred], [ref], tokenizer="morpheme")
    n_pred, n_ref = len(tok.tokenize(pred)), len(tok.tokenize(ref))
    assert n_pred == n_ref + 1  # only the "." differs
    assert got["rouge1"] == pytest.approx(100 * 2 * n_ref / (n_pred + n_ref))
    # different speaker tags do not match
    other = rouge(["#Person2#는 내일 간다"], ["#Person1#은 내일 간다"], tokenizer="morpheme")
    assert other["rouge1"] < 100


def test_morpheme_batch_and_single_tokenization_agree():
    texts = [p for pair in PAIRS for p in pair]
    single = [MorphemeTokenizer().tokenize(t) for t in texts]
    batched = MorphemeTokenizer()
    batched.prepare(texts)
    assert [batched.tokenize(t) for t in texts] == single


# ---------------------------------------------------------------- compat


def _c_sentences(text):
    return [" ".join(s.split()) for s in text.split(".") if len(s) > 0]


def _c_words(sentences):
    return list(itertools.chain(*[s.split(" ") for s in sentences]))


def _c_f(p_count, r_count, overlap):
    p = overlap / p_count if p_count else 0.0
    r = overlap / r_count if r_count else 0.0
    return 2.0 * ((p * r) / (p + r + 1e-8))


def _c_lcs_words(x, y):
    """Straightforward recursive LCS reconstruction (x: reference words, y: prediction words)."""
    table = {}
    for i in range(len(x) + 1):
        for j in range(len(y) + 1):
            if i == 0 or j == 0:
                table[i, j] = 0
            elif x[i - 1] == y[j - 1]:
                table[i, j] = table[i - 1, j - 1] + 1
            else:
                table[i, j] = max(table[i - 1, j], table[i, j - 1])

    def recon(i, j):
        if i == 0 or j == 0:
            return []
        if x[i - 1] == y[j - 1]:
            return recon(i - 1, j - 1) + [x[i - 1]]
        if table[i - 1, j] > table[i, j - 1]:
            return recon(i - 1, j)
        return recon(i, j - 1)

    return set(recon(len(x), len(y)))


def compat_expected(pred, ref):
    hyp, rf = _c_sentences(pred), _c_sentences(ref)
    out = {}
    for name, n in (("rouge1", 1), ("rouge2", 2)):
        hw, rw = _c_words(hyp), _c_words(rf)
        hg = {tuple(hw[i:i + n]) for i in range(len(hw) - n + 1)}
        rg = {tuple(rw[i:i + n]) for i in range(len(rw) - n + 1)}
        out[name] = 100 * _c_f(len(hg), len(rg), len(hg & rg))
    union = set()
    for r in rf:
        for h in hyp:
            union |= _c_lcs_words(r.split(" "), h.split(" "))
    out["rougeL"] = 100 * _c_f(len(set(_c_words(hyp))), len(set(_c_words(rf))), len(union))
    out["rouge_sum"] = out["rouge1"] + out["rouge2"] + out["rougeL"]
    return out


COMPAT_PAIRS = PAIRS + [
    ("나는 밥을 먹었다. 나는 학교에 갔다.", "나는 학교에 갔다. 그리고 밥을 먹었다."),
    ("좋다 좋다 좋다. 정말 좋다", "좋다 나쁘다. 정말 나쁘다 좋다."),
    ("가 나 다. 다 나 가. 라", "가 다 나. 라 가"),
    ("안녕.  . 잘가 3.5", "안녕 잘가 3 5"),
]


def test_compat_matches_independent_implementation():
    for pred, ref in COMPAT_PAIRS:
        close(rouge([pred], [ref], tokenizer="compat"), compat_expected(pred, ref))
    preds, refs = zip(*COMPAT_PAIRS, strict=True)
    close(
        rouge(list(preds), list(refs), tokenizer="compat"),
        mean_of([compat_expected(p, r) for p, r in COMPAT_PAIRS]),
    )


def test_compat_hand_computed_cases():
    # F values (x100) that rouge 1.0.1's Rouge().get_scores prints for these pairs
    eps = 1e-6
    # full stops vanish: 5 of 5 / 5 of 6 unigrams, 3 of 4 / 3 of 5 bigrams
    got = rouge(["#Person1#은 내일 3시에 만나기로 했다."],
                ["#Person1#은 내일 오후 3시에 만나기로 했다"], tokenizer="compat")
    assert got["rouge1"] == pytest.approx(100 * 10 / 11, abs=eps)
    assert got["rouge2"] == pytest.approx(100 * 2 / 3, abs=eps)
    assert got["rougeL"] == pytest.approx(100 * 10 / 11, abs=eps)
    # unique unigrams: {좋다} vs {좋다, 나쁘다}: P = 1, R = 1/2 (whitespace mode: P = 1/3)
    got = rouge(["좋다 좋다 좋다"], ["좋다 나쁘다"], tokenizer="compat")
    assert got["rouge1"] == pytest.approx(100 * 2 / 3, abs=eps)
    assert rouge(["좋다 좋다 좋다"], ["좋다 나쁘다"])["rouge1"] == pytest.approx(40.0)
    # summary-level LCS: reference "가 나" against prediction sentences "나 가" and "가":
    # the LCS of ("가 나", "나 가") is reconstructed as {나}, the second adds {가}: 2 of 2 words
    got = rouge(["나 가. 가"], ["가 나"], tokenizer="compat")
    assert got["rouge1"] == pytest.approx(100, abs=eps)
    assert got["rouge2"] == 0.0
    assert got["rougeL"] == pytest.approx(100, abs=eps)
    # the 1e-8 in the F1 denominator: a perfect match is just below 100
    assert 100 - 1e-5 < rouge(["같다"], ["같다"], tokenizer="compat")["rouge1"] < 100


def test_compat_differs_from_whitespace_on_repeats_and_punctuation():
    pred, ref = "두 사람은 만나기로 했다. 두 사람은 만나기로 했다.", "두 사람은 만나기로 했다"
    assert rouge([pred], [ref], tokenizer="compat")["rouge1"] == pytest.approx(100, abs=1e-5)
    assert rouge([pred], [ref])["rouge1"] < 70


# ---------------------------------------------------------------- multi-reference


MULTI_PREDS = [
    "#Person1#은 내일 3시에 만나기로 했다.",
    "#Person2#는 휴대폰을 잃어버렸다",
    "두 사람은 영화를 보기로 했다",
]
MULTI_REFS = [
    ["#Person1#은 내일 오후 3시에 만나기로 했다", "#Person1#은 3시에 만난다"],
    ["#Person2#는 지하철에서 휴대폰을 잃어버렸다", "휴대폰을 잃어버린 #Person2#는 신고했다"],
    ["두 사람은 주말에 영화를 보기로 했다", ""],
]


def test_multi_reference_max_mean_per_reference():
    table = [[expected(prediction, reference) for reference in references]
             for prediction, references in zip(MULTI_PREDS, MULTI_REFS, strict=True)]
    n = len(MULTI_PREDS)
    want_per_ref = [mean_of([table[i][j] for i in range(n)]) for j in range(2)]
    want_max = mean_of([{t: max(s[t] for s in row) for t in TYPES} for row in table])
    want_mean = mean_of([{t: (row[0][t] + row[1][t]) / 2 for t in TYPES} for row in table])

    got = rouge_multi(MULTI_PREDS, MULTI_REFS)
    assert set(got) == {"max", "mean", "per_reference"}
    close(got["max"], want_max)
    close(got["mean"], want_mean)
    assert len(got["per_reference"]) == 2
    for g, w in zip(got["per_reference"], want_per_ref, strict=True):
        close(g, w)
    # the empty second reference of the last example scores 0 there
    assert table[2][1]["rouge_sum"] == 0.0
    assert got["max"]["rouge_sum"] > got["mean"]["rouge_sum"]
    # the per-reference values are rouge() on that column
    close(got["per_reference"][0], rouge(MULTI_PREDS, [r[0] for r in MULTI_REFS]))


@pytest.mark.parametrize("mode", TOKENIZER_MODES)
def test_single_reference_aggregates_agree(mode):
    refs = [r[0] for r in MULTI_REFS]
    got = rouge_multi(MULTI_PREDS, [[r] for r in refs], tokenizer=mode)
    plain = rouge(MULTI_PREDS, refs, tokenizer=mode)
    close(got["max"], plain)
    close(got["mean"], plain)
    close(got["per_reference"][0], plain)


# ---------------------------------------------------------------- english

# Punctuation, case, digits, contractions, hyphens, accents, tags and words the Porter stemmer
# changes (running/ran, studies/study, connection/connect, generously/generous).
ENGLISH_PAIRS = [
    ("#Person1# and #Person2# are going to the cinema tomorrow.",
     "#Person2# and #Person1# will go to the movies tomorrow night!"),
    ("The runners were running faster than they'd run in 2019.",
     "Runners ran fast; they've never run faster since 2019..."),
    ("Mr. Smith's flight (BA-117) leaves at 3:45 p.m. from gate 12",
     "MR SMITH'S FLIGHT leaves at 3.45pm, gate 12."),
    ("She DOESN'T like studying; her studies bore her.",
     "She doesn't like to study - her studies are boring."),
    ("Generously, the company agreed to the connections.",
     "The companies generously agree to connect."),
    ("The Café owners' happiness: priceless!", "the cafe owner is happy"),
    ("It's 100% done", "it is 100 percent done, it's done"),
    ("I, I, I can't; I can't.", "i can not"),
    ("...", "Something happened."),
]


@pytest.mark.parametrize("mode,stem", [("english", False), ("english_stem", True)])
def test_english_modes_match_rouge_score_default_tokenizer(mode, stem):
    preds, refs = (list(side) for side in zip(*ENGLISH_PAIRS, strict=True))
    want = [default_tokenizer_expected(p, r, stem) for p, r in ENGLISH_PAIRS]
    per = rouge_per_example(preds, refs, tokenizer=mode)
    for got, exp in zip(per, want, strict=True):
        close(got, exp)
    close(rouge(preds, refs, tokenizer=mode), mean_of(want))
    multi = rouge_multi(preds, [[r, p] for p, r in ENGLISH_PAIRS], tokenizer=mode)
    close(multi["per_reference"][0], mean_of(want))
    # Case and punctuation are gone: whitespace tokens would not match these at all.
    assert per[2]["rouge1"] > rouge([preds[2]], [refs[2]])["rouge1"]
    assert per[-1]["rouge_sum"] == 0.0  # no [a-z0-9] token in the prediction


def test_english_tokens():
    text = "The runners were RUNNING, they'd run in 2019! Studies: café"
    assert make_tokenizer("english").tokenize(text) == [
        "the", "runners", "were", "running", "they", "d", "run", "in", "2019", "studies", "caf"]
    # Porter stems of the words longer than 3 characters
    assert make_tokenizer("english_stem").tokenize(text) == [
        "the", "runner", "were", "run", "they", "d", "run", "in", "2019", "studi", "caf"]


def test_stemming_matches_inflected_forms():
    pred, ref = ENGLISH_PAIRS[4]
    plain = rouge([pred], [ref], tokenizer="english")
    stemmed = rouge([pred], [ref], tokenizer="english_stem")
    # company/companies, agreed/agree, connections/connect only match once stemmed
    assert stemmed["rouge1"] > plain["rouge1"] and stemmed["rougeL"] > plain["rougeL"]
    close(stemmed, default_tokenizer_expected(pred, ref, stem=True))


@pytest.mark.parametrize("mode", ENGLISH_MODES)
def test_english_modes_warn_about_hangul(mode, caplog):
    text = "두 사람은 내일 만나기로 했다"
    with caplog.at_level(logging.WARNING, logger="summarizer.rouge"):
        got = rouge_per_example([text, "See you at 3"], [text, "see you at three"],
                                tokenizer=mode)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "2 of the 4" in warnings[0] and mode in warnings[0]
    assert "whitespace" in warnings[0]
    # Hangul is deleted: identical Korean sentences score 0, unrelated ones sharing "3" 100.
    assert got[0]["rouge_sum"] == 0.0 and 0 < got[1]["rouge1"] < 100
    scores = rouge(["회의는 3 시에 시작한다"], ["우리는 3 명이 갔다"], tokenizer=mode)
    assert scores["rouge1"] == 100
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="summarizer.rouge"):
        rouge(["See you at 3"], ["see you at three"], tokenizer=mode)
        rouge([text], [text])
    assert not caplog.records


# ---------------------------------------------------------------- docs/rouge.md


def test_worked_example_of_the_docs():
    doc = DOCS.read_text(encoding="utf-8")
    pred, ref = "#Person1#은 내일 3시에 만나기로 했다.", "#Person1#은 내일 오후 3시에 만나기로 했다"
    second = "#Person1#은 3시에 만난다"
    assert pred in doc and ref in doc and second in doc

    def row(label, scores):
        vals = [f"{scores[k]:.2f}" for k in ("rouge1", "rouge2", "rougeL", "rouge_sum")]
        pattern = re.escape(label) + r"\s*\|\s*" + r"\s*\|\s*".join(map(re.escape, vals))
        assert re.search(pattern, doc), (label, vals)

    ws = expected(pred, ref)
    assert ws["rouge1"] == pytest.approx(100 * 2 * (4 / 5) * (4 / 6) / (4 / 5 + 4 / 6))
    assert ws["rouge2"] == pytest.approx(100 * 2 * (2 / 4) * (2 / 5) / (2 / 4 + 2 / 5))
    row("`whitespace`", rouge([pred], [ref]))
    close(rouge([pred], [ref]), ws)
    row("`char`", expected(pred, ref, CharsTokenizer()))
    row("`char`", rouge([pred], [ref], tokenizer="char"))
    row("`compat`", compat_expected(pred, ref))
    row("`compat`", rouge([pred], [ref], tokenizer="compat"))

    s1, s2 = expected(pred, ref), expected(pred, second)
    assert s2["rouge1"] == pytest.approx(50.0) and s2["rouge2"] == 0.0
    multi = rouge_multi([pred], [[ref, second]])
    row("`max`", mean_of([{t: max(s1[t], s2[t]) for t in TYPES}]))
    row("`max`", multi["max"])
    row("`mean`", mean_of([{t: (s1[t] + s2[t]) / 2 for t in TYPES}]))
    row("`mean`", multi["mean"])


def test_english_example_of_the_docs():
    doc = DOCS.read_text(encoding="utf-8")
    pred, ref = "#Person1# is running late for the meeting.", "#Person1# runs late for the Meeting"
    assert pred in doc and ref in doc
    stemmed = default_tokenizer_expected(pred, ref, stem=True)
    assert stemmed["rouge1"] == pytest.approx(100 * 2 * 6 / (7 + 6))
    for label, scores in (("`whitespace`", expected(pred, ref)),
                          ("`english`", default_tokenizer_expected(pred, ref, stem=False)),
                          ("`english_stem`", stemmed)):
        mode = label.strip("`")
        close(rouge([pred], [ref], tokenizer=mode), scores)
        vals = [f"{scores[k]:.2f}" for k in ("rouge1", "rouge2", "rougeL", "rouge_sum")]
        pattern = re.escape(label) + r"\s*\|\s*" + r"\s*\|\s*".join(map(re.escape, vals))
        assert re.search(pattern, doc), (label, vals)

