"""Winner determination and VCG against brute-force enumeration (real HiGHS solves)."""

from __future__ import annotations

import math

import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mechopt import CombinatorialAuction, build_wdp_model, read_wdp_allocation, solve_model
from mechopt.formulations.wdp import unscale_result
from mechopt.mechanisms import run_vcg, solve_wdp

from brute import all_allocations, best_welfare, vcg_payments_for, vcg_utilities, welfare
from strategies import xor_auctions

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def close(a: float, b: float, tol: float = 1e-6) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=tol)


def assert_feasible(auction: CombinatorialAuction, bids) -> None:
    sold = set()
    for bidder_id, bid in bids.items():
        assert bid in auction.bidder(bidder_id).bids
        assert sold.isdisjoint(bid.items)
        sold |= bid.items


@SETTINGS
@given(xor_auctions())
def test_wdp_welfare_equals_brute_force(auction):
    alloc = solve_wdp(auction)
    assert alloc.is_optimal
    assert_feasible(auction, alloc.bids)
    assert close(alloc.welfare, best_welfare(auction))
    # the solver's objective agrees with the exact sum of accepted bids
    assert close(alloc.solve.objective, alloc.welfare)


@SETTINGS
@given(xor_auctions())
def test_vcg_payments_equal_brute_force(auction):
    outcome = run_vcg(auction)
    assert outcome.is_optimal
    expected = vcg_payments_for(auction, outcome.allocation.bids)
    for b in auction.bidder_ids:
        assert close(outcome.payments[b], expected[b]), b
    # utilities do not depend on which optimal allocation was chosen
    for b, u in vcg_utilities(auction).items():
        assert close(outcome.utilities[b], u), b


@SETTINGS
@given(xor_auctions())
def test_vcg_invariants(auction):
    outcome = run_vcg(auction)
    for b in auction.bidder_ids:
        pay = outcome.payments[b]
        value = outcome.allocation.value_of(b)
        assert pay >= -1e-9  # no bidder is paid (Clarke pivot)
        assert pay <= value + 1e-9  # a truthful bidder never pays more than its bid
        assert outcome.utilities[b] >= -1e-9
        if b not in outcome.allocation.bids:
            assert pay == 0.0  # losers pay exactly nothing
    assert close(outcome.revenue, sum(outcome.payments.values()))
    assert outcome.revenue <= outcome.welfare + 1e-9


@SETTINGS
@given(xor_auctions(max_items=6, max_bidders=6))
def test_marginal_economies_equal_brute_force(auction):
    for b in auction.bidder_ids:
        alloc = solve_wdp(auction, exclude=[b])
        assert b not in alloc.bids
        assert close(alloc.welfare, best_welfare(auction, exclude=[b]))


def test_user_can_extend_the_model_and_solve_it():
    """A user adds a side constraint to our Pyomo model and solves it with any tool."""
    auction = CombinatorialAuction.from_bids(
        ["A", "B", "C"],
        {
            "x": [(["A", "B"], 10.0), (["C"], 4.0)],
            "y": [(["A"], 6.0)],
            "z": [(["B", "C"], 7.0)],
        },
    )
    model = build_wdp_model(auction)
    # side constraint: bidder x may not win its {A, B} bid
    model.no_ab_for_x = pyo.Constraint(expr=model.x["x/0"] == 0)
    result = solve_model(model)
    assert result.is_optimal
    chosen = read_wdp_allocation(model)
    expected = max(
        welfare(a) for a in all_allocations(auction) if not (a.get("x") and a["x"].id == "x/0")
    )
    assert close(welfare(chosen), expected)
    # the objective is welfare / objective_scale (HiGHS' tolerances are absolute)
    assert close(unscale_result(result, model.objective_scale.value).objective, expected)
    assert close(result.objective * model.objective_scale.value, expected)


def test_model_components_are_documented():
    auction = CombinatorialAuction.from_bids(["A", "B"], {"x": [(["A"], 1.0), (["B"], 2.0)], "y": [(["A", "B"], 2.5)]})
    model = build_wdp_model(auction)
    for comp in model.component_objects((pyo.Set, pyo.Param, pyo.Var, pyo.Constraint, pyo.Objective), descend_into=True):
        if comp.parent_component() is comp and not comp.name.endswith("_index"):
            assert comp.doc, f"{comp.name} has no doc"
    assert len(model.one_bid_per_bidder) == 1  # single-bid bidder y needs no XOR row
    assert len(model.item_capacity) == 2


def test_exclusion_of_unknown_bidder_is_an_error():
    auction = CombinatorialAuction.from_bids(["A"], {"x": [(["A"], 1.0)]})
    with pytest.raises(ValueError, match="no bidder with id 'nobody'"):
        build_wdp_model(auction, exclude=["nobody"])


def test_everyone_excluded_gives_the_empty_optimal_allocation():
    auction = CombinatorialAuction.from_bids(["A"], {"x": [(["A"], 5.0)]})
    outcome = run_vcg(auction)
    assert outcome.payments == {"x": 0.0}  # alone: nobody else wants A
    assert outcome.winners == ("x",)
    alloc = solve_wdp(auction, exclude=["x"])
    assert alloc.bids == {} and alloc.is_optimal


@SETTINGS
@given(xor_auctions(), st.integers(1, 3))
def test_split_main_problem_gives_the_same_vcg_outcome(auction, pivots):
    """run_vcg(split=True) solves 'without p_j' for each pivot and 'all pivots win' instead
    of the main problem; welfare and the validity of the payments must not change."""
    outcome = run_vcg(auction, split=True, pivots=pivots)
    assert outcome.is_optimal
    assert close(outcome.welfare, best_welfare(auction))
    expected = vcg_payments_for(auction, outcome.allocation.bids)
    for b in auction.bidder_ids:
        assert close(outcome.payments[b], expected[b]), b


@SETTINGS
@given(xor_auctions(max_items=6, max_bidders=6))
def test_must_win_constraint_equals_brute_force(auction):
    b = auction.bidder_ids[0]
    alloc = solve_wdp(auction, must_win=[b])
    assert b in alloc.bids
    assert close(alloc.welfare, max(welfare(a) for a in all_allocations(auction) if b in a))


def test_pivot_cover_when_the_pivots_cannot_all_win():
    # every pair of bidders competes for A: "all pivots win" is infeasible and is skipped
    auction = CombinatorialAuction.from_bids(
        ["A", "B"], {"x": [(["A"], 5.0)], "y": [(["A"], 4.0)], "z": [(["A", "B"], 3.0)]}
    )
    outcome = run_vcg(auction, split=True, pivots=2)
    assert outcome.is_optimal and outcome.winners == ("x",)
    assert outcome.payments["x"] == 4.0


@SETTINGS
@given(xor_auctions())
def test_integral_lp_relaxation_is_returned_only_when_optimal(auction):
    from mechopt.mechanisms.vcg import likely_winners

    pivots, lp_optimum = likely_winners(auction, 2)
    assert len(pivots) == min(2, len(auction.bidders))
    if lp_optimum is not None:
        assert lp_optimum.is_optimal
        assert_feasible(auction, lp_optimum.bids)
        assert close(lp_optimum.welfare, best_welfare(auction))
