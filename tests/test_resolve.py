"""The kept models in the solvers' own APIs (mechopt.mechanisms.resolve: HiGHS, Gurobi, CPLEX, SCIP)
answer every economy as a fresh Pyomo model does."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mechopt.audit import audit_auction
from mechopt.io import load_auction
from mechopt.mechanisms import solve_wdp
from mechopt.mechanisms.kept_model import KeptWdpModel
from mechopt.mechanisms.resolve import (
    KEPT_MODELS,
    HighsEconomySolver,
    economy_solver,
    forget_kept_models,
)
from mechopt.mechanisms.wdp import EconomySolver
from mechopt.solve import SolverError, SolveStatus, Termination

from brute import best_welfare
from strategies import general_auctions

CATS = Path(__file__).resolve().parent.parent / "data" / "cats"
#: the solver package each kept model needs (CI installs all three: the ``solvers`` extra)
PACKAGES = {"highs": "highspy", "gurobi": "gurobipy", "cplex": "cplex", "scip": "pyscipopt"}


@pytest.fixture(params=sorted(KEPT_MODELS))
def kept_class(request) -> type[KeptWdpModel]:
    if importlib.util.find_spec(PACKAGES[request.param]) is None:
        pytest.skip(f"{PACKAGES[request.param]} is not installed")
    return KEPT_MODELS[request.param]


def test_plain_names_get_the_kept_model_and_full_pyomo_names_the_pyomo_one(kept_class):
    auction = load_auction(CATS / "L6_s0000.txt")
    forget_kept_models()
    assert isinstance(economy_solver(auction), HighsEconomySolver)
    assert type(economy_solver(auction, kept_class.name)) is kept_class
    assert economy_solver(auction, kept_class.name) is economy_solver(auction, kept_class.name)
    assert isinstance(economy_solver(auction, "appsi_highs"), EconomySolver)
    forget_kept_models()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(auction=general_auctions(max_items=5, max_bidders=5), data=st.data())
def test_every_economy_matches_brute_force_and_the_pyomo_model(kept_class, auction, data):
    """XOR and OR bidders, reserve prices: the kept model, re-solved for economies in a
    random order, gives the brute-force optimum and the Pyomo model's welfare each time,
    with or without the full auction's optimum (less the excluded) as MIP start."""
    kept = kept_class(auction)
    pyomo = EconomySolver(auction, "highs")
    ids = list(auction.bidder_ids)
    economies = [frozenset(c) for r in range(3) for c in itertools.combinations(ids, r)]
    order = data.draw(st.permutations(economies))
    main = pyomo.solve()
    for excluded in order[:8]:
        got = kept.solve(excluded, incumbent=main.bids, warm_start=data.draw(st.booleans()))
        assert got.is_optimal
        best = best_welfare(auction, exclude=excluded)
        welfare = auction.welfare_of(got.bids.values())  # reserves of unsold items included
        assert welfare == pytest.approx(best, rel=1e-9, abs=1e-9)
        assert got.solve.objective == pytest.approx(best, rel=1e-9, abs=1e-9)
        other = pyomo.solve(excluded)
        assert auction.welfare_of(other.bids.values()) == pytest.approx(welfare, rel=1e-9, abs=1e-9)
        assert not excluded & set(got.bids)


def test_same_welfare_as_a_fresh_pyomo_model_and_no_history_on_cats_files(kept_class):
    """Every economy of four CATS files: the welfare of a fresh Pyomo model with the same
    solver, proven (bound = objective).  HiGHS and CPLEX start every MILP afresh
    (``history_free``): the allocation among tied optima is the same whatever was solved
    before, checked by solving the economies in two orders on two kept models.  HiGHS gets
    the very MILP Pyomo passes it, so its allocation is the fresh Pyomo model's too.  Gurobi
    keeps its previous solution as the next start (GurobiEconomySolver): welfare only."""
    solver = kept_class.name
    for name in ("L6_s0000.txt", "L4_s0000.txt", "paths_s0000.txt", "matching_s0000.txt"):
        auction = load_auction(CATS / name)
        kept, other = kept_class(auction), kept_class(auction)
        main = kept.solve()
        economies = [*([w] for w in main.winners), list(main.winners[:2]), []]
        backwards = {tuple(e): ids(other.solve(e)) for e in reversed(economies)}
        for excluded in economies:
            again = kept.solve(excluded)
            fresh = solve_wdp(auction, exclude=excluded, solver=solver)
            assert again.is_optimal and again.solve.solver == solver
            assert again.welfare == pytest.approx(fresh.welfare, rel=1e-12), (name, excluded)
            assert again.solve.bound == pytest.approx(again.welfare, rel=1e-9)
            if kept_class.history_free:
                assert ids(again) == backwards[tuple(excluded)], (name, excluded)
            if solver == "highs":
                assert ids(again) == ids(fresh), (name, excluded)


