"""k-fold splits: which of K folds each pooled train and dev row belongs to.

The assignment depends only on the rows and `data.fold_seed`, never on the training `seed` or
the order of the files, so the K runs of a fold sweep (and a later `predict split=dev` of any of
them) see the same folds on every machine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

FOLD_SEED = 42


def fold_numbers(ids: Sequence, texts: Sequence, folds: int, seed: int = FOLD_SEED) -> np.ndarray:
    """The fold (0 to `folds` - 1) of each row, given as its id and its dialogue.

    Rows are put in one canonical order (by id, then by dialogue: an id may repeat across the
    train and dev files) and shuffled by a numpy `Generator` seeded with `seed`; the shuffled
    rows are dealt to the folds in turn, so fold sizes differ by one at most.
    """
    keys = pd.DataFrame({"id": [str(value) for value in ids],
                         "text": [str(value) for value in texts]})
    canonical = keys.sort_values(["id", "text"], kind="mergesort").index.to_numpy()
    dealt = canonical[np.random.default_rng(seed).permutation(len(canonical))]
    numbers = np.empty(len(canonical), dtype=np.int64)
    numbers[dealt] = np.arange(len(canonical)) % folds
    return numbers
