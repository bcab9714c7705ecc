"""HiGHS keeps one thread scheduler per process: a solve with an explicit thread count after
one with the default count used to stop at once with status "unknown" (no solution)."""

from __future__ import annotations

import numpy as np

from mechopt.io import load_auction
from mechopt.mechanisms.assignment import egalitarian_assignment
from mechopt.mechanisms.wdp import solve_wdp


def test_thread_counts_can_change_between_solves(cats_dir):
    auction = load_auction(cats_dir / "L4_s0000.txt")
    values = np.random.default_rng(0).random((4, 4))
    for threads in (None, 1, 2, None, 1, 1):
        assert solve_wdp(auction, threads=threads).is_optimal, threads
        assert egalitarian_assignment(values, threads=threads).status.is_optimal, threads
