"""Brute-force references for small XOR auctions (independent of every mechopt solver)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from mechopt.auction import CombinatorialAuction


def all_allocations(auction: CombinatorialAuction, exclude: Iterable[str] = ()):
    """Yield every feasible allocation as {bidder: bid}: each bidder gets one bid or none,
    bundles pairwise disjoint."""
    skip = set(exclude)
    bidders = [b for b in auction.bidders if b.id not in skip]

    def rec(k: int, used: frozenset, chosen: dict):
        if k == len(bidders):
            yield dict(chosen)
            return
        yield from rec(k + 1, used, chosen)
        bidder = bidders[k]
        for bid in bidder.bids:
            if used.isdisjoint(bid.items):
                chosen[bidder.id] = bid
                yield from rec(k + 1, used | bid.items, chosen)
                del chosen[bidder.id]

    yield from rec(0, frozenset(), {})


def welfare(allocation) -> float:
    return math.fsum(b.value for b in allocation.values())


def best_welfare(auction: CombinatorialAuction, exclude: Iterable[str] = ()) -> float:
    return max(welfare(a) for a in all_allocations(auction, exclude))


def vcg_utilities(auction: CombinatorialAuction) -> dict[str, float]:
    """VCG utility u_i = W − W_{-i} of every bidder: independent of tie-breaking."""
    w = best_welfare(auction)
    return {b: w - best_welfare(auction, exclude=[b]) for b in auction.bidder_ids}


def vcg_payments_for(auction: CombinatorialAuction, allocation) -> dict[str, float]:
    """Clarke payments p_i = W_{-i} − Σ_{j≠i} v_j for a given (optimal) allocation."""
    out = {}
    for b in auction.bidder_ids:
        others = math.fsum(bid.value for i, bid in allocation.items() if i != b)
        out[b] = best_welfare(auction, exclude=[b]) - others
    return out
