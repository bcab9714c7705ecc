"""Every small bundled CATS file: our Pyomo WDP against an independent formulation.

The reference is the *conflict-graph* formulation (one constraint x_a + x_b ≤ 1 for every
pair of bids that overlap or belong to the same XOR bidder), built with scipy's sparse
matrices and solved by ``scipy.optimize.milp`` — a different model of the same integer set,
built without Pyomo.  VCG payments are cross-checked the same way.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from mechopt.io import load_auction
from mechopt.mechanisms import run_vcg

SMALL = sorted((Path(__file__).resolve().parent.parent / "data" / "cats").glob("*_s0000.txt"))


def conflict_graph_welfare(auction, exclude=()) -> float:
    bids = [(bidder.id, bid) for bidder, bid in auction.iter_bids() if bidder.id not in exclude]
    if not bids:
        return 0.0
    pairs = [
        (a, b)
        for a, b in itertools.combinations(range(len(bids)), 2)
        if bids[a][0] == bids[b][0] or not bids[a][1].items.isdisjoint(bids[b][1].items)
    ]
    values = np.array([bid.value for _, bid in bids])
    constraints = []
    if pairs:
        rows = lil_matrix((len(pairs), len(bids)))
        for r, (a, b) in enumerate(pairs):
            rows[r, a] = rows[r, b] = 1
        constraints.append(LinearConstraint(rows.tocsr(), -np.inf, 1))
    res = milp(-values, constraints=constraints, integrality=np.ones(len(bids)), bounds=Bounds(0, 1),
               options={"mip_rel_gap": 0})
    assert res.status == 0, res.message
    x = np.round(res.x)
    return math.fsum(values[x > 0.5])


@pytest.mark.parametrize("path", SMALL, ids=lambda p: p.stem)
def test_small_cats_file_matches_conflict_graph_formulation(path):
    auction = load_auction(path)
    outcome = run_vcg(auction)
    assert outcome.is_optimal
    reference = conflict_graph_welfare(auction)
    assert math.isclose(outcome.welfare, reference, rel_tol=1e-9)
    for winner in outcome.winners:
        w_minus = conflict_graph_welfare(auction, exclude=[winner])
        expected = w_minus - outcome.allocation.welfare_without(winner)
        assert math.isclose(outcome.payments[winner], expected, rel_tol=1e-9, abs_tol=1e-6), winner
