"""Typed results of an auction: who wins what, who pays what, and how sure we are."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mechopt.auction import Bid, CombinatorialAuction
from mechopt.solve import SolveResult, SolveStatus

__all__ = ["Allocation", "Outcome"]


def exact_sum(values: Iterable[float]) -> float:
    """Correctly rounded float sum (``math.fsum``): welfare is summed from bid values, never
    read from a solver's objective, so payments are exact to the last cent."""
    return math.fsum(values)


@dataclass(frozen=True)
class Allocation:
    """The accepted bid of every winning bidder and how it was found.

    ``welfare`` is the exact sum of the accepted bids' values.  ``solve`` is the solver's
    report (None for allocations computed without a solver, such as the greedy rule).
    """

    auction: CombinatorialAuction
    bids: Mapping[str, Bid]
    rule: str
    solve: SolveResult | None = None
    excluded: frozenset[str] = frozenset()

    @property
    def welfare(self) -> float:
        """Exact sum of the accepted values, plus the seller's reserve value of unsold items."""
        return self.auction.welfare_of(self.bids.values())

    @property
    def winners(self) -> tuple[str, ...]:
        """Winning bidder ids in the auction's bidder order."""
        return tuple(b for b in self.auction.bidder_ids if b in self.bids)

    @property
    def status(self) -> SolveStatus:
        return self.solve.status if self.solve is not None else SolveStatus.OPTIMAL

    @property
    def is_optimal(self) -> bool:
        """True when the allocation is proven optimal for its rule (always for greedy)."""
        return self.status.is_optimal

    def value_of(self, bidder_id: str) -> float:
        bid = self.bids.get(bidder_id)
        return bid.value if bid is not None else 0.0

    def welfare_without(self, bidder_id: str) -> float:
        """Welfare of everybody but ``bidder_id`` under this allocation: the other winners'
        values plus the seller's reserve value of the items nobody wins (not of ``bidder_id``'s
        items: the allocation gives those to ``bidder_id``)."""
        unsold = self.welfare - exact_sum(b.value for b in self.bids.values())
        others = [b.value for i, b in self.bids.items() if i != bidder_id]
        return exact_sum([*others, unsold]) if self.auction.reserves else exact_sum(others)


@dataclass(frozen=True)
class Outcome:
    """Allocation plus payments: the result of running a mechanism on an auction.

    ``payments`` has an entry for every bidder (0 for those who pay nothing); it is empty
    when no payment rule was applied.  ``status`` is the least favourable status among all
    solves that went into the outcome (main problem and marginal economies): an outcome is
    ``is_optimal`` only when every one of them is proven optimal.
    """

    allocation: Allocation
    payments: Mapping[str, float]
    payment_rule: str
    status: SolveStatus
    seconds: float
    marginal_solves: Mapping[str, SolveResult] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    details: Mapping[str, object] = field(default_factory=dict)
    """Rule-specific facts added to :meth:`to_dict` (core payments: ``{"core": {...}}``)."""

    @property
    def auction(self) -> CombinatorialAuction:
        return self.allocation.auction

    @property
    def rule(self) -> str:
        return self.allocation.rule

    @property
    def welfare(self) -> float:
        return self.allocation.welfare

    @property
    def revenue(self) -> float:
        return exact_sum(self.payments.values())

    @property
    def winners(self) -> tuple[str, ...]:
        return self.allocation.winners

    @property
    def is_optimal(self) -> bool:
        return self.status.is_optimal

    @property
    def status_label(self) -> str:
        """``optimal`` when every MILP behind the outcome is proven optimal; ``exact`` for an
        outcome computed without any MILP (greedy rule, critical payments); otherwise the
        least favourable solver status, e.g. ``feasible (not proven optimal)``."""
        if self.status.is_optimal and self.allocation.solve is None and not self.marginal_solves:
            return "exact"
        return self.status.value

    @property
    def utilities(self) -> dict[str, float]:
        """Quasi-linear utility of every bidder with respect to its reported values."""
        return {
            b: self.allocation.value_of(b) - self.payments.get(b, 0.0)
            for b in self.auction.bidder_ids
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the keys of ``mechopt solve --json``)."""
        alloc = {
            bidder: {"bid": bid.id, "items": self.auction.ordered(bid.items), "value": bid.value}
            for bidder, bid in ((w, self.allocation.bids[w]) for w in self.winners)
        }
        solve = self.allocation.solve
        return {
            "auction": self.auction.name,
            "rule": self.rule,
            "payment_rule": self.payment_rule,
            "status": self.status_label,
            "proven_optimal": self.is_optimal,
            "welfare": self.welfare,
            "welfare_bound": solve.bound if solve is not None else None,
            "revenue": self.revenue if self.payments else None,
            "allocation": alloc,
            "payments": dict(self.payments),
            "utilities": self.utilities if self.payments else {},
            "seconds": self.seconds,
            "notes": list(self.notes),
            **self.details,
        }
