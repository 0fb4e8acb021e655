"""The facts behind `analysis.html`: per-row ROUGE and where a model's summaries go wrong.

A mean ROUGE says how good a model is, not where it fails. These facts break the score down by
row, topic and dialogue length, and check what the mean hides: empty and repeated summaries,
and speaker tags and masks of the references that the predictions drop. The page
(`analysis_page`) shows them; both a training run (its dev rows) and `summarizer.score` write it.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from summarizer.metric_names import ROUGE_METRICS, ROUGE_SUM, ROUGE_TYPES
from summarizer.output_checks import check_outputs, output_text
from summarizer.rouge import TAG_PATTERN, rouge_per_example

FILENAME = "analysis.html"
# The column that groups rows by subject, where a data set has one (DialogSum and the sample do).
TOPIC_COLUMN = "topic"
# How many of the lowest and of the highest scoring rows the page shows in full.
SHOWN_ROWS = 5
# Dialogue-length buckets: quartiles of the rows' lengths.
LENGTH_BUCKETS = 4
# `#Person1#`, `#Person2#`, ...: who speaks; every other `#...#` tag is a mask (`#PhoneNumber#`).
SPEAKER_TAG = re.compile(r"#Person\d+#")


@dataclass(frozen=True)
class AnalysisInput:
    """Aligned rows to analyse: `references` maps each reference column to its texts;
    `dialogues` and `topics` are None where the data has none."""

    ids: Sequence[Any]
    predictions: Sequence[Any]
    references: Mapping[str, Sequence[Any]]
    tokenizer: str
    dialogues: Sequence[Any] | None = None
    topics: Sequence[Any] | None = None


def analysis_facts(rows: AnalysisInput, title: str) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready values; scores are F1 on a 0-100 scale.

    A row's `best` takes, for each ROUGE type, the best F1 over its references: the per-row
    terms of the `max` of `summarizer.score`, so their mean is that number.
    """
    predictions = [output_text(text) for text in rows.predictions]
    names = list(rows.references)
    references = [[output_text(text) for text in rows.references[name]] for name in names]
    per_reference = [rouge_per_example(predictions, texts, tokenizer=rows.tokenizer)
                     for texts in references]
    dialogues = (None if rows.dialogues is None
                 else [output_text(text) for text in rows.dialogues])
    counts = Counter(predictions)
    table = []
    for index, prediction in enumerate(predictions):
        scores = [column[index] for column in per_reference]
        best = {name: max(score[name] for score in scores) for name in ROUGE_TYPES}
        best[ROUGE_SUM] = sum(best.values())
        table.append({
            "id": str(rows.ids[index]),
            "prediction": prediction,
            "references": [texts[index] for texts in references],
            "dialogue": "" if dialogues is None else dialogues[index],
            "words": None if dialogues is None else len(dialogues[index].split()),
            "topic": output_text(rows.topics[index]) if rows.topics is not None else None,
            "scores": scores,
            "best": best,
            "repeated": bool(prediction) and counts[prediction] > 1,
        })
    order = sorted(range(len(table)), key=lambda index: (table[index]["best"][ROUGE_SUM], index))
    return {
        "title": title,
        "tokenizer": rows.tokenizer,
        "metrics": list(ROUGE_METRICS),
        "reference_names": names,
        "rows": table,
        "means": {"max": mean_scores([row["best"] for row in table]),
                  "per_reference": {name: mean_scores(column)
                                    for name, column in zip(names, per_reference, strict=True)}},
        "worst": order[:SHOWN_ROWS],
        "best": order[::-1][:SHOWN_ROWS],
        "outputs": outputs_facts(predictions, table),
        "by_topic": group_scores(table, "topic") if rows.topics is not None else [],
        "by_length": [] if dialogues is None else length_groups(table),
        "tags": tag_facts(predictions, references),
    }


def mean_scores(scores: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Means of each ROUGE type, and their sum, as `summarizer.rouge` averages."""
    count = len(scores) or 1
    means = {name: sum(score[name] for score in scores) / count for name in ROUGE_TYPES}
    return {**means, ROUGE_SUM: sum(means.values())}


def outputs_facts(predictions: Sequence[str], table: Sequence[dict]) -> dict[str, Any]:
    """`output_checks`' numbers, plus the share of rows whose summary another row has too."""
    check = check_outputs(predictions, "predictions")
    rows = check.rows or 1
    return {"rows": check.rows, "empty": check.empty, "empty_share": check.empty / rows,
            "repeated": sum(row["repeated"] for row in table),
            "repeated_share": sum(row["repeated"] for row in table) / rows,
            "distinct": check.distinct, "most_common": check.most_common,
            "most_common_count": check.most_common_count, "warning": check.warning}


def group_scores(table: Sequence[dict], key: str) -> list[dict[str, Any]]:
    """Mean best scores of the rows sharing a value of `key`, the weakest group first."""
    groups: dict[Any, list[dict]] = {}
    for row in table:
        groups.setdefault(row[key], []).append(row)
    found = [{"group": value, "rows": len(members),
              "means": mean_scores([row["best"] for row in members])}
             for value, members in groups.items()]
    return sorted(found, key=lambda group: (group["means"][ROUGE_SUM], str(group["group"])))


def length_groups(table: Sequence[dict]) -> list[dict[str, Any]]:
    """Rows in dialogue-length quartiles, shortest first; equal lengths share a bucket."""
    ordered = sorted(row["words"] for row in table)
    buckets: dict[int, list[dict]] = {}
    for row in table:
        bucket = bisect_left(ordered, row["words"]) * LENGTH_BUCKETS // len(ordered)
        buckets.setdefault(bucket, []).append(row)
    found = []
    for bucket in sorted(buckets):
        members = buckets[bucket]
        words = [row["words"] for row in members]
        found.append({"group": f"{min(words)}-{max(words)} words", "rows": len(members),
                      "means": mean_scores([row["best"] for row in members])})
    return found


def tag_facts(predictions: Sequence[str],
              references: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
    """Per `#...#` tag: the rows whose references (any of them) hold it, how many of their
    predictions hold it too, and the rows whose prediction has it where no reference does."""
    in_reference: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    invented: Counter[str] = Counter()
    for index, prediction in enumerate(predictions):
        predicted = set(TAG_PATTERN.findall(prediction))
        expected = set()
        for texts in references:
            expected |= set(TAG_PATTERN.findall(texts[index]))
        in_reference.update(expected)
        kept.update(expected & predicted)
        invented.update(predicted - expected)
    tags = sorted(set(in_reference) | set(invented),
                  key=lambda tag: (not SPEAKER_TAG.fullmatch(tag), -in_reference[tag], tag))
    return [{"tag": tag, "kind": "speaker" if SPEAKER_TAG.fullmatch(tag) else "mask",
             "reference_rows": in_reference[tag], "kept": kept[tag],
             "kept_share": kept[tag] / in_reference[tag] if in_reference[tag] else None,
             "invented": invented[tag]}
            for tag in tags]
