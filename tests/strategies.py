"""Hypothesis strategies for small random XOR auctions."""

from __future__ import annotations

from hypothesis import strategies as st

from mechopt.auction import Bid, Bidder, CombinatorialAuction


@st.composite
def xor_auctions(draw, max_items: int = 8, max_bidders: int = 8, max_bids: int = 3, integer_values: bool | None = None):
    """Auctions with 1..max_items items and 1..max_bidders bidders holding 1..max_bids XOR
    bids each. Values are either small integers (to provoke ties) or floats (0 or in
    [1e-4, 100], so within the value range mechopt guarantees)."""
    m = draw(st.integers(1, max_items))
    items = [f"g{k}" for k in range(m)]
    n = draw(st.integers(1, max_bidders))
    ints = draw(st.booleans()) if integer_values is None else integer_values
    # floats below 1e-4 become 0: the values stay within mechopt's guaranteed range
    # (largest / smallest nonzero value <= MAX_VALUE_RATIO = 1e6)
    value = (
        st.integers(0, 20).map(float)
        if ints
        else st.floats(0, 100, allow_nan=False, allow_infinity=False).map(lambda v: v if v >= 1e-4 else 0.0)
    )
    bidders = []
    for i in range(n):
        k = draw(st.integers(1, max_bids))
        bids = []
        for j in range(k):
            bundle = draw(st.sets(st.sampled_from(items), min_size=1, max_size=min(m, 4)))
            bids.append(Bid(f"{i}.{j}", tuple(sorted(bundle)), draw(value)))
        bidders.append(Bidder(f"B{i}", tuple(bids)))
    return CombinatorialAuction(tuple(items), tuple(bidders))


@st.composite
def general_auctions(draw, max_items: int = 5, max_bidders: int = 6, max_bids: int = 3,
                     or_bids: bool = True, reserves: bool = True):
    """Like :func:`xor_auctions` (integer or float values), with some OR bidders and some
    reserve prices (each item with probability 1/2, from the same value range)."""
    base = draw(xor_auctions(max_items=max_items, max_bidders=max_bidders, max_bids=max_bids))
    integer = all(float(b.value).is_integer() for _, b in base.iter_bids())
    price = st.integers(0, 8).map(float) if integer else st.floats(0, 40, allow_nan=False).map(
        lambda v: v if v >= 1e-4 else 0.0
    )
    bidders = tuple(
        Bidder(b.id, b.bids, "OR" if or_bids and draw(st.booleans()) else "XOR") for b in base.bidders
    )
    prices = {}
    if reserves:
        for g in base.items:
            if draw(st.booleans()):
                prices[g] = draw(price)
    return CombinatorialAuction(base.items, bidders, reserves=prices)
