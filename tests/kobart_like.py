"""Offline stand-ins for `gogamza/kobart-base-v2`: a tokenizer with KoBART's structure and ids,
and a model directory with the hub repository's layout holding a tiny random BART.

The tokenizer mirrors the real `model.json` (SKT-AI KoBART): BPE without unk token, byte
fallback or dropout; NFKC + a no-op BertNormalizer; `Metaspace` with `prepend_scheme="always"`
as pre-tokenizer and decoder; no post-processor; special added tokens `<s>`=0, `</s>`=1,
`<usr>`=2, `<pad>`=3, `<sys>`=4, `<unk>`=5, `<mask>`=6, `<unused0..99>`=7..106, then emoticons
that KoBART flags special too. Only the vocabulary is small: printable ASCII and the 2,350
common Hangul syllables (KS X 1001; the real vocabulary has 4,877) plus merges learnt from
generated text. Like KoBART it has no <unk>: other characters are silently dropped.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from tokenizers import (
    AddedToken,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    trainers,
)

CONTROL = ["<s>", "</s>", "<usr>", "<pad>", "<sys>", "<unk>", "<mask>"]
UNUSED = [f"<unused{i}>" for i in range(100)]
EMOTICONS = [":)", "^^", "ㅠㅠ", "😀", "BI"]  # a few of the 122 KoBART flags special ("BI" is one)

SPEAKERS = [f"#Person{i}#" for i in range(1, 8)]
PII = ["#PhoneNumber#", "#Address#", "#PassportNumber#", "#DateOfBirth#", "#Email#",
       "#CarNumber#", "#CardNumber#", "#SSN#"]
TAGS = SPEAKERS + PII
TAG = re.compile(r"#[A-Za-z][A-Za-z0-9]*#")
PARTICLES = ["은", "는", "이", "가", "을", "를", "에게", "에", "로", "으로", "와", "과", "의", "도",
             "께서", "한테"]
NOUNS = ["친구", "회의", "병원", "학교", "주문", "예약", "택배", "여행", "가방", "커피", "서류",
         "계좌", "비밀번호", "주소"]
VERBS = ["전화했다", "방문합니다", "확인했어요", "보냈다", "요청했습니다", "설명한다",
         "만나기로 했다", "물어본다", "취소했다", "알려준다"]
LATIN = ["ID", "OK", "email", "KTX", "Wi-Fi", "PDF", "Gmail", "BIG", "Seoul", "app"]
PUNCT = [".", ",", "?", "!", "~", "...", "'", '"', "(", ")", ":", "-", "/", "%"]
# Every character gets an id even if the generated corpus lacks it, so real Korean data encodes.
ALPHABET = [chr(c) for c in range(0x21, 0x7F)] + [
    bytes([high, low]).decode("euc_kr") for high in range(0xB0, 0xC9) for low in range(0xA1, 0xFF)
]


def sentences(n: int, seed: int = 0) -> list[str]:
    """`n` tag-free Korean sentences with particles, digits, Latin words and punctuation."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(NOUNS) + rng.choice(PARTICLES) for _ in range(rng.randint(1, 3))]
        words.insert(rng.randrange(len(words) + 1), rng.choice(LATIN))
        words.append(f"{rng.randint(0, 2030)}{rng.choice(['원', '시', '번', '개', ''])}")
        out.append(" ".join(words) + " " + rng.choice(VERBS) + rng.choice(PUNCT))
    return out


def tagged_texts() -> list[str]:
    """Every tag followed by every particle; tags before punctuation, digits, Latin words,
    emoticons, newlines and double spaces; tags back to back."""
    pairs = [(tag, particle) for tag in TAGS for particle in PARTICLES]
    texts = [
        f"{tag}{particle} {NOUNS[i % len(NOUNS)]}를 {VERBS[i % len(VERBS)]}."
        for i, (tag, particle) in enumerate(pairs)
    ]
    return texts + [
        "#Person1#는 #Address#로 택배를 보냈고 #Person2#가 #PhoneNumber#로 전화했다.",
        "(#Person3#), #Person1#, #Person4#. #Person5#? #Person6#! #Person7#~",
        "#Person1#'s email은 #Email#이고 #PassportNumber#2 #DateOfBirth#2030년 #CardNumber#OK",
        "#Person2#: ID 확인했어요\n#Person1#: 네, #CarNumber# 알려준다.",
        "#Person1#와 #Person2#는  두 칸 띄고 #SSN#...",
        "#Person1#는 좋아요^^ 그런데 ㅠㅠ BIG 😀 :)",
        "#Address##PhoneNumber##Person1#",
    ]


