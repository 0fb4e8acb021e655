"""Exact round trip of `#...#`-tagged Korean text through the tiny and KoBART-like tokenizers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, PreTrainedTokenizerFast

from summarizer.tokenization import (
    adds_special_tokens,
    decode,
    discover_tags,
    fix_tokenizer,
    load_tokenizer,
    train_tokenizer,
)
from tests.kobart_like import (
    CONTROL,
    TAGS,
    UNUSED,
    build_kobart_like_dir,
    plain_texts,
    sentences,
    tagged_texts,
    training_corpus,
    write_tokenizer_dir,
)

REAL_TOKENIZER = os.environ.get("SUMMARIZER_KOBART_TOKENIZER")
needs_real = pytest.mark.skipif(not REAL_TOKENIZER, reason="SUMMARIZER_KOBART_TOKENIZER is not set")


def round_trips(tokenizer, texts: list[str]) -> list[tuple[str, str]]:
    """(text, decoded) pairs that did not come back exactly."""
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    return [(t, d) for t, d in zip(texts, decode(tokenizer, ids), strict=True) if t != d]


def free_of_added_tokens(tokenizer, texts: list[str]) -> list[str]:
    """The texts where none of the tokenizer's added tokens (KoBART's emoticons, "BI") occur."""
    added = tokenizer.added_tokens_encoder
    return [text for text in texts if not any(token in text for token in added)]


@pytest.fixture(scope="module")
def kobart_dir(tmp_path_factory) -> Path:
    return build_kobart_like_dir(tmp_path_factory.mktemp("kobart-like"))


@pytest.fixture(scope="module")
def kobart(kobart_dir):
    return load_tokenizer(str(kobart_dir), TAGS)


@pytest.fixture(scope="module")
def tiny():
    return train_tokenizer(training_corpus() + tagged_texts(), TAGS, vocab_size=1000)


def test_fixture_reproduces_the_problem(kobart_dir):
    plain = AutoTokenizer.from_pretrained(str(kobart_dir))
    plain.add_tokens(["#Person1#", "#Person2#"])
    ids = plain("#Person2#는 #Person1#에게 BIG ^^")["input_ids"]
    assert plain.decode(ids, skip_special_tokens=True) == "#Person2# 는 #Person1# 에게  G "

    as_special = AutoTokenizer.from_pretrained(str(kobart_dir))
    as_special.add_tokens(["#Person2#"], special_tokens=True)
    ids = as_special("#Person2#는 전화했다")["input_ids"]
    assert as_special.decode(ids, skip_special_tokens=True) == "는 전화했다"


@pytest.mark.parametrize("name", ["tiny", "kobart"])
def test_round_trip_tags_particles_punctuation(name, request):
    tokenizer = request.getfixturevalue(name)
    # Outer whitespace is the one thing `decode` does not give back: it strips it on purpose.
    texts = tagged_texts() + [text for text in plain_texts() if text == text.strip()]
    assert round_trips(tokenizer, texts) == []


@pytest.mark.parametrize("name", ["tiny", "kobart"])
def test_decode_keeps_tags_drops_special_tokens_and_label_padding(name, request):
    tokenizer = request.getfixturevalue(name)
    text = "#Person1#는 #Address#로 택배를 보냈고 #Person2#가 #PhoneNumber#로 전화했다."
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    bos, eos, pad = tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id
    batch = np.array([[bos, *ids, eos, pad, -100], [eos, *ids, -100, -100, -100]])
    assert decode(tokenizer, batch) == [text, text]
    assert decode(tokenizer, [[bos, *ids, eos], []]) == [text, ""]
    assert not adds_special_tokens(tokenizer)


def test_emoticons_are_text_and_only_control_tokens_are_special(kobart):
    text = "#Person1#는 좋아요^^ 그런데 ㅠㅠ BIG 😀 :)"
    ids = kobart(text)["input_ids"]
    assert decode(kobart, [[0, *ids, 1, 3, 3]]) == [text]
    special = {str(token) for token in kobart.added_tokens_decoder.values() if token.special}
    assert special == set(CONTROL + UNUSED)


def test_trained_tokenizer_layout_coverage_and_determinism(tiny):
    assert tiny.convert_tokens_to_ids(CONTROL) == list(range(7))
    ids = [tiny.bos_token_id, tiny.eos_token_id, tiny.pad_token_id, tiny.unk_token_id]
    assert ids == [0, 1, 3, 5]
    assert not any(tiny.added_tokens_decoder[i].special for i in tiny.convert_tokens_to_ids(TAGS))
    # Every character seen in training has an id of its own; an unseen one is <unk>.
    chars = sorted({c for text in training_corpus() for c in text if not c.isspace()})
    ids = [i for row in tiny(chars, add_special_tokens=False)["input_ids"] for i in row]
    assert tiny.unk_token_id not in ids
    assert tiny.tokenize("뷁") == ["▁", "<unk>"]
    # The text after a tag is trained as it is encoded: "는" without "▁".
    assert tiny.tokenize("#Person1#는")[:2] == ["#Person1#", "는"]
    again = train_tokenizer(training_corpus() + tagged_texts(), TAGS, vocab_size=1000)
    assert again.backend_tokenizer.to_str() == tiny.backend_tokenizer.to_str()


def test_fix_keeps_ids_of_text_without_tags(kobart_dir, kobart):
    plain = AutoTokenizer.from_pretrained(str(kobart_dir))
    texts = free_of_added_tokens(plain, plain_texts())
    assert len(texts) > 150
    assert plain(texts)["input_ids"] == kobart(texts)["input_ids"]
    # Only the text right after an added token encodes differently: KoBART's "BI" token made
    # "BIG" come back as "BI G"; now the "G" stays attached.
    assert plain.decode(plain("좋아요^^ BIG")["input_ids"]) == "좋아요^^ BI G"
    assert decode(kobart, [kobart("좋아요^^ BIG")["input_ids"]]) == ["좋아요^^ BIG"]


def test_fix_reaches_metaspace_inside_sequences(kobart_dir):
    state = json.loads(Tokenizer.from_file(str(kobart_dir / "tokenizer.json")).to_str())
    state["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [state["pre_tokenizer"]]}
    state["decoder"] = {"type": "Sequence", "decoders": [state["decoder"]]}
    nested = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(state)),
                                     bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fix_tokenizer(nested, TAGS)
    assert '"prepend_scheme":"always"' not in nested.backend_tokenizer.to_str()
    assert round_trips(nested, tagged_texts()) == []


@pytest.mark.parametrize("name", ["tiny", "kobart"])
def test_saved_tokenizer_round_trips_after_plain_reload(name, request, tmp_path):
    tokenizer = request.getfixturevalue(name)
    tokenizer.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["clean_up_tokenization_spaces"] is False

    reloaded = AutoTokenizer.from_pretrained(str(tmp_path))
    assert round_trips(reloaded, tagged_texts()) == []
    ids = reloaded("#Person2#는 ^^ 전화했다 .")["input_ids"]
    assert reloaded.decode(ids, skip_special_tokens=True) == "#Person2#는 ^^ 전화했다 ."
    # Loading the saved directory through `load_tokenizer` again changes nothing.
    again = load_tokenizer(str(tmp_path), TAGS)
    assert again.backend_tokenizer.to_str() == reloaded.backend_tokenizer.to_str()


def test_kobart_like_dir_loads_as_a_model(kobart_dir, kobart):
    model = AutoModelForSeq2SeqLM.from_pretrained(str(kobart_dir))
    config = model.config
    assert config.model_type == "bart"
    assert (config.pad_token_id, config.bos_token_id, config.eos_token_id) == (3, 0, 1)
    assert config.decoder_start_token_id == 1
    assert config.vocab_size == len(AutoTokenizer.from_pretrained(str(kobart_dir)))
    assert len(kobart) == config.vocab_size + len(TAGS)  # new ids: resize the embeddings


def test_discover_tags_orders_by_frequency():
    texts = ["#Person2#: 네\n#Person1#: 응 #Person2#", "#PhoneNumber#로 #Person1#"]
    assert discover_tags(texts) == ["#Person1#", "#Person2#", "#PhoneNumber#"]


def real_tokenizer_dir(tmp_path: Path) -> Path:
    """SUMMARIZER_KOBART_TOKENIZER as a loadable directory: a `tokenizers` JSON (model.json) gets
    the config files next to it in `tmp_path`; a directory with tokenizer.json is used as is."""
    path = Path(REAL_TOKENIZER)
    if path.is_dir() and (path / "tokenizer.json").is_file():
        return path
    source = path / "model.json" if path.is_dir() else path
    return write_tokenizer_dir(source, tmp_path / "kobart")


@needs_real
def test_real_kobart_round_trips_and_keeps_its_tokenization(tmp_path):
    directory = real_tokenizer_dir(tmp_path)
    tokenizer = load_tokenizer(str(directory), TAGS)
    assert tokenizer.tokenize("안녕하세요. 한국어 BART 입니다.") == [
        "▁안녕하", "세요.", "▁한국어", "▁B", "A", "R", "T", "▁입", "니다.",
    ]
    texts = tagged_texts() + sentences(200, seed=3) + ["좋아요^^ ㅠㅠ BIG 😀 :)"]
    assert round_trips(tokenizer, texts) == []
    plain = AutoTokenizer.from_pretrained(str(directory))
    texts = free_of_added_tokens(plain, sentences(300, seed=4))
    assert len(texts) > 200
    assert plain(texts)["input_ids"] == tokenizer(texts)["input_ids"]


@needs_real
def test_fixture_mirrors_the_real_tokenizer_structure(tmp_path, kobart_dir):
    real_file = real_tokenizer_dir(tmp_path) / "tokenizer.json"
    real = json.loads(Tokenizer.from_file(str(real_file)).to_str())
    fake = json.loads((kobart_dir / "tokenizer.json").read_text(encoding="utf-8"))
    for key in ("normalizer", "pre_tokenizer", "decoder", "post_processor"):
        assert fake[key] == real[key], key
    options = {k: v for k, v in real["model"].items() if k not in ("vocab", "merges")}
    assert {k: v for k, v in fake["model"].items() if k not in ("vocab", "merges")} == options
    controls = len(CONTROL + UNUSED)
    assert fake["added_tokens"][:controls] == real["added_tokens"][:controls]
