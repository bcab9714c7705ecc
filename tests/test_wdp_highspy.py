"""The raw-highspy reference of the benchmark passes HiGHS the very MILP Pyomo passes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mechopt import build_wdp_model, solve_model
from mechopt.formulations.wdp_highspy import build_wdp_highspy, read_highspy_allocation
from mechopt.io import load_auction
from mechopt.mechanisms import solve_wdp
from mechopt.solve import get_solver

CATS = Path(__file__).resolve().parent.parent / "data" / "cats"


def lp_arrays(lp):
    a = lp.a_matrix_
    return {
        "sense": int(lp.sense_),
        "cost": np.asarray(lp.col_cost_),
        "col_bounds": (np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)),
        "row_bounds": (np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)),
        "integrality": [int(t) for t in lp.integrality_],
        "start": np.asarray(a.start_),
        "index": np.asarray(a.index_),
        "value": np.asarray(a.value_),
    }


@pytest.mark.parametrize("name", ["L4_s0000", "arbitrary_s0000", "regions_s0000", "scheduling_s0000"])
def test_raw_highspy_model_is_identical_to_what_pyomo_passes(name):
    auction = load_auction(CATS / f"{name}.txt")
    solver = get_solver("highs")
    solve_model(build_wdp_model(auction), solver)
    pyomo_lp = solver._solver_model.getLp()
    raw, _ = build_wdp_highspy(auction)
    ours, theirs = lp_arrays(raw.getLp()), lp_arrays(pyomo_lp)
    assert ours.keys() == theirs.keys()
    for key in ours:
        a, b = ours[key], theirs[key]
        if isinstance(a, tuple):
            for x, y in zip(a, b, strict=True):
                np.testing.assert_array_equal(x, y, err_msg=key)
        else:
            np.testing.assert_array_equal(a, b, err_msg=key)


def test_raw_highspy_solves_to_the_same_welfare():
    auction = load_auction(CATS / "L6_s0000.txt")
    h, columns = build_wdp_highspy(auction, exclude=["b3"])
    h.setOptionValue("mip_rel_gap", 0.0)
    h.run()
    assert h.getModelStatus() == h.getModelStatus().kOptimal
    raw = read_highspy_allocation(h, columns, auction)
    assert sum(b.value for b in raw.values()) == pytest.approx(solve_wdp(auction, exclude=["b3"]).welfare)
