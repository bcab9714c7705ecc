"""Validation of the data model: every invalid instance is refused with a clear message."""

from __future__ import annotations

import math
import pickle

import pytest

from mechopt.auction import AuctionError, Bid, Bidder, CombinatorialAuction


def auction(**over):
    bidders = over.pop("bidders", (Bidder("x", (Bid("x1", ("A", "B"), 3.0),)), Bidder("y", (Bid("y1", ("A",), 2.0),))))
    return CombinatorialAuction(over.pop("items", ("A", "B")), bidders, **over)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Bid("b", (), 1.0), "bid 'b' has an empty bundle"),
        (lambda: Bid("b", ("A", "A"), 1.0), "bid 'b' names item 'A' twice"),
        (lambda: Bid("b", ("A",), -1.0), "bid 'b' has negative value -1"),
        (lambda: Bid("b", ("A",), math.nan), "bid 'b' has value NaN"),
        (lambda: Bid("b", ("A",), math.inf), "bid 'b' has an infinite value"),
        (lambda: Bid("b", ("A",), "3"), "bid 'b' has a non-numeric value '3'"),
        (lambda: Bid("b", ("A",), True), "non-numeric value True"),
        (lambda: Bid("b", "AB", 1.0), "items must be a list of item names"),
        (lambda: Bid("", ("A",), 1.0), "bid id must not be empty"),
        (lambda: Bidder("x", ()), "bidder 'x' has no bids"),
        (lambda: Bidder("x", (Bid("b", ("A",), 1.0), Bid("b", ("B",), 1.0))), "bidder 'x' has two bids with id 'b'"),
        (lambda: auction(items=()), "the auction has no items"),
        (lambda: auction(items=("A", "A", "B")), "item 'A' is listed twice"),
        (lambda: auction(bidders=()), "the auction has no bidders"),
        (
            lambda: auction(bidders=(Bidder("x", (Bid("1", ("A",), 1.0),)), Bidder("x", (Bid("2", ("B",), 1.0),)))),
            "bidder id 'x' is used twice",
        ),
        (
            lambda: auction(bidders=(Bidder("x", (Bid("1", ("A",), 1.0),)), Bidder("y", (Bid("1", ("B",), 1.0),)))),
            "bid id '1' is used by bidder 'x' and bidder 'y'",
        ),
        (
            lambda: auction(bidders=(Bidder("x", (Bid("1", ("A", "Z"), 1.0),)),)),
            "bid '1' of bidder 'x' names unknown item 'Z'",
        ),
    ],
)
def test_invalid_instances_are_refused(make, message):
    with pytest.raises(AuctionError) as info:
        make()
    assert message in str(info.value)


def test_xor_valuation_with_free_disposal():
    bidder = Bidder("x", (Bid("1", ("A",), 3.0), Bid("2", ("A", "B"), 5.0), Bid("3", ("C",), 4.0)))
    assert bidder.value([]) == 0.0
    assert bidder.value(["A"]) == 3.0
    assert bidder.value(["A", "C"]) == 4.0  # XOR: the best single bid contained
    assert bidder.value(["A", "B", "C"]) == 5.0
    assert bidder.value(["B"]) == 0.0


def test_without_and_merged():
    a = CombinatorialAuction.from_bids(["A", "B"], {"x": [(["A"], 1.0)], "y": [(["B"], 2.0)], "z": [(["A", "B"], 2.5)]})
    assert a.without(["x"]).bidder_ids == ("y", "z")
    with pytest.raises(AuctionError, match="no bidder with id 'q'"):
        a.without(["q"])
    with pytest.raises(AuctionError, match="no bidders"):
        a.without(["x", "y", "z"])
    m = a.merged(["x", "y"], "xy")
    assert m.bidder_ids == ("xy", "z")
    assert m.bidder("xy").value(["A", "B"]) == 2.0  # XOR over the merged bids


def test_instances_are_hashable_picklable_and_compare_by_value():
    a = auction()
    b = pickle.loads(pickle.dumps(a))
    assert a == b and hash(a) == hash(b)
    assert a.bidder("x").bids[0].items == frozenset({"A", "B"})
    assert b.bidder("y").value(["A"]) == 2.0