def plain_texts() -> list[str]:
    """Text without tags, including KoBART's README example and unusual spacing."""
    odd = ["안녕하세요. 한국어 BART 입니다.", " 앞 공백과  두 칸 ", "줄\n바꿈", "좋아요^^ ㅠㅠ BIG"]
    return sentences(200, seed=1) + odd


def training_corpus() -> list[str]:
    """Generated sentences plus every text the tests use (tags cut out), so that each of their
    characters has an id (emoji, "ㅠ" and the newline are outside ALPHABET)."""
    every_word = NOUNS + PARTICLES + VERBS + LATIN + PUNCT + ["0123456789"]
    untagged = [TAG.sub(" ", text) for text in tagged_texts()]
    return sentences(400) + untagged + plain_texts() + [" ".join(every_word)] * 3


def build_kobart_like_tokenizer(path: str | Path) -> Path:
    """Train and write a KoBART-shaped `tokenizers` JSON; an existing directory gets
    `tokenizer.json`. Returns the file's path."""
    path = Path(path)
    if path.is_dir():
        path = path / "tokenizer.json"
    # BPE's defaults are KoBART's options: no dropout, unk token, subword affixes, byte fallback.
    tokenizer = Tokenizer(models.BPE(fuse_unk=False))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.NFKC(),
        normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                   strip_accents=False, lowercase=False),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(prepend_scheme="always", split=True)
    specials = CONTROL + UNUSED + EMOTICONS
    trainer = trainers.BpeTrainer(
        vocab_size=3000,
        min_frequency=2,
        special_tokens=[AddedToken(t, special=True, normalized=False) for t in specials],
        initial_alphabet=ALPHABET,
        show_progress=False,
    )
    tokenizer.train_from_iterator(training_corpus(), trainer)
    tokenizer.save(str(path))
    return path


def write_tokenizer_dir(tokenizer_file: str | Path, directory: str | Path) -> Path:
    """Lay a `tokenizers` JSON out as the hub repository does: tokenizer.json,
    tokenizer_config.json (class `PreTrainedTokenizerFast`) and special_tokens_map.json."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "tokenizer.json"
    if Path(tokenizer_file).resolve() != target.resolve():
        target.write_bytes(Path(tokenizer_file).read_bytes())
    specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                "pad_token": "<pad>", "mask_token": "<mask>"}
    _write_json(directory / "special_tokens_map.json", specials)
    _write_json(directory / "tokenizer_config.json",
                {"tokenizer_class": "PreTrainedTokenizerFast", **specials})
    return directory


def build_kobart_like_dir(directory: str | Path, d_model: int = 32) -> Path:
    """A local `gogamza/kobart-base-v2` look-alike (config.json, model.safetensors,
    generation_config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json) that
    `AutoTokenizer` and `AutoModelForSeq2SeqLM` load offline."""
    import torch
    from transformers import BartConfig, BartForConditionalGeneration

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer_file = build_kobart_like_tokenizer(directory)
    write_tokenizer_dir(tokenizer_file, directory)
    vocab_size = Tokenizer.from_file(str(tokenizer_file)).get_vocab_size(with_added_tokens=True)
    # Ids and positions as in KoBART's config.json: generation starts from </s> (1), as in BART.
    config = BartConfig(
        vocab_size=vocab_size, d_model=d_model, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=2 * d_model,
        decoder_ffn_dim=2 * d_model, max_position_embeddings=1026,
        pad_token_id=3, bos_token_id=0, eos_token_id=1, decoder_start_token_id=1,
        forced_eos_token_id=1, tokenizer_class="PreTrainedTokenizerFast",
    )
    torch.manual_seed(0)
    BartForConditionalGeneration(config).save_pretrained(directory)
    return directory


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
