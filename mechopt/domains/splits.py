"""Seeds of the training, validation and test sets of one payment-rule experiment.

The training set is drawn with the experiment's seed, the validation and test sets with fixed
offsets from it, so that the three never share instances and one seed names all three (in
``mechopt payments learn``, the reproduction and every saved rule's manifest).
"""

from __future__ import annotations

__all__ = ["VALIDATION_SEED_OFFSET", "TEST_SEED_OFFSET", "split_seeds"]

VALIDATION_SEED_OFFSET = 10_000
TEST_SEED_OFFSET = 20_000


def split_seeds(seed: int) -> dict[str, int]:
    """``{"train": seed, "validation": seed + 10000, "test": seed + 20000}``."""
    return {"train": seed, "validation": seed + VALIDATION_SEED_OFFSET, "test": seed + TEST_SEED_OFFSET}
