"""Length-grouped training batches with a setting for how much of their randomness to keep."""

from __future__ import annotations

from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices


class GroupedLengthSampler(LengthGroupedSampler):
    """transformers' `LengthGroupedSampler`, with the number of batches sorted together as a
    setting (`training.length_group_batches`).

    Each epoch the rows are shuffled, cut into groups of `batches_per_group` batches, and each
    group is sorted by length before it is cut into batches. Larger groups give batches of more
    similar lengths (less padding, faster steps), smaller ones batches closer to random ones
    (one batch per group is random sampling with the batch sorted inside). transformers fixes the
    group at 50 batches, or a quarter of the data when that is fewer; `None` keeps that.
    """

    def __init__(self, batch_size: int, lengths: list[int], batches_per_group: int | None = None):
        super().__init__(batch_size, lengths=lengths)
        self.batches_per_group = batches_per_group

    def __iter__(self):
        return iter(get_length_grouped_indices(self.lengths, self.batch_size,
                                               mega_batch_mult=self.batches_per_group,
                                               generator=self.generator))
