"""Brute-force references for small auctions (independent of every mechopt solver).

XOR bidders get one bid or none; OR bidders any set of bids with pairwise disjoint bundles
(packaged with ``combine_bids``, a plain container).  Reserve prices are the seller's: the
welfare of an allocation adds the reserve of every item it leaves unsold.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable

from mechopt.auction import CombinatorialAuction, combine_bids


def _choices(bidder) -> list[tuple]:
    """Every set of bids the bidder may win (as tuples), the empty one first."""
    if bidder.language != "OR":
        return [(), *((bid,) for bid in bidder.bids)]
    out = []
    for r in range(len(bidder.bids) + 1):
        for combo in itertools.combinations(bidder.bids, r):
            items = [g for bid in combo for g in bid.items]
            if len(items) == len(set(items)):
                out.append(combo)
    return out


def all_allocations(auction: CombinatorialAuction, exclude: Iterable[str] = ()):
    """Yield every feasible allocation as {bidder: bid} (an OR bidder's bids combined)."""
    skip = set(exclude)
    bidders = [b for b in auction.bidders if b.id not in skip]
    choices = [_choices(b) for b in bidders]

    def rec(k: int, used: frozenset, chosen: dict):
        if k == len(bidders):
            yield dict(chosen)
            return
        for combo in choices[k]:
            items = frozenset(g for bid in combo for g in bid.items)
            if not used.isdisjoint(items):
                continue
            if combo:
                chosen[bidders[k].id] = combine_bids(combo)
            yield from rec(k + 1, used | items, chosen)
            chosen.pop(bidders[k].id, None)

    yield from rec(0, frozenset(), {})


def welfare(allocation, auction: CombinatorialAuction | None = None) -> float:
    """Sum of the accepted values, plus the reserves of unsold items when ``auction`` is given."""
    values = [b.value for b in allocation.values()]
    if auction is not None:
        sold = {g for b in allocation.values() for g in b.items}
        values += [price for g, price in auction.reserve_prices.items() if g not in sold]
    return math.fsum(values)


def best_welfare(auction: CombinatorialAuction, exclude: Iterable[str] = ()) -> float:
    return max(welfare(a, auction) for a in all_allocations(auction, exclude))


def vcg_utilities(auction: CombinatorialAuction) -> dict[str, float]:
    """VCG utility u_i = W − W_{-i} of every bidder: independent of tie-breaking."""
    w = best_welfare(auction)
    return {b: w - best_welfare(auction, exclude=[b]) for b in auction.bidder_ids}


def vcg_payments_for(auction: CombinatorialAuction, allocation) -> dict[str, float]:
    """Clarke payments p_i = W_{-i} − Σ_{j≠i} v_j − (reserves of the items the allocation
    leaves unsold): the seller counts as an agent who is never charged."""
    unsold = welfare(allocation, auction) - welfare(allocation)
    out = {}
    for b in auction.bidder_ids:
        others = welfare({i: bid for i, bid in allocation.items() if i != b}) + unsold
        out[b] = best_welfare(auction, exclude=[b]) - others
    return out


def coalition_welfares(auction: CombinatorialAuction) -> dict[frozenset, float]:
    """W(K) for every coalition K of bidders (seller included): one enumeration of all
    allocations, then the best over allocations whose winners lie inside K."""
    ids = list(auction.bidder_ids)
    n = len(ids)
    best = [-math.inf] * (1 << n)
    for alloc in all_allocations(auction):
        mask = sum(1 << ids.index(b) for b in alloc)
        best[mask] = max(best[mask], welfare(alloc, auction))
    for k in range(n):  # superset maximum: W(K) = max over subsets of K
        for mask in range(1 << n):
            if mask >> k & 1:
                best[mask] = max(best[mask], best[mask ^ (1 << k)])
    return {frozenset(ids[k] for k in range(n) if mask >> k & 1): best[mask] for mask in range(1 << n)}


def core_constraints(auction: CombinatorialAuction, allocation) -> tuple[list[str], list[tuple[list[str], float]]]:
    """Winners and every core constraint ``(W∖K, rhs)``: Σ_{i ∈ W∖K} p_i ≥ rhs with
    rhs = W(K) − Σ_{i ∈ W∩K} v_i − (reserves the allocation leaves unsold)."""
    winners = [b for b in auction.bidder_ids if b in allocation]
    unsold = welfare(allocation, auction) - welfare(allocation)
    out = []
    for coalition, w_k in coalition_welfares(auction).items():
        inside = math.fsum(allocation[i].value for i in winners if i in coalition)
        out.append(([i for i in winners if i not in coalition], w_k - inside - unsold))
    return winners, out
