"""The LOS greedy outcome rule and its critical payments.

Lehmann, O'Callaghan, Shoham, "Truth revelation in approximately efficient combinatorial
auctions", JACM 49(5), 2002: sort bids by the score b / |S|^(1/2) (ties by a fixed index:
the order of the bids in the auction), grant each bid whose bundle is disjoint from every
granted bundle and whose bidder holds nothing yet.

Critical payment of a winner i with bundle S_i (single-minded bidders; LOS §4): run the
rule without bidder i; the first granted bid j (in score order) whose bundle overlaps S_i
sets p_i = |S_i|^(1/2) · b_j / |S_j|^(1/2), or 0 if there is none.  Bidding any value
whose score beats (or ties ahead of) b_j's wins, any lower value loses, so p_i is the
smallest winning bid.  The rule is truthful only for single-minded bidders; for
multi-minded bidders it is not even weakly monotone (Dütting et al., EC 2012, App. B), and
the payment is then the critical value of the winning bid with the bidder's other bids
withdrawn.

OR bidders (docs/auctions.md#or-bids) may be granted several disjoint bids; each granted
bid gets its critical value as above (the bidder's other bids withdrawn) and the bidder
pays their sum.  Reserve prices (docs/auctions.md#reserve-prices) enter through the reduced
value b − r(S): the score is (b − r(S)) / |S|^(1/2), a bid below the reserves of its
bundle is never granted, and a critical value is the reduced critical value plus r(S_i)
(r(S_i) alone when no competing bid overlaps).  Without reserves this is LOS unchanged.
"""

from __future__ import annotations

import math
import time

from mechopt.auction import Bid, CombinatorialAuction, combine_bids
from mechopt.mechanisms.outcome import Allocation, Outcome
from mechopt.solve import SolveStatus

__all__ = ["greedy_order", "greedy_bids", "greedy_allocation", "critical_payments", "run_greedy"]


def score(bid: Bid, reserve: float = 0.0) -> float:
    """LOS score (b − r(S)) / |S|^(1/2) (r = 0 without reserve prices)."""
    return (bid.value - reserve) / math.sqrt(len(bid.items))


def greedy_order(auction: CombinatorialAuction, exclude: frozenset[str] = frozenset()) -> list[tuple[str, Bid]]:
    """All (bidder id, bid) pairs sorted by decreasing score, ties by position in the auction
    (bids below the reserve prices of their bundle are left out)."""
    entries = [
        (bidder.id, bid)
        for bidder, bid in auction.iter_bids()
        if bidder.id not in exclude and bid.value >= auction.reserve_of(bid.items)
    ]
    scores = [score(bid, auction.reserve_of(bid.items)) for _, bid in entries]
    order = sorted(range(len(entries)), key=lambda k: (-scores[k], k))
    return [entries[k] for k in order]


def _grant(order: list[tuple[str, Bid]], auction: CombinatorialAuction) -> dict[str, Bid]:
    sold: set[str] = set()
    granted: dict[str, list[Bid]] = {}
    for bidder_id, bid in order:
        if not sold.isdisjoint(bid.items):
            continue
        if bidder_id in granted and not auction.bidder(bidder_id).is_or:
            continue
        granted.setdefault(bidder_id, []).append(bid)
        sold |= bid.items
    return {b: combine_bids(bids) for b, bids in granted.items()}


def greedy_bids(auction: CombinatorialAuction, exclude: frozenset[str] = frozenset()) -> dict[str, Bid]:
    """The bids the LOS greedy rule grants, by bidder, without the bidders in ``exclude``
    (an OR bidder's granted bids combined into one, :func:`~mechopt.auction.combine_bids`)."""
    return _grant(greedy_order(auction, exclude), auction)


def greedy_allocation(auction: CombinatorialAuction) -> Allocation:
    """The LOS greedy allocation (no solver involved)."""
    return Allocation(auction, greedy_bids(auction), "greedy", None)


def critical_payments(allocation: Allocation) -> dict[str, float]:
    """LOS critical payment of every bidder (0 for losers); see the module docstring."""
    auction = allocation.auction
    payments = {b: 0.0 for b in auction.bidder_ids}
    for winner, won in allocation.bids.items():
        without = greedy_order(auction, exclude=frozenset({winner}))
        parts = []
        for bid in won.components:
            reserve = auction.reserve_of(bid.items)
            critical = reserve
            sold: set[str] = set()
            granted: set[str] = set()
            for bidder_id, other in without:
                if not sold.isdisjoint(other.items):
                    continue
                if bidder_id in granted and not auction.bidder(bidder_id).is_or:
                    continue
                granted.add(bidder_id)
                sold |= other.items
                if not other.items.isdisjoint(bid.items):
                    critical = reserve + math.sqrt(len(bid.items)) * score(
                        other, auction.reserve_of(other.items)
                    )
                    break
            parts.append(critical)
        payments[winner] = math.fsum(parts)
    return payments


def run_greedy(auction: CombinatorialAuction) -> Outcome:
    """Greedy allocation with critical payments."""
    start = time.perf_counter()
    allocation = greedy_allocation(auction)
    payments = critical_payments(allocation)
    notes: tuple[str, ...] = ()
    multi = [b.id for b in auction.bidders if not b.is_single_minded]
    if multi:
        notes = (
            f"{len(multi)} bidder(s) submitted several bids: critical payments are truthful "
            "only for single-minded bidders",
        )
    return Outcome(
        allocation=allocation,
        payments=payments,
        payment_rule="critical",
        status=SolveStatus.OPTIMAL,
        seconds=time.perf_counter() - start,
        notes=notes,
    )
