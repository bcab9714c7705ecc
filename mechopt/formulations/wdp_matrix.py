"""The winner-determination MILP of :mod:`mechopt.formulations.wdp` as plain arrays.

The solvers' own APIs (highspy, gurobipy, cplex) take a MILP as columns, costs and rows;
:func:`wdp_matrix` gives them exactly the MILP that :func:`~mechopt.formulations.wdp.build_wdp_model`
states in Pyomo:

    max  Σ_j c_j x_j + offset      s.t.  Σ_{j ∈ row} x_j ≤ 1 for every row,  x_j ∈ {0, 1}

with ``c_j = (b_j − r(S_j)) / s`` (the bid's value minus its items' reserve prices, divided by
the auction's :func:`~mechopt.formulations.wdp.objective_scale` ``s``), ``offset = Σ_g r_g / s``,
one row per item some bid names and one per XOR bidder with two or more bids.  Columns are
numbered in order of first appearance in the rows (then the bids in no row), the order in
which Pyomo's interfaces add them, so that a solver sees the same column order whichever way
the model reaches it (with tied optima the order can decide which optimum is returned).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from mechopt.auction import Bid, CombinatorialAuction, id_list
from mechopt.formulations.wdp import objective_scale

__all__ = ["WdpMatrix", "wdp_columns_and_rows", "wdp_matrix"]


def wdp_columns_and_rows(
    auction: CombinatorialAuction, exclude: Iterable[str] = ()
) -> tuple[list[tuple[str, Bid]], list[list[int]]]:
    """The WDP's columns, (bidder id, bid) of every bid of a bidder not in ``exclude`` in the
    auction's order, and its rows as lists of column indices: one per item some bid names,
    then one per XOR bidder with two or more bids (each with right-hand side 1; an OR bidder
    may win several bids, so it gets no row)."""
    excluded = set(id_list("exclude", exclude))
    bids = [(bidder.id, bid) for bidder, bid in auction.iter_bids() if bidder.id not in excluded]
    on_item: dict[str, list[int]] = {g: [] for g in auction.items}
    of_bidder: dict[str, list[int]] = {}
    for k, (bidder_id, bid) in enumerate(bids):
        for g in bid.items:
            on_item[g].append(k)
        of_bidder.setdefault(bidder_id, []).append(k)
    rows = [ks for ks in on_item.values() if ks]
    rows += [ks for b, ks in of_bidder.items() if len(ks) > 1 and not auction.bidder(b).is_or]
    return bids, rows


@dataclass(frozen=True)
class WdpMatrix:
    """The WDP as arrays, columns in the order Pyomo adds them (see the module docstring).

    ``columns[j]`` is the (bidder id, bid) of column ``j``, ``cost[j]`` its objective
    coefficient, ``rows`` the column indices of each ``≤ 1`` row, ``offset`` the objective's
    constant and ``scale`` the divisor of every value (welfare = objective · scale).
    """

    columns: list[tuple[str, Bid]]
    cost: list[float]
    rows: list[list[int]]
    offset: float
    scale: float


def wdp_matrix(
    auction: CombinatorialAuction, exclude: Iterable[str] = (), order: str = "rows"
) -> WdpMatrix:
    """The WDP of ``auction`` without the bidders in ``exclude``, as :class:`WdpMatrix`.

    ``order`` numbers the columns as a Pyomo interface adds them: ``"rows"``, by first
    appearance in the rows (``pyomo.contrib.solver``'s HiGHS interface), or ``"bids"``, in
    the auction's order of bids (the model's variable order: Pyomo's CPLEX interfaces)."""
    if order not in ("rows", "bids"):
        raise ValueError(f"unknown column order {order!r}")
    bids, rows = wdp_columns_and_rows(auction, exclude)
    column_of: dict[int, int] = {}
    for ks in rows if order == "rows" else ():
        for k in ks:
            column_of.setdefault(k, len(column_of))
    for k in range(len(bids)):
        column_of.setdefault(k, len(column_of))
    numbered = sorted(column_of, key=column_of.__getitem__)
    scale = objective_scale(auction)  # the same power of two as build_wdp_model
    # with reserve prices a bid earns its value minus its items' reserves, and the seller
    # keeps every reserve when nothing sells (the objective of build_wdp_model)
    net = [bids[k][1].value - (auction.reserve_of(bids[k][1].items) if auction.reserves else 0.0)
           for k in numbered]
    return WdpMatrix(
        columns=[bids[k] for k in numbered],
        cost=[v / scale for v in net],
        rows=[[column_of[k] for k in ks] for ks in rows],
        offset=math.fsum(price for _, price in auction.reserves) / scale,
        scale=scale,
    )
