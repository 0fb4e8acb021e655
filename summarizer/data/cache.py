"""Tokenized splits, and tokenizers trained from the data, kept on disk for later runs.

A run with the same texts, tokenizer and lengths as an earlier one (the next run of an
experiment, a sweep's next trial) loads them instead of training and tokenizing again. Entries
live under `paths.cache_dir` (`${paths.data_dir}/.cache` by default), one folder per key;
`paths.cache_dir=null` switches the cache off. Deleting the folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import tokenizers
import transformers
from datasets import Dataset
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from summarizer.data.features import column_chunks

log = logging.getLogger(__name__)

# Part of every key: raise it when `build_dataset` or `train_tokenizer` change their output, or
# the layout of an entry.
FORMAT = 3
DATA_FILE = "data.arrow"
NOTES_FILE = "notes.json"
# What `from_pretrained` writes into a tokenizer's init arguments about where it was loaded from;
# dropped so that `final_model/` holds the same tokenizer files with and without the cache.
LOAD_ONLY_KWARGS = ("local_files_only", "is_local")


def fingerprint(*parts: Any) -> str:
    """A hex digest of JSON-serialisable `parts` and of the library versions that shape them."""
    digest = hashlib.sha256()
    for part in (FORMAT, transformers.__version__, tokenizers.__version__, *parts):
        digest.update(json.dumps(part, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def texts_fingerprint(frame: pd.DataFrame, columns: Sequence[str | None]) -> str:
    """The texts of `columns` (None: no such column), row by row: what gets tokenized. It covers
    the file's content and every choice that cuts it (sample limits, dropped rows, columns).
    Hashed a chunk of rows at a time (one string of a whole column would double its memory),
    each text as a JSON string and a newline: the same bytes however the rows are chunked."""
    digest = hashlib.sha256()
    for column in columns:
        for values in [] if column is None else column_chunks(frame, column):
            digest.update("".join([json.dumps(value, ensure_ascii=False) + "\n"
                                   for value in values]).encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def tokenizer_fingerprint(tokenizer: PreTrainedTokenizerBase) -> str:
    """The tokenizer's whole pipeline (vocabulary, merges, normalizer, added tokens, post-processor)
    and its special tokens; the same for a trained tokenizer and its saved and reloaded copy.
    The project's tokenizers are all fast ones (`fix_tokenizer` refuses the others)."""
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    # Settings of the latest call (`truncation=True, max_length=...`), not of the tokenizer.
    state.pop("truncation", None)
    state.pop("padding", None)
    return fingerprint(state, tokenizer.special_tokens_map)


def cached_dataset(cache_dir: str | None, key: str,
                   build: Callable[[list[str], Path | None], Dataset]) -> Dataset:
    """`build(notes, file)`, or the dataset it built for `key` before. `build` writes its rows to
    the entry's Arrow file `file` (None: the cache is off, it keeps them in memory), and the
    dataset is mapped from that file: the tokenized rows are never all in memory. The lines
    `build` logged and added to `notes` (truncation counts) are saved with it and logged again
    when it is reused."""
    if cache_dir is None:
        return build([], None)
    path = Path(cache_dir) / "datasets" / key
    if (path / NOTES_FILE).is_file():
        for note in json.loads((path / NOTES_FILE).read_text(encoding="utf-8")):
            log.info("%s", note)
        log.info("Reused the tokenized split from %s", path)
        return Dataset.from_file(str(path / DATA_FILE))

    def write(tmp: Path) -> None:
        notes: list[str] = []
        build(notes, tmp / DATA_FILE)
        (tmp / NOTES_FILE).write_text(json.dumps(notes, ensure_ascii=False), encoding="utf-8")

    _publish(path, write)
    return Dataset.from_file(str(path / DATA_FILE))


def cached_tokenizer(cache_dir: str | None, key: str,
                     build: Callable[[], PreTrainedTokenizerBase]) -> PreTrainedTokenizerBase:
    """`build()` (training a tokenizer), or the tokenizer it trained for `key` before."""
    if cache_dir is None:
        return build()
    path = Path(cache_dir) / "tokenizers" / key
    if (path / "tokenizer_config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(path)
        for name in LOAD_ONLY_KWARGS:
            tokenizer.init_kwargs.pop(name, None)
        log.info("Reused the tokenizer trained from the same data: %s", path)
        return tokenizer
    tokenizer = build()
    _publish(path, lambda tmp: tokenizer.save_pretrained(str(tmp)))
    return tokenizer


def _publish(path: Path, write: Callable[[Path], None]) -> None:
    """Write an entry into a temporary folder next to `path` and rename it into place, so that a
    reader never sees half an entry; when another process was first, its entry is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name[:16]}-", dir=path.parent))
    try:
        write(tmp)
        tmp.rename(path)
    except OSError:
        if not path.is_dir():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
