"""What the evaluation after each epoch scores and when (`training.epoch_eval`), and what the
final evaluation of the best model scores.

Each epoch's evaluation only has to rank the checkpoints, so it may generate with fewer beams
or tokens, over a fixed part of the dev rows, every few epochs: generation is most of an
evaluation's time, and an evaluation can cost more than an epoch of training. The final
evaluation of the best model always generates with `training.generation` over every dev row;
`metrics.json`, `dev_predictions.csv` and the reports hold that one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import datasets
from transformers import PreTrainedTokenizerBase, TrainerCallback

from summarizer.data.features import sort_by_length
from summarizer.metrics import RougeMetrics


@dataclass
class Evaluation:
    """Dev rows to generate summaries for (sorted by length or not) and the `RougeMetrics`
    that scores them against their references; `generation` is what `Seq2SeqTrainer.predict`
    takes besides (empty: the training arguments' settings); `rows`: their positions among the
    dev rows, in the references' order (None: all of them)."""

    dataset: datasets.Dataset
    metrics: RougeMetrics
    generation: dict = field(default_factory=dict)
    rows: list[int] | None = None


def evaluation(dataset: datasets.Dataset, references: list[str],
               tokenizer: PreTrainedTokenizerBase, rouge_tokenizer: str, sort: bool,
               rows: list[int] | None = None, generation: dict | None = None) -> Evaluation:
    """The `Evaluation` of `rows` (positions in `dataset`; None: all) of the tokenized dev
    split `dataset`, whose raw summaries are `references`."""
    if rows is not None:
        dataset = dataset.select(rows).flatten_indices()
        references = [references[row] for row in rows]
    order = None
    if sort:
        dataset, order = sort_by_length(dataset)
    return Evaluation(dataset, RougeMetrics(tokenizer, references, order, rouge_tokenizer),
                      generation or {}, rows)


def epoch_rows(dev_rows: int, chosen: int | None, seed: int) -> list[int] | None:
    """The positions of the `chosen` dev rows each epoch scores, a seeded choice kept in file
    order; None (all rows) when `chosen` is None or not below `dev_rows`."""
    if chosen is None or chosen >= dev_rows:
        return None
    return sorted(random.Random(seed).sample(range(dev_rows), chosen))


class EvaluateEveryEpochs(TrainerCallback):
    """Evaluates and saves a checkpoint after every `every`-th epoch and after the last one.

    transformers' `eval_strategy="epoch"` asks for both after every epoch; this runs after its
    flow callback and takes the request back on the other epochs. Early stopping's patience
    then counts evaluations, not epochs.
    """

    def __init__(self, every: int):
        self.every = every

    def on_epoch_end(self, args, state, control, **kwargs):
        epoch = round(state.epoch or 0)
        if epoch % self.every and state.global_step < state.max_steps:
            control.should_evaluate = False
            control.should_save = False
        return control
