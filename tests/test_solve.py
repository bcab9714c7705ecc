"""The solver seam: statuses, time limits, other Pyomo solvers, missing solvers."""

from __future__ import annotations

from pathlib import Path

import pyomo.environ as pyo
import pytest

from mechopt import build_wdp_model, solve_model
from mechopt.io import load_auction
from mechopt.mechanisms import run_vcg, solve_wdp
from mechopt.solve import NotProvenOptimal, SolverNotFound, SolveStatus, Termination, get_solver

CATS = Path(__file__).resolve().parent.parent / "data" / "cats"
HARD = CATS / "arbitrary_m0000.txt"  # about 10 s for HiGHS: a short time limit stops it


def test_time_limit_is_never_reported_as_optimal():
    auction = load_auction(HARD)
    alloc = solve_wdp(auction, time_limit=0.2)
    # the solver's incumbent, or the greedy fallback when it had none yet: feasible, unproven
    assert alloc.status.has_solution and alloc.status.termination is Termination.TIME_LIMIT
    assert not alloc.is_optimal
    assert alloc.welfare > 0
    if alloc.solve.bound is not None:
        assert alloc.solve.bound > alloc.welfare and alloc.solve.gap > 0
    with pytest.raises(NotProvenOptimal, match="not proven optimal"):
        alloc.solve.require_optimal("the allocation")


def test_vcg_outcome_with_unproven_solves_is_labelled():
    outcome = run_vcg(load_auction(HARD), time_limit=0.2)
    assert not outcome.is_optimal
    assert outcome.to_dict()["proven_optimal"] is False
    assert "not proven optimal" in outcome.to_dict()["status"]
    assert any("not VCG payments" in n for n in outcome.notes)


def test_no_incumbent_falls_back_to_greedy_and_says_so():
    from mechopt.mechanisms import greedy_allocation

    auction = load_auction(HARD)
    # the classic appsi interface reports no incumbent when a time limit stops HiGHS
    alloc = solve_wdp(auction, solver="appsi_highs", time_limit=0.05)
    assert alloc.status.has_solution and alloc.status.termination is Termination.TIME_LIMIT
    assert "greedy allocation used" in alloc.solve.message
    assert alloc.bids == greedy_allocation(auction).bids


def test_classic_pyomo_solver_interface_gives_the_same_optimum():
    auction = load_auction(CATS / "L4_s0000.txt")
    a = solve_wdp(auction, solver="highs")
    b = solve_wdp(auction, solver="appsi_highs")
    assert b.is_optimal and a.welfare == pytest.approx(b.welfare, rel=1e-12)


def test_unknown_solver_is_a_clear_error():
    model = build_wdp_model(load_auction(CATS / "L4_s0000.txt"))
    with pytest.raises(SolverNotFound, match="solver 'nosuch' is not installed"):
        solve_model(model, "nosuch")


def test_bad_limits_are_refused():
    model = build_wdp_model(load_auction(CATS / "L4_s0000.txt"))
    with pytest.raises(ValueError, match="time limit must be positive"):
        solve_model(model, time_limit=0)
    with pytest.raises(ValueError, match="mip gap must be >= 0"):
        solve_model(model, mip_gap=-1)


def test_infeasible_and_persistent_resolve():
    m = pyo.ConcreteModel()
    m.x = pyo.Var(domain=pyo.Binary)
    m.o = pyo.Objective(expr=m.x, sense=pyo.maximize)
    solver = get_solver("highs")
    first = solve_model(m, solver)
    assert first.is_optimal and first.objective == pytest.approx(1)
    m.c = pyo.Constraint(expr=m.x <= 0)  # added between solves on the same solver object
    assert solve_model(m, solver).objective == pytest.approx(0)
    m.d = pyo.Constraint(expr=m.x >= 1)
    assert solve_model(m, solver).status == SolveStatus.INFEASIBLE


def test_worst_status():
    limited = SolveStatus(Termination.TIME_LIMIT, has_solution=True)
    assert SolveStatus.worst([]) == SolveStatus.OPTIMAL
    assert SolveStatus.worst([SolveStatus.OPTIMAL, limited]) == limited
    assert SolveStatus.worst([limited, SolveStatus.ERROR, SolveStatus.OPTIMAL]) == SolveStatus.ERROR