def test_a_start_never_changes_the_answer(kept_class):
    """Every marginal economy of the medium matching file, from the main allocation as MIP
    start: the welfare of the allocation returned is the solver's objective and the optimum
    without the start.  (HiGHS 1.16 ends two of these solves with the start's columns and a
    better solution's objective; the kept model then solves again without the start.)"""
    auction = load_auction(CATS / "matching_m0000.txt")
    kept = kept_class(auction)
    main = kept.solve()
    for w in main.winners:
        started = kept.solve([w], incumbent=main.bids, warm_start=True)
        cold = kept.solve([w])
        assert started.is_optimal and cold.is_optimal
        assert started.welfare == pytest.approx(started.solve.objective, rel=1e-9), w
        assert started.welfare == pytest.approx(cold.welfare, rel=1e-12), w


def test_start_misreported_agrees_with_the_exact_welfare():
    """The check the core separations use on raw highspy: it flags a started solve exactly
    when the returned columns' exact welfare is not HiGHS' objective."""
    import highspy

    from mechopt.formulations.wdp_highspy import (
        highspy_wdp,
        read_highspy_allocation,
        start_misreported,
    )
    from mechopt.formulations.wdp_matrix import wdp_matrix

    auction = load_auction(CATS / "matching_m0000.txt")
    main = solve_wdp(auction)
    flags = []
    for w in main.winners:
        m = wdp_matrix(auction, [w])
        h = highspy_wdp(m)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 0.0)
        chosen = {bid.id for b, bid in main.bids.items() if b != w}
        start = highspy.HighsSolution()
        start.col_value = [1.0 if bid.id in chosen else 0.0 for _, bid in m.columns]
        start.value_valid = True
        h.setSolution(start)
        h.run()
        welfare = auction.welfare_of(read_highspy_allocation(h, m.columns, auction).values())
        reported = h.getInfo().objective_function_value * m.scale
        wrong = abs(welfare - reported) > 1e-7 * abs(reported)
        assert start_misreported(h) == wrong, w
        flags.append(wrong)
        h.clearSolver()
        h.run()  # without the start
        assert not start_misreported(h)
    assert flags.count(False) >= len(flags) - 2  # the defect is the exception


def ids(allocation) -> dict[str, str]:
    return {b: bid.id for b, bid in allocation.bids.items()}


def test_lp_bound_matches_the_pyomo_relaxation(kept_class):
    auction = load_auction(CATS / "L4_s0000.txt")
    kept, pyomo = kept_class(auction, relax=True), EconomySolver(auction, "highs", relax=True)
    winners = solve_wdp(auction).winners
    for excluded in [[], *([w] for w in winners[:4]), list(winners[:2])]:
        a, b = kept.bound(excluded), pyomo.bound(excluded)
        assert a.is_optimal and b.is_optimal
        assert a.objective == pytest.approx(b.objective, rel=1e-9)
        assert a.objective >= solve_wdp(auction, exclude=excluded).welfare - 1e-9
    with pytest.raises(ValueError, match="bounds, not allocations"):
        kept.solve()


def test_a_limit_is_labelled_and_does_not_stick(kept_class):
    auction = load_auction(CATS / "L6_s0000.txt")
    kept = kept_class(auction)
    limited = kept.solve(time_limit=1e-6)
    assert limited.status.termination is Termination.TIME_LIMIT and not limited.is_optimal
    assert limited.solve.status.has_solution  # the incumbent, or the labelled greedy fallback
    again = kept.solve()
    assert again.is_optimal and again.welfare == pytest.approx(solve_wdp(auction).welfare, rel=1e-12)
    gap = kept.solve(mip_gap=0.5)
    assert gap.solve.mip_gap == 0.5 and kept.solve().solve.mip_gap == 0.0


def test_unknown_bidder_and_everyone_excluded(kept_class):
    auction = load_auction(CATS / "L6_s0000.txt")
    kept = kept_class(auction)
    with pytest.raises(Exception, match="nosuch"):
        kept.solve(["nosuch"])
    empty = kept.solve(auction.bidder_ids)
    assert empty.bids == {} and empty.is_optimal


def test_a_solver_error_without_allocation_raises_with_the_cause(monkeypatch):
    auction = load_auction(CATS / "L6_s0000.txt")
    kept = HighsEconomySolver(auction)

    def failed(*args, **kwargs):
        return Termination.ERROR, False, 0.0

    monkeypatch.setattr(kept, "_run", failed)
    with pytest.raises(SolverError, match="HiGHS error") as info:
        kept.solve(["b1"])
    assert info.value.status == SolveStatus(Termination.ERROR)


def test_audit_reports_a_failed_economy_instead_of_crashing(monkeypatch):
    """An economy whose solve fails is recorded with its status; the audit says it."""
    auction = load_auction(CATS / "L6_s0000.txt")
    forget_kept_models()
    real_run = HighsEconomySolver._run

    def flaky(self, time_limit, mip_gap, threads, options):
        if len(self._excluded) == 1 and not self.relaxed:
            return Termination.ERROR, False, 0.0
        return real_run(self, time_limit, mip_gap, threads, options)

    monkeypatch.setattr(HighsEconomySolver, "_run", flaky)
    report = audit_auction(auction, core=False)
    forget_kept_models()
    assert not report.status.is_optimal
    assert report.status.termination is Termination.ERROR
