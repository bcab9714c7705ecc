"""Brute-force references for the audit tests: enumerate every allocation, no solver.

An allocation gives each bidder at most one of its XOR bids, with pairwise disjoint
bundles.  Everything else (VCG utilities, payments, the winner-exclusion drops and groups of
Matsuo, Ito, Shintani) is computed from these enumerations by the textbook formulas, written
independently of mechopt.audit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable

from mechopt.auction import Bid, CombinatorialAuction

TOL = 1e-9


def allocations(auction: CombinatorialAuction, exclude: Iterable[str] = ()):
    """Yield every feasible allocation as a dict bidder -> Bid."""
    excluded = set(exclude)
    bidders = [b for b in auction.bidders if b.id not in excluded]
    choices = [[None, *b.bids] for b in bidders]
    for combo in itertools.product(*choices):
        used: set[str] = set()
        ok = True
        for bid in combo:
            if bid is None:
                continue
            if used & bid.items:
                ok = False
                break
            used |= bid.items
        if ok:
            yield {b.id: bid for b, bid in zip(bidders, combo, strict=True) if bid is not None}


def welfare_of(alloc: dict[str, Bid]) -> float:
    return math.fsum(bid.value for bid in alloc.values())


def best_welfare(auction: CombinatorialAuction, exclude: Iterable[str] = ()) -> float:
    return max(welfare_of(a) for a in allocations(auction, exclude))


def optimal_allocations(auction: CombinatorialAuction, exclude: Iterable[str] = ()):
    """All optimal allocations, as sets of accepted positive-value bid ids (deduplicated)."""
    allocs = list(allocations(auction, exclude))
    best = max(welfare_of(a) for a in allocs)
    found = set()
    for a in allocs:
        if welfare_of(a) >= best - TOL * max(1.0, best):
            found.add(frozenset(bid.id for bid in a.values() if bid.value > 0))
    return found


def vcg_utility(auction: CombinatorialAuction, bidder: str, exclude: Iterable[str] = ()) -> float:
    """u_i = W − W_{-i} in the economy without ``exclude``."""
    exclude = set(exclude)
    return best_welfare(auction, exclude) - best_welfare(auction, exclude | {bidder})


def vcg_payment(auction: CombinatorialAuction, alloc: dict[str, Bid], bidder: str) -> float:
    """Clarke pivot payment of ``bidder`` under the (optimal) allocation ``alloc``."""
    others = welfare_of({b: bid for b, bid in alloc.items() if b != bidder})
    return best_welfare(auction, {bidder}) - others


def expected_groups(auction: CombinatorialAuction) -> set[frozenset[str]]:
    """Suspected groups by brute force, independent of any tie-break.

    Nodes: bidders with positive VCG utility (they win in every optimal allocation).  Edge
    θ–ι when u_ι − u_ι^{~θ} > 0 and u_θ − u_θ^{~ι} > 0, every utility from enumerations.
    Groups: connected components with at least two members.
    """
    W = best_welfare(auction)
    tol = TOL * max(1.0, W)
    nodes = [b for b in auction.bidder_ids if vcg_utility(auction, b) > tol]
    edges = []
    for a, b in itertools.combinations(nodes, 2):
        drop_b = vcg_utility(auction, b) - vcg_utility(auction, b, {a})
        drop_a = vcg_utility(auction, a) - vcg_utility(auction, a, {b})
        if drop_a > tol and drop_b > tol:
            edges.append((a, b))
    comp = {n: {n} for n in nodes}
    for a, b in edges:
        merged = comp[a] | comp[b]
        for n in merged:
            comp[n] = merged
    return {frozenset(c) for c in comp.values() if len(c) >= 2}


def paid(outcome):
    """``(winning bids, payments)`` of a mechopt Outcome, for ``schemer_utility``."""
    return outcome.allocation.bids, outcome.payments
