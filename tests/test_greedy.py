"""The LOS greedy rule and its critical payments."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from mechopt.auction import Bid, Bidder, CombinatorialAuction
from mechopt.mechanisms import critical_payments, greedy_allocation, run_auction

from brute import best_welfare
from strategies import xor_auctions


@st.composite
def single_minded(draw, max_items=7, max_bidders=8):
    m = draw(st.integers(1, max_items))
    items = [f"g{k}" for k in range(m)]
    n = draw(st.integers(1, max_bidders))
    ints = draw(st.booleans())
    value = st.integers(1, 12).map(float) if ints else st.floats(0.01, 50, allow_nan=False)
    bidders = []
    for i in range(n):
        bundle = draw(st.sets(st.sampled_from(items), min_size=1, max_size=min(m, 4)))
        bidders.append(Bidder(f"B{i}", (Bid(f"b{i}", tuple(sorted(bundle)), draw(value)),)))
    return CombinatorialAuction(tuple(items), tuple(bidders))


def with_value(auction: CombinatorialAuction, bidder_id: str, value: float) -> CombinatorialAuction:
    bidders = tuple(
        Bidder(b.id, (Bid(b.bids[0].id, tuple(b.bids[0].items), value),)) if b.id == bidder_id else b
        for b in auction.bidders
    )
    return CombinatorialAuction(auction.items, bidders)


def wins(auction, bidder_id, value) -> bool:
    return bidder_id in greedy_allocation(with_value(auction, bidder_id, value)).bids


@settings(max_examples=80, deadline=None)
@given(single_minded())
def test_critical_payment_equals_bisection_on_the_bid(auction):
    """p_i is the infimum of the values with which i still wins (monotone for single-minded)."""
    allocation = greedy_allocation(auction)
    payments = critical_payments(allocation)
    for bidder in auction.bidders:
        b = bidder.id
        if b not in allocation.bids:
            assert payments[b] == 0.0
            continue
        value = bidder.bids[0].value
        assert 0.0 <= payments[b] <= value + 1e-12
        lo, hi = 0.0, value  # invariant: wins at hi
        if wins(auction, b, 0.0):
            assert payments[b] == 0.0
            continue
        for _ in range(60):
            mid = (lo + hi) / 2
            if wins(auction, b, mid):
                hi = mid
            else:
                lo = mid
        assert math.isclose(payments[b], hi, rel_tol=1e-9, abs_tol=1e-9), (b, payments[b], lo, hi)
        # monotone: any value above the critical one wins, below loses
        assert wins(auction, b, payments[b] * 1.01 + 1e-9)
        if payments[b] > 1e-6:
            assert not wins(auction, b, payments[b] * 0.99)


@settings(max_examples=60, deadline=None)
@given(xor_auctions())
def test_greedy_allocation_is_feasible_and_maximal(auction):
    alloc = greedy_allocation(auction)
    sold = set()
    for b, bid in alloc.bids.items():
        assert bid in auction.bidder(b).bids
        assert sold.isdisjoint(bid.items)
        sold |= bid.items
    for bidder in auction.bidders:  # maximal: no losing bid fits into the unsold items
        if bidder.id not in alloc.bids:
            assert all(not bid.items.isdisjoint(sold) for bid in bidder.bids)
    assert alloc.welfare <= best_welfare(auction) + 1e-9


def test_los_example_by_hand():
    # scores: x 10/√2 = 7.07, y 6/1, z 5/1; x wins {A,B}, then y and z collide with x
    auction = CombinatorialAuction.from_bids(
        ["A", "B", "C"], {"x": [(["A", "B"], 10.0)], "y": [(["A"], 6.0)], "z": [(["B"], 5.0)], "w": [(["C"], 1.0)]}
    )
    outcome = run_auction(auction, rule="greedy", payments="critical")
    assert set(outcome.winners) == {"x", "w"}
    # without x: y is granted first and overlaps {A,B}: p_x = √2 · 6
    assert math.isclose(outcome.payments["x"], math.sqrt(2) * 6.0)
    assert outcome.payments["w"] == 0.0  # nobody else wants C
    assert outcome.status_label == "exact"


def test_vcg_based_payments_under_greedy_charge_every_bidder_with_the_optimal_marginal():
    auction = CombinatorialAuction.from_bids(
        ["A", "B"], {"x": [(["A", "B"], 10.0)], "y": [(["A"], 6.0)], "z": [(["B"], 5.0)]}
    )
    outcome = run_auction(auction, rule="greedy", payments="vcg")
    # greedy grants x ({A,B}: 7.07 > 6 > 5), optimal is y+z = 11
    assert outcome.winners == ("x",)
    assert math.isclose(outcome.payments["x"], 11.0)  # W*_{-x} − 0
    assert math.isclose(outcome.payments["y"], 10.0 - 10.0)  # W*_{-y} = 10 minus others' 10
    assert math.isclose(outcome.payments["z"], 10.0 - 10.0)
    assert outcome.utilities["x"] < 0  # the VCG-based baseline is not IR under greedy
