"""OR bids and reserve prices through the WDP, VCG, the greedy rule, the audit and the file
format, against brute force (tests/brute.py enumerates OR bid sets and adds the seller's
reserves)."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mechopt.auction import AuctionError, Bid, Bidder, CombinatorialAuction
from mechopt.audit import audit_auction
from mechopt.cli import cli
from mechopt.io import auction_from_dict, auction_to_dict
from mechopt.io.errors import InstanceFileError
from mechopt.mechanisms import critical_payments, greedy_allocation, run_auction, solve_wdp

from brute import best_welfare, vcg_payments_for, vcg_utilities
from strategies import general_auctions

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _feasible(auction: CombinatorialAuction, bids) -> None:
    sold: set[str] = set()
    for bidder_id, bid in bids.items():
        parts = bid.components
        if not auction.bidder(bidder_id).is_or:
            assert len(parts) == 1
        own = {p.id for p in auction.bidder(bidder_id).bids}
        for part in parts:
            assert part.id in own
            assert sold.isdisjoint(part.items)
            sold |= part.items


@SETTINGS
@given(general_auctions())
def test_wdp_and_vcg_match_brute_force(auction):
    outcome = run_auction(auction, payments="vcg")
    assert outcome.is_optimal
    _feasible(auction, outcome.allocation.bids)
    assert outcome.welfare == pytest.approx(best_welfare(auction), rel=1e-9, abs=1e-9)
    expected = vcg_payments_for(auction, dict(outcome.allocation.bids))
    for b in auction.bidder_ids:
        if b in outcome.allocation.bids:
            assert outcome.payments[b] == pytest.approx(expected[b], rel=1e-7, abs=1e-7)
            # a winner pays at least the reserves of what it won
            assert outcome.payments[b] >= auction.reserve_of(outcome.allocation.bids[b].items) - 1e-7


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(general_auctions(max_items=4, max_bidders=5))
def test_audit_utilities_match_brute_force(auction):
    report = audit_auction(auction)
    if report.discovery is None:
        return
    expected = vcg_utilities(auction)
    for w, u in report.discovery.utilities.items():
        assert u == pytest.approx(expected[w], rel=1e-7, abs=1e-7)


@st.composite
def single_minded_with_reserves(draw):
    m = draw(st.integers(1, 5))
    items = [f"g{k}" for k in range(m)]
    n = draw(st.integers(1, 6))
    value = st.integers(1, 12).map(float)
    bidders = []
    for i in range(n):
        bundle = draw(st.sets(st.sampled_from(items), min_size=1, max_size=min(m, 3)))
        bidders.append(Bidder(f"B{i}", (Bid(f"b{i}", tuple(sorted(bundle)), draw(value)),)))
    reserves = {g: draw(st.integers(0, 4).map(float)) for g in items if draw(st.booleans())}
    return CombinatorialAuction(tuple(items), tuple(bidders), reserves=reserves)


def _with_value(auction, bidder_id, value):
    bidders = tuple(
        Bidder(b.id, (Bid(b.bids[0].id, tuple(b.bids[0].items), value),)) if b.id == bidder_id else b
        for b in auction.bidders
    )
    return CombinatorialAuction(auction.items, bidders, reserves=auction.reserves)


@settings(max_examples=60, deadline=None)
@given(single_minded_with_reserves())
def test_greedy_critical_payments_with_reserves_by_bisection(auction):
    allocation = greedy_allocation(auction)
    payments = critical_payments(allocation)
    for bidder in auction.bidders:
        b = bidder.id
        bid = bidder.bids[0]
        if b not in allocation.bids:
            assert payments[b] == 0.0
            continue
        assert bid.value >= auction.reserve_of(bid.items)
        assert auction.reserve_of(bid.items) - 1e-12 <= payments[b] <= bid.value + 1e-12

        def wins(v, b=b):
            return b in greedy_allocation(_with_value(auction, b, v)).bids

        lo, hi = 0.0, bid.value
        if wins(0.0):
            assert payments[b] == 0.0
            continue
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if wins(mid) else (mid, hi)
        assert math.isclose(payments[b], hi, rel_tol=1e-9, abs_tol=1e-9)


def test_or_bidder_wins_two_disjoint_bids_and_xor_does_not():
    def auction(language):
        return CombinatorialAuction(
            ("A", "B"),
            (Bidder("1", (Bid("1a", ("A",), 5), Bid("1b", ("B",), 4)), language),
             Bidder("2", (Bid("2ab", ("A", "B"), 7),))),
        )

    or_outcome = run_auction(auction("OR"))
    assert or_outcome.welfare == 9 and or_outcome.allocation.bids["1"].id == "1a+1b"
    assert [p.id for p in or_outcome.allocation.bids["1"].components] == ["1a", "1b"]
    assert or_outcome.payments["1"] == pytest.approx(7.0)  # W_-1 = 7, others get 0
    xor_outcome = run_auction(auction("XOR"))
    assert xor_outcome.welfare == 7 and xor_outcome.winners == ("2",)
    greedy = greedy_allocation(auction("OR"))
    assert greedy.bids["1"].id == "1a+1b"
    assert critical_payments(greedy)["1"] == pytest.approx(7 / math.sqrt(2) * 2)
    assert auction("OR").value("1", ["A", "B"]) == 9 and auction("XOR").value("1", ["A", "B"]) == 5


def test_reserve_keeps_an_item_unsold_and_sets_the_price():
    a = CombinatorialAuction(
        ("A", "B"),
        (Bidder("1", (Bid("1a", ("A",), 5),)), Bidder("2", (Bid("2b", ("B",), 3),))),
        reserves={"A": 2, "B": 4},
    )
    outcome = run_auction(a)
    assert outcome.winners == ("1",)
    assert outcome.payments["1"] == pytest.approx(2.0)  # pays the reserve, no competitor
    assert outcome.welfare == pytest.approx(5 + 4)  # the seller keeps B at its reserve 4
    assert solve_wdp(a).welfare == pytest.approx(9)
    core = run_auction(a, payments="core")
    assert core.payments["1"] == pytest.approx(2.0, abs=1e-6)
    greedy = run_auction(a, rule="greedy")
    assert greedy.winners == ("1",) and greedy.payments["1"] == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("reserves", "message"),
    [
        ({"Z": 1}, "unknown item 'Z'"),
        ({"A": -1}, "must be finite and >= 0"),
        ({"A": float("nan")}, "must be finite and >= 0"),
        ({"A": float("inf")}, "must be finite and >= 0"),
        ({"A": "3"}, "not a number"),
    ],
)
def test_invalid_reserves(reserves, message):
    with pytest.raises(AuctionError, match=message):
        CombinatorialAuction(("A",), (Bidder("1", (Bid("1a", ("A",), 5),)),), reserves=reserves)


def test_invalid_language():
    with pytest.raises(AuctionError, match="unknown bidding language"):
        Bidder("1", (Bid("1a", ("A",), 5),), "AND")


def test_json_round_trip_and_errors(tmp_path):
    data = {
        "items": ["A", "B"],
        "reserves": {"A": 2.5},
        "bidders": [{"id": "1", "language": "OR", "bids": [{"items": ["A"], "value": 3}]}],
    }
    auction = auction_from_dict(data)
    assert auction.reserve_prices == {"A": 2.5} and auction.bidder("1").is_or
    again = auction_from_dict(auction_to_dict(auction))
    assert again == auction and again.bidder("1").language == "OR"
    for bad, message in (
        ({**data, "reserves": {"Q": 1}}, "unknown item 'Q'"),
        ({**data, "reserves": {"A": -2}}, ">= 0"),
        ({**data, "reserves": [1]}, "'reserves' must be an object"),
    ):
        with pytest.raises(InstanceFileError, match=message):
            auction_from_dict(bad)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**data, "reserves": {"A": -2}}))
    result = CliRunner().invoke(cli, ["solve", str(path)])
    assert result.exit_code == 1  # an invalid instance file is a failure (README: exit codes)
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "reserve price of item 'A'" in lines[0], result.output
    path.write_text('{"items": ["A"], "reserves": {"A": NaN}, "bidders": []}')
    result = CliRunner().invoke(cli, ["solve", str(path)])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1, result.output
