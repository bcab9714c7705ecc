"""Any sequence of HiGHS thread counts in one process gives correct, proven results.

HiGHS keeps one thread scheduler per process, started by the first solve; a later solve
asking for another ``threads`` value failed ("the scheduler has already been initialized")
and mechopt reported it as "not proven optimal" or fell back to the greedy allocation.
This test changes the thread count None → 1 → 2 → 1 within one process on every HiGHS path:
Pyomo (WDP, leximin assignment), the labelling of a training set (which solves with one
thread), raw highspy, and CVXPY's dual QP.
"""

from __future__ import annotations

import numpy as np

from mechopt import load_auction, solve_wdp
from mechopt.domains.distributions import MultiMindedCA
from mechopt.domains.rules import apply_rule
from mechopt.formulations.wdp_highspy import build_wdp_highspy, read_highspy_allocation
from mechopt.learning.cutting_plane import CuttingPlaneSSVM
from mechopt.learning.kernels import RBFKernel
from mechopt.learning.structured import CombinatorialModel
from mechopt.mechanisms.assignment import egalitarian_assignment
from mechopt.solve import SolveStatus, prepare_highs_threads

SEQUENCE = (None, 1, 2, 1, None)


def test_thread_counts_change_freely_on_every_highs_path(data_dir):
    auction = load_auction(data_dir / "default.json")
    values = np.array([[4.0, 1.0, 3.0], [2.0, 2.0, 5.0], [3.0, 4.0, 1.0]])
    profiles = MultiMindedCA(n_agents=3, n_items=3, n_bundles=2, gamma=1.0).sample(6, 0)
    seen = []
    for threads in SEQUENCE:
        allocation = solve_wdp(auction, threads=threads)
        assert allocation.solve.status == SolveStatus.OPTIMAL, (threads, allocation.solve)
        assert allocation.welfare == 325.0

        assignment = egalitarian_assignment(values, threads=threads)

        labels = apply_rule(profiles, "optimal")
        assert labels.is_optimal

        prepare_highs_threads(threads)
        h, columns = build_wdp_highspy(auction)
        h.setOptionValue("mip_rel_gap", 0.0)
        if threads is not None:
            h.setOptionValue("threads", threads)
        h.run()
        assert h.getModelStatus() == h.getModelStatus().kOptimal
        raw = sum(b.value for b in read_highspy_allocation(h, columns, auction).values())

        learner = CuttingPlaneSSVM(CombinatorialModel(), RBFKernel(gamma=0.5), C=10.0,
                                   formulation="dual").fit(profiles, labels.outcomes)
        seen.append((assignment.items.tolist(), assignment.utilities.tolist(), labels.outcomes.tolist(), raw, round(learner.w1_, 6)))
    assert all(s == seen[0] for s in seen), seen
