"""Winner determination for XOR and OR bids as a Pyomo MILP (docs/auctions.md#winner-determination).

    max  Σ_{(i,k)} ((b_ik − r(S_ik)) / s) x_ik + Σ_g r_g / s           (welfare / s)
    s.t. Σ_{(i,k): g ∈ S_ik} x_ik ≤ 1     for every item g            (item_capacity)
         Σ_k x_ik ≤ 1                     for every XOR bidder i      (one_bid_per_bidder)
         x_ik ∈ {0, 1}

OR bidders get no ``one_bid_per_bidder`` row.  ``r_g`` is the reserve price of item g (0
without reserves): the seller's own OR bid on g, which keeps the item when no accepted bid
covers it (docs/auctions.md#reserve-prices).

This is the set-packing formulation of Sandholm (AIJ 2002) and Lehmann, Müller, Sandholm
("The winner determination problem", Combinatorial Auctions, ch. 12).

The scale ``s`` (``model.objective_scale``, :func:`objective_scale`) is a power of two near
the largest bid value: HiGHS' tolerances are absolute (primal/dual feasibility 1e-7, MIP
feasibility 1e-6), so an objective of values around 1e-8 would be "optimal" at any
allocation, and one around 1e20 would never be proven optimal.  Dividing by a power of two
is exact in binary floating point, so the solver sees the same numbers whatever the unit of
the values; :func:`unscale_result` turns the solver's objective and bound back into welfare.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import pyomo.environ as pyo

from mechopt.auction import Bid, CombinatorialAuction, check_value_range, combine_bids, id_list
from mechopt.errors import InputError
from mechopt.solve import SolveResult

__all__ = [
    "build_wdp_model", "read_wdp_allocation", "checked_allocation", "objective_scale", "unscale_result",
]


def objective_scale(auction: CombinatorialAuction) -> float:
    """The power of two ``s`` with largest value / s in [1, 2) (1 when every value is 0).

    Taken over the whole auction, so that every economy of an auction (VCG's marginal
    economies, an audit's) is solved at the same scale.  Raises
    :class:`~mechopt.auction.ValueRangeError` for values outside the range mechopt
    guarantees (:func:`~mechopt.auction.check_value_range`).
    """
    high = check_value_range(auction)
    return math.ldexp(1.0, math.frexp(high)[1] - 1) if high > 0 else 1.0


def unscale_result(result: SolveResult, scale: float) -> SolveResult:
    """``result`` of a model whose objective was divided by ``scale``, in the original unit."""
    def back(x: float | None) -> float | None:
        return None if x is None else x * scale

    return replace(result, objective=back(result.objective), bound=back(result.bound))


def build_wdp_model(
    auction: CombinatorialAuction, exclude: Iterable[str] = (), must_win: Iterable[str] = ()
) -> pyo.ConcreteModel:
    """Build (do not solve) the winner-determination MILP of ``auction``.

    ``exclude`` names bidders left out, as in the marginal economies of VCG; ``must_win``
    names bidders forced to win one of their bids (constraint ``must_win_one``). Components:
    ``ITEMS``, ``BIDDERS``, ``BIDS`` (sets), ``value`` (param), ``x`` (binary var indexed by
    bid id), ``item_capacity``, ``one_bid_per_bidder`` (constraints), ``welfare`` (objective:
    Σ value·x / ``objective_scale``, a param; see the module docstring and
    :func:`unscale_result`).  ``value`` holds the exact bid values.  The model also carries ``model.auction`` and ``model.bid_owner`` (bid id -> bidder id) so
    that :func:`read_wdp_allocation` can read a solution back.

    Items no bid names get no capacity row; bidders with a single bid get no XOR row (both
    rows would be redundant).  Values outside the guaranteed range raise
    :class:`~mechopt.auction.ValueRangeError` (:func:`objective_scale`).
    """
    scale = objective_scale(auction)
    excluded = set(id_list("exclude", exclude))
    required = id_list("must_win", must_win)
    for b in (*excluded, *required):
        auction.bidder(b)  # unknown id -> AuctionError
    if excluded.intersection(required):
        raise InputError(f"bidder {sorted(excluded.intersection(required))[0]!r} is both excluded and required to win")
    bids: dict[str, Bid] = {}
    owner: dict[str, str] = {}
    for bidder, bid in auction.iter_bids():
        if bidder.id in excluded:
            continue
        bids[bid.id] = bid
        owner[bid.id] = bidder.id
    bidders = [b.id for b in auction.bidders if b.id not in excluded]
    bids_of_bidder: dict[str, list[str]] = {b: [] for b in bidders}
    for bid_id, bidder_id in owner.items():
        bids_of_bidder[bidder_id].append(bid_id)
    bids_on_item: dict[str, list[str]] = {g: [] for g in auction.items}
    for bid_id, bid in bids.items():
        for g in bid.items:
            bids_on_item[g].append(bid_id)

    m = pyo.ConcreteModel(name=f"WDP {auction.name or ''}".strip())
    m.auction = auction
    m.bid_owner = owner
    m.ITEMS = pyo.Set(initialize=list(auction.items), ordered=True, doc="Items for sale")
    m.BIDDERS = pyo.Set(initialize=bidders, ordered=True, doc="Bidders taking part")
    m.BIDS = pyo.Set(initialize=list(bids), ordered=True, doc="XOR bids, by bid id")
    m.value = pyo.Param(
        m.BIDS, initialize={k: b.value for k, b in bids.items()}, doc="Reported value b_ik of each bid"
    )
    m.reserve = pyo.Param(
        m.BIDS, initialize={k: auction.reserve_of(b.items) for k, b in bids.items()},
        doc="Sum r(S_ik) of the reserve prices of the bid's items",
    )
    m.objective_scale = pyo.Param(
        initialize=scale,
        doc="Power of two near the largest value; the objective is welfare / objective_scale",
    )
    m.x = pyo.Var(m.BIDS, domain=pyo.Binary, doc="1 if the bid is accepted")

    def item_capacity(model: Any, g: str) -> Any:
        if not bids_on_item[g]:
            return pyo.Constraint.Skip
        return sum(model.x[k] for k in bids_on_item[g]) <= 1

    m.item_capacity = pyo.Constraint(
        m.ITEMS, rule=item_capacity, doc="Each item is sold at most once"
    )

    def one_bid_per_bidder(model: Any, i: str) -> Any:
        if len(bids_of_bidder[i]) < 2 or auction.bidder(i).is_or:
            return pyo.Constraint.Skip
        return sum(model.x[k] for k in bids_of_bidder[i]) <= 1

    m.one_bid_per_bidder = pyo.Constraint(
        m.BIDDERS, rule=one_bid_per_bidder, doc="XOR: each bidder wins at most one of its bids"
    )
    m.MUST_WIN = pyo.Set(initialize=required, ordered=True, doc="Bidders forced to win a bid")
    m.must_win_one = pyo.Constraint(
        m.MUST_WIN,
        rule=lambda model, i: (
            sum(model.x[k] for k in bids_of_bidder[i]) >= 1
            if auction.bidder(i).is_or
            else sum(model.x[k] for k in bids_of_bidder[i]) == 1
        ),
        doc="Each bidder in MUST_WIN wins one of its bids (an OR bidder: at least one)",
    )
    kept = math.fsum(price for _, price in auction.reserves)  # the seller's, if nothing sells
    m.welfare = pyo.Objective(
        expr=sum(
            (m.value[k] - m.reserve[k]) / m.objective_scale * m.x[k]
            if auction.reserves
            else m.value[k] / m.objective_scale * m.x[k]
            for k in m.BIDS
        )
        + kept / scale,
        sense=pyo.maximize,
        doc="Reported social welfare divided by objective_scale",
    )
    return m


def read_wdp_allocation(model: pyo.ConcreteModel) -> Mapping[str, Bid]:
    """The accepted bid of each winning bidder in a solved WDP model.

    Values are rounded to 0/1 and checked by :func:`checked_allocation`.
    """
    auction: CombinatorialAuction = model.auction
    owner: Mapping[str, str] = model.bid_owner
    bids = {bid.id: bid for _, bid in auction.iter_bids()}
    accepted = []
    for bid_id in model.BIDS:
        val = model.x[bid_id].value
        if val is not None and val >= 0.5:
            accepted.append((owner[bid_id], bids[bid_id]))
    return checked_allocation(auction, accepted)


def checked_allocation(
    auction: CombinatorialAuction, accepted: Iterable[tuple[str, Bid]]
) -> Mapping[str, Bid]:
    """The accepted ``(bidder id, bid)`` pairs of a solve as one bid per winner.

    The allocation is checked (each item sold at most once, one bid per XOR bidder) so that
    a solver tolerance can never produce an infeasible allocation silently (``ValueError``).
    The accepted bids of an OR bidder are combined into one
    (:func:`~mechopt.auction.combine_bids`; ``Bid.components`` lists them).
    """
    chosen: dict[str, list[Bid]] = {}
    sold: dict[str, str] = {}
    for bidder_id, bid in accepted:
        bidder = auction.bidder(bidder_id)
        if bidder_id in chosen and not bidder.is_or:
            raise ValueError(f"solver accepted two bids of bidder {bidder_id!r}")
        for g in bid.items:
            if g in sold:
                raise ValueError(f"solver sold item {g!r} twice (bids {sold[g]!r}, {bid.id!r})")
            sold[g] = bid.id
        chosen.setdefault(bidder_id, []).append(bid)
    return {b: combine_bids(bids) for b, bids in chosen.items()}
