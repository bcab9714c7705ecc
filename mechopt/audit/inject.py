"""False-name splits: a bidder replaces a bundle bid by sub-bundle bids under new names.

Used to test the audit (Theorem 1 of Matsuo, Ito, Shintani) and to measure it on injected
manipulations (:mod:`mechopt.benchmarks.audit`).  The pattern is E1 of Yokoo, Sakurai,
Matsubara (GEB 46, 2004; docs/shill-audit.md#false-name-examples): a bundle S with value v is split into parts
S_1 … S_r, each bid by a new name.

The schemer's utility is measured with its *true* valuation: the XOR value of the union of
the bundles its names win, minus the sum of their VCG payments.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mechopt.auction import Bid, Bidder, CombinatorialAuction
from mechopt.audit.economies import SolveSettings, welfare_tolerance
from mechopt.errors import InputError
from mechopt.mechanisms.vcg import marginal_welfare, vcg_payments
from mechopt.mechanisms.wdp import solve_wdp

__all__ = [
    "split_bidder",
    "schemer_utility",
    "InjectedSplit",
    "find_profitable_split",
    "SPLIT_PRICINGS",
]

#: how the names price their parts: ``full`` — every name bids the whole bundle's value v
#: (the E1 pattern); ``proportional`` — name j bids v·|S_j|/|S|
SPLIT_PRICINGS = ("full", "proportional")


def split_bidder(
    auction: CombinatorialAuction,
    schemer: str,
    parts: Sequence[Iterable[str]],
    values: Sequence[float],
    names: Sequence[str] | None = None,
) -> tuple[CombinatorialAuction, tuple[str, ...]]:
    """``auction`` with bidder ``schemer`` replaced by one single-minded name per part.

    Name k bids ``(parts[k], values[k])``.  Default names are ``<schemer>~1``, ``<schemer>~2``
    … (made unique).  Returns the new auction and the names, which take the schemer's place in
    the bidder order.
    """
    auction.bidder(schemer)
    if len(parts) != len(values):
        raise InputError("split_bidder: one value per part is needed")
    taken = set(auction.bidder_ids)
    bid_ids = {bid.id for _, bid in auction.iter_bids()}
    if names is None:
        chosen: list[str] = []
        for k in range(1, len(parts) + 1):
            name = f"{schemer}~{k}"
            while name in taken:
                name += "'"
            chosen.append(name)
            taken.add(name)
        names = chosen
    names = tuple(str(n) for n in names)
    if len(names) != len(parts):
        raise InputError("split_bidder: one name per part is needed")
    new_bidders = []
    for name, part, value in zip(names, parts, values, strict=True):
        bid_id = f"{name}/0"
        while bid_id in bid_ids:
            bid_id += "'"
        bid_ids.add(bid_id)
        new_bidders.append(Bidder(name, (Bid(bid_id, tuple(part), value),)))  # type: ignore[arg-type]  # Bid makes it a frozenset
    bidders: list[Bidder] = []
    for bidder in auction.bidders:
        if bidder.id == schemer:
            bidders.extend(new_bidders)
        else:
            bidders.append(bidder)
    return CombinatorialAuction(auction.items, tuple(bidders), name=auction.name, reserves=auction.reserves), names


def schemer_utility(
    original: CombinatorialAuction,
    schemer: str,
    names: Iterable[str],
    bids: Mapping[str, Bid],
    payments: Mapping[str, float],
) -> float:
    """True utility of ``schemer`` bidding through ``names``: its valuation (in
    ``original``) of everything its names win (``bids``: winner -> accepted bid) minus what
    they pay (``payments``; e.g. ``outcome.allocation.bids``, ``outcome.payments``)."""
    names = list(names)
    won: set[str] = set()
    for name in names:
        bid = bids.get(name)
        if bid is not None:
            won |= bid.items
    paid = math.fsum(payments.get(name, 0.0) for name in names)
    return original.value(schemer, won) - paid


@dataclass(frozen=True)
class InjectedSplit:
    """A profitable false-name split found by :func:`find_profitable_split`.

    ``auction`` is the manipulated auction; ``winning_names`` are the names that win in it
    (at least two: by Theorem 1 a split whose names do not win cannot pay);
    ``truthful_revenue`` is the VCG revenue of ``original``.
    """

    original: CombinatorialAuction
    auction: CombinatorialAuction
    schemer: str
    names: tuple[str, ...]
    winning_names: tuple[str, ...]
    pricing: str
    truthful_utility: float
    split_utility: float
    truthful_revenue: float


def _names_outcome(
    auction: CombinatorialAuction, names: Sequence[str], settings: SolveSettings
) -> tuple[dict[str, Bid], dict[str, float]] | None:
    """Optimal allocation of ``auction`` and the Clarke payments of the winning ``names``
    (p = W_{-n} − (W − b_n)); None unless every solve is proven optimal."""
    allocation = solve_wdp(
        auction, solver=settings.solver, time_limit=settings.time_limit, threads=settings.threads
    )
    if not allocation.is_optimal:
        return None
    payments: dict[str, float] = {}
    for name in names:
        if name not in allocation.bids:
            continue
        w_minus, solve = marginal_welfare(
            auction, name, settings.solver, settings.time_limit, 0.0, settings.threads
        )
        if not solve.is_optimal:
            return None
        payments[name] = max(w_minus - allocation.welfare_without(name), 0.0)
    return dict(allocation.bids), payments


def _random_partition(rng: np.random.Generator, items: Sequence[str], r: int) -> list[list[str]]:
    order = list(rng.permutation(sorted(items)))
    cuts = sorted(rng.choice(np.arange(1, len(order)), size=r - 1, replace=False).tolist())
    bounds = [0, *cuts, len(order)]
    return [order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def find_profitable_split(
    auction: CombinatorialAuction,
    seed: int,
    settings: SolveSettings | None = None,
    max_schemers: int = 5,
) -> InjectedSplit | None:
    """Search for a false-name split that raises a bidder's VCG utility (a picklable task).

    Up to ``max_schemers`` bidders with a bid on ≥ 2 items are tried in random order.  For
    each, the bundle it wins (else its most valuable bid on ≥ 2 items) is split at random into
    2 and, when it has ≥ 3 items, 3 parts, each priced by every rule of
    :data:`SPLIT_PRICINGS`.  The most profitable candidate of the first schemer with a
    profitable one is returned (strictly more utility than truthful bidding); None if no
    candidate pays.  Only proven optimal solves count.
    """
    settings = settings or SolveSettings()
    rng = np.random.default_rng(seed)
    truthful = solve_wdp(
        auction, solver=settings.solver, time_limit=settings.time_limit, threads=settings.threads
    )
    if not truthful.is_optimal:
        return None
    tol = welfare_tolerance(truthful.welfare)
    candidates = [b.id for b in auction.bidders if any(bid.size >= 2 for bid in b.bids)]
    order = [candidates[k] for k in rng.permutation(len(candidates))][:max_schemers]
    for schemer in order:
        w_minus, solve = marginal_welfare(
            auction, schemer, settings.solver, settings.time_limit, 0.0, settings.threads
        )
        if not solve.is_optimal:
            continue
        truthful_utility = max(truthful.welfare - w_minus, 0.0)
        won: Any = truthful.bids.get(schemer)  # a Bid here, the split's winning bids below
        if won is not None and won.size >= 2:
            target = won
        else:
            target = max((b for b in auction.bidder(schemer).bids if b.size >= 2), key=lambda b: b.value)
        best: tuple[float, CombinatorialAuction, tuple[str, ...], str, dict[str, Bid]] | None = None
        for r in (2, 3):
            if target.size < r:
                continue
            parts = _random_partition(rng, sorted(target.items), r)
            for pricing in SPLIT_PRICINGS:
                if pricing == "full":
                    values = [target.value] * r
                else:
                    values = [target.value * len(p) / target.size for p in parts]
                split, names = split_bidder(auction, schemer, parts, values)
                result = _names_outcome(split, names, settings)
                if result is None:
                    continue
                won, payments = result
                utility = schemer_utility(auction, schemer, names, won, payments)
                if utility > truthful_utility + tol and (best is None or utility > best[0]):
                    best = (utility, split, names, pricing, won)
        if best is not None:
            utility, split, names, pricing, won = best
            truthful_vcg = vcg_payments(
                truthful, solver=settings.solver, time_limit=settings.time_limit,
                threads=settings.threads,
            )
            if not truthful_vcg.is_optimal:
                continue
            return InjectedSplit(
                original=auction,
                auction=split,
                schemer=schemer,
                names=names,
                winning_names=tuple(n for n in names if n in won),
                pricing=pricing,
                truthful_utility=truthful_utility,
                split_utility=utility,
                truthful_revenue=truthful_vcg.revenue,
            )
    return None
