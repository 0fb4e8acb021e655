"""Dev ROUGE of trivial baselines on a dataset in the competition layout (docs/sample_data.md).

A trained model is only interesting if it beats these: the first turn as summary, the summary
of the most similar train dialogue, and the most frequent train summary.
"""

from __future__ import annotations

import argparse
import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from summarizer.data.io import read_csv
from summarizer.metric_names import ROUGE_METRICS
from summarizer.rouge import DEFAULT_TOKENIZER, TOKENIZER_MODES, rouge

BASELINES = ("first_turn", "nearest_train", "most_frequent")
_SPEAKER = re.compile(r"^#Person\d+#:\s*")


def first_turn(dialogue: str) -> str:
    return _SPEAKER.sub("", dialogue.split("\n", 1)[0])


def _tfidf(docs: Sequence[list[str]], vocab: dict[str, int], idf: np.ndarray) -> np.ndarray:
    """L2-normalised TF-IDF rows over `vocab`; tokens outside it are ignored."""
    matrix = np.zeros((len(docs), len(vocab)))
    for row, tokens in enumerate(docs):
        for token, count in Counter(tokens).items():
            if token in vocab:
                matrix[row, vocab[token]] = count
    matrix *= idf
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def nearest_train(train_dialogues: Sequence[str], queries: Sequence[str]) -> list[int]:
    """Index of the most cosine-similar train dialogue (whitespace tokens, smoothed TF-IDF) per
    query."""
    train_tokens = [dialogue.split() for dialogue in train_dialogues]
    doc_freq = Counter(token for tokens in train_tokens for token in set(tokens))
    vocab = {token: index for index, token in enumerate(sorted(doc_freq))}
    docs = len(train_tokens)
    idf = np.array([math.log((1 + docs) / (1 + doc_freq[token])) + 1 for token in sorted(doc_freq)])
    queries_tfidf = _tfidf([query.split() for query in queries], vocab, idf)
    similarity = queries_tfidf @ _tfidf(train_tokens, vocab, idf).T
    return [int(index) for index in similarity.argmax(axis=1)]


def baseline_scores(data_dir: str | Path,
                    tokenizer: str = DEFAULT_TOKENIZER) -> dict[str, dict[str, float]]:
    """ROUGE (rouge1, rouge2, rougeL, rouge_sum) on `data_dir`/dev.csv of each baseline, in the
    ROUGE mode a model on this data is scored with (`data.rouge_tokenizer`)."""
    data_dir = Path(data_dir)
    train, dev = read_csv(data_dir / "train.csv"), read_csv(data_dir / "dev.csv")
    references = dev["summary"].tolist()
    train_summaries = train["summary"].tolist()
    counts = Counter(train_summaries)
    most_frequent = max(counts, key=counts.__getitem__)  # ties: the first in file order
    nearest = nearest_train(train["dialogue"].tolist(), dev["dialogue"].tolist())
    predictions = {
        "first_turn": [first_turn(dialogue) for dialogue in dev["dialogue"]],
        "nearest_train": [train_summaries[i] for i in nearest],
        "most_frequent": [most_frequent] * len(dev),
    }
    return {name: rouge(predictions[name], references, tokenizer=tokenizer) for name in BASELINES}


def markdown_table(scores: dict[str, dict[str, float]]) -> str:
    lines = ["| baseline | ROUGE-1 | ROUGE-2 | ROUGE-L | rouge_sum |", "|---|---:|---:|---:|---:|"]
    for name, baseline in scores.items():
        cells = " | ".join(f"{baseline[metric]:.2f}" for metric in ROUGE_METRICS)
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Dev ROUGE of trivial summarization baselines.")
    parser.add_argument("--dir", default="data/sample",
                        help="directory with train.csv and dev.csv (default: data/sample)")
    parser.add_argument("--rouge-tokenizer", default=DEFAULT_TOKENIZER, choices=TOKENIZER_MODES,
                        help="ROUGE mode, as data.rouge_tokenizer (default: whitespace)")
    args = parser.parse_args(argv)
    print(markdown_table(baseline_scores(args.dir, args.rouge_tokenizer)))


if __name__ == "__main__":
    main()
