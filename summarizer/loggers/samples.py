"""The dev rows whose predictions a logger shows at each evaluation (`logger.prediction_rows`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from summarizer.metric_names import ROUGE_METRICS
from summarizer.metrics import RougeMetrics
from summarizer.rouge import rouge_per_example

COLUMNS = ("id", "dialogue", "reference", "prediction", *ROUGE_METRICS)
# Enough of a dialogue to recognise it; the page of the run (analysis.html) shows it whole.
DIALOGUE_EXCERPT = 300


@dataclass
class PredictionSamples:
    """The first rows each evaluation scores: their ids (`data.id_column`), dialogues and
    `metrics`, the evaluation's `RougeMetrics`, which holds their references and, after each
    evaluation, its predictions.

    Always the same rows, so a table of one evaluation compares with the next.
    """

    ids: Sequence[str]
    dialogues: Sequence[str]
    metrics: RougeMetrics

    def table(self, count: int) -> list[list]:
        """Rows of `COLUMNS` for the latest evaluation's first `count` rows; per-row ROUGE
        scored as the evaluation scores (its ROUGE tokenizer, raw references)."""
        predictions = self.metrics.last_predictions[:count]
        references = self.metrics.references[:len(predictions)]
        scores = rouge_per_example(predictions, references,
                                   tokenizer=self.metrics.rouge_tokenizer)
        return [[str(row_id), _excerpt(dialogue), reference, prediction,
                 *(round(score[name], 2) for name in ROUGE_METRICS)]
                for row_id, dialogue, reference, prediction, score
                in zip(self.ids, self.dialogues, references, predictions, scores, strict=False)]


def _excerpt(text: str) -> str:
    return text if len(text) <= DIALOGUE_EXCERPT else text[:DIALOGUE_EXCERPT] + " ..."
