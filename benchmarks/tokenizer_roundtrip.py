"""Exact round trip of reference summaries through the project's tokenizers, before/after the fix.

    python benchmarks/tokenizer_roundtrip.py --csv dev.csv [--csv ...] [--train-csv train.csv]
        [--kobart model.json | DIR] [--examples 3]

For each CSV's `summary` column and each tokenizer it reports how many summaries come back
exactly from decode(encode(summary)):
  * tiny: `train_tokenizer` on `--train-csv` (default: the CSV itself), dialogues + summaries;
    "before" is the same vocabulary with KoBART's `prepend_scheme="always"`;
  * kobart (with `--kobart`): the real tokenizer as loaded, tags added as tokens or as special
    tokens, and after `fix_tokenizer`. It also checks that text without tags encodes to the same
    ids after the fix, and names the characters behind any remaining failure.
"""

from __future__ import annotations

import argparse
import json
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
from tokenizers import Tokenizer
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from summarizer.data.io import read_csv
from summarizer.tokenization import (
    TAG_PATTERN,
    decode,
    discover_tags,
    fix_tokenizer,
    train_tokenizer,
)

Decoder = Callable[[PreTrainedTokenizerBase, list[list[int]]], list[str]]


def plain_decode(tokenizer: PreTrainedTokenizerBase, ids: list[list[int]]) -> list[str]:
    """What code without this project's `decode` does: transformers' defaults."""
    return tokenizer.batch_decode(ids, skip_special_tokens=True)


def round_trip(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str],
               decoder: Decoder) -> list[str]:
    return decoder(tokenizer, tokenizer(list(texts), add_special_tokens=False)["input_ids"])


def always_prepending(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerFast:
    """A copy of `tokenizer` with KoBART's `Metaspace(prepend_scheme="always")`."""
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    for part in (state["pre_tokenizer"], state["decoder"]):
        part["prepend_scheme"] = "always"
    specials = {k: v for k, v in tokenizer.special_tokens_map.items() if isinstance(v, str)}
    backend = Tokenizer.from_str(json.dumps(state))
    return PreTrainedTokenizerFast(tokenizer_object=backend, **specials)


def load_kobart(path: Path) -> PreTrainedTokenizerBase:
    if path.is_dir():
        return AutoTokenizer.from_pretrained(str(path))
    return PreTrainedTokenizerFast(tokenizer_file=str(path), bos_token="<s>", eos_token="</s>",
                                   unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")


def report(name: str, refs: Sequence[str], outs: Sequence[str], examples: int) -> None:
    ok = sum(r == o for r, o in zip(refs, outs, strict=True))
    print(f"  {name:<50} {ok:>6}/{len(refs):<6} {100 * ok / max(len(refs), 1):6.2f}%")
    for ref, out in [(r, o) for r, o in zip(refs, outs, strict=True) if r != o][:examples]:
        print(f"      ref: {ref[:150]!r}\n      out: {out[:150]!r}")


def explain_failures(tokenizer: PreTrainedTokenizerBase, refs: Sequence[str],
                     outs: Sequence[str]) -> None:
    """Characters behind the remaining misses: NFKC rewrites, or no id in the vocabulary."""
    vocab = tokenizer.get_vocab()
    nfkc, missing = Counter(), Counter()
    for ref, out in zip(refs, outs, strict=True):
        if ref != out:
            nfkc.update(c for c in ref if unicodedata.normalize("NFKC", c) != c)
            normalized = unicodedata.normalize("NFKC", ref)
            missing.update(c for c in normalized if c not in vocab and not c.isspace())
    if nfkc:
        print(f"      changed by NFKC: {dict(nfkc.most_common(15))}")
    if missing:
        print(f"      no id (dropped or <unk>, no byte fallback): {dict(missing.most_common(15))}")


def same_ids(before: PreTrainedTokenizerBase, after: PreTrainedTokenizerBase,
             texts: Sequence[str]) -> str:
    a = before(list(texts), add_special_tokens=False)["input_ids"]
    b = after(list(texts), add_special_tokens=False)["input_ids"]
    return f"{sum(x == y for x, y in zip(a, b, strict=True))}/{len(texts)}"


def bench_tiny(frame: pd.DataFrame, train: pd.DataFrame, tags: list[str], examples: int) -> None:
    start = time.perf_counter()
    texts = train["dialogue"].tolist() + train["summary"].tolist()
    fixed = train_tokenizer(texts, tags)
    print(f"  tiny tokenizer: {len(fixed)} ids from {len(texts)} texts in "
          f"{time.perf_counter() - start:.1f} s")
    refs = frame["summary"].tolist()
    before = always_prepending(fixed)
    report("tiny, before: Metaspace always, batch_decode", refs,
           round_trip(before, refs, plain_decode), examples)
    outs = round_trip(fixed, refs, decode)
    report("tiny, fixed: train_tokenizer + decode", refs, outs, examples)
    explain_failures(fixed, refs, outs)


def bench_kobart(path: Path, frame: pd.DataFrame, tags: list[str], examples: int) -> None:
    refs = frame["summary"].tolist()
    as_tokens = load_kobart(path)
    as_tokens.add_tokens(tags)
    report("kobart, before: tags as tokens, batch_decode", refs,
           round_trip(as_tokens, refs, plain_decode), examples)
    as_special = load_kobart(path)
    as_special.add_tokens(tags, special_tokens=True)
    report("kobart, before: tags as special tokens, batch_decode", refs,
           round_trip(as_special, refs, plain_decode), examples)
    fixed = fix_tokenizer(load_kobart(path), tags)
    outs = round_trip(fixed, refs, decode)
    report("kobart, fixed: fix_tokenizer + decode", refs, outs, examples)
    explain_failures(fixed, refs, outs)

    texts = frame["dialogue"].tolist() + refs
    untagged = [TAG_PATTERN.sub("", text) for text in texts]
    print(f"  kobart ids unchanged by the fix: text without tags "
          f"{same_ids(load_kobart(path), fixed, untagged)}; "
          f"with tags (added to both) {same_ids(as_tokens, fixed, texts)}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", action="append", required=True, type=Path,
                        help="CSV with dialogue and summary columns (repeatable)")
    parser.add_argument("--train-csv", type=Path,
                        help="train the tiny tokenizer on this CSV (default: each --csv)")
    parser.add_argument("--kobart", type=Path,
                        help="KoBART tokenizer: a tokenizers JSON (model.json) or a directory")
    parser.add_argument("--examples", type=int, default=3, help="failing examples shown per row")
    args = parser.parse_args(argv)

    for csv in args.csv:
        frame = read_csv(csv)
        train = read_csv(args.train_csv) if args.train_csv else frame
        tags = discover_tags(pd.concat([train["dialogue"], frame["dialogue"], frame["summary"]]))
        print(f"{csv}: {len(frame)} summaries; tags: {' '.join(tags)}")
        bench_tiny(frame, train, tags, args.examples)
        if args.kobart:
            bench_kobart(args.kobart, frame, tags, args.examples)


if __name__ == "__main__":
    main()
