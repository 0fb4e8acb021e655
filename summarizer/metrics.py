"""`compute_metrics` for the trainer: decoded predictions scored against the raw summaries."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from transformers import EvalPrediction, PreTrainedTokenizerBase

from summarizer.causal.collator import pad_token_id
from summarizer.data.features import restore_order
from summarizer.metric_names import GEN_LEN
from summarizer.rouge import DEFAULT_TOKENIZER, rouge
from summarizer.tokenization import decode


class RougeMetrics:
    """Scores generated ids against the data file's summaries, never against decoded labels.

    Decoded labels would be truncated at `max_target_length` and re-spelled by the tokenizer;
    the references users are judged on are the raw strings. `last_predictions` keeps the
    decoded texts of the latest evaluation for `dev_predictions.csv`, in the references' order.

    `order`, when the evaluation dataset is sorted by length (`sort_by_length`): prediction k
    belongs to reference `order[k]`. `rouge_tokenizer` is the ROUGE mode (`data.rouge_tokenizer`,
    docs/rouge.md): the data's language decides which one gives meaningful numbers.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, references: Sequence[str],
                 order: Sequence[int] | None = None, rouge_tokenizer: str = DEFAULT_TOKENIZER):
        self.tokenizer = tokenizer
        self.references = list(references)
        self.order = list(order) if order is not None else None
        self.rouge_tokenizer = rouge_tokenizer
        self.last_predictions: list[str] = []

    def __call__(self, eval_pred: EvalPrediction) -> dict[str, float]:
        ids = eval_pred.predictions
        if isinstance(ids, tuple):
            ids = ids[0]
        predictions = decode(self.tokenizer, ids)
        if len(predictions) != len(self.references):
            raise RuntimeError(
                f"{len(predictions)} predictions for {len(self.references)} dev rows: "
                "evaluation must see every dev row exactly once"
            )
        if self.order is not None:
            predictions = restore_order(predictions, self.order)
        self.last_predictions = predictions
        scores = rouge(predictions, self.references, tokenizer=self.rouge_tokenizer)
        # Finished rows are padded with the collator's id: EOS for tokenizers without a pad.
        scores[GEN_LEN] = float(np.mean(generated_lengths(ids, pad_token_id(self.tokenizer))))
        return scores


def generated_lengths(ids: np.ndarray, pad_id: int) -> list[int]:
    """Tokens per generated row, without padding (`pad_id`, or -100 where the trainer padded
    batches of different widths together)."""
    ids = np.asarray(ids)
    return [int(((row != pad_id) & (row != -100)).sum()) for row in ids]

