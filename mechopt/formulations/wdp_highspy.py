"""The winner-determination MILP of :mod:`mechopt.formulations.wdp`, built directly in highspy.

It passes HiGHS exactly the MILP that Pyomo's persistent HiGHS interface passes for
:func:`build_wdp_model` — same rows, same columns in the same order (columns numbered by
first appearance in the rows, as Pyomo adds them), same bounds, objective (reserve prices
included) and sense — so the two solves do the same work and reach the same allocation.
It is the reference of ``mechopt bench wdp`` (any difference in wall time is
modelling-layer overhead) and the kept model that HiGHS re-solves for every economy of an
auction (:class:`mechopt.mechanisms.resolve.HighsEconomySolver`).  ``tests/test_wdp_highspy.py`` checks the two LPs are
identical.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import highspy
import numpy as np

from mechopt.auction import Bid, CombinatorialAuction, id_list
from mechopt.formulations.wdp import checked_allocation, objective_scale
from mechopt.quiet import quiet_highs

__all__ = ["build_wdp_highspy", "read_highspy_allocation", "wdp_columns_and_rows"]


def wdp_columns_and_rows(
    auction: CombinatorialAuction, exclude: Iterable[str] = ()
) -> tuple[list[tuple[str, Bid]], list[list[int]]]:
    """The WDP's columns, (bidder id, bid) of every bid of a bidder not in ``exclude``, and
    its rows as lists of column indices: one per item some bid names, then one per XOR bidder
    with two or more bids (the rows of :func:`mechopt.formulations.wdp.build_wdp_model`,
    each with right-hand side 1; an OR bidder may win several bids, so it gets no row)."""
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


def build_wdp_highspy(
    auction: CombinatorialAuction, exclude: Iterable[str] = ()
) -> tuple[highspy.Highs, list[tuple[str, Bid]]]:
    """Build (do not solve) the WDP in a fresh ``highspy.Highs``; returns it and the
    (bidder id, bid) of every column."""
    bids, rows = wdp_columns_and_rows(auction, exclude)

    # Pyomo numbers columns in order of first appearance in the constraints, then objective
    column_of: dict[int, int] = {}
    for ks in rows:
        for k in ks:
            column_of.setdefault(k, len(column_of))
    for k in range(len(bids)):
        column_of.setdefault(k, len(column_of))
    order = sorted(column_of, key=column_of.__getitem__)

    lp = highspy.HighsLp()
    n = len(bids)
    lp.num_col_ = n
    lp.num_row_ = len(rows)
    scale = objective_scale(auction)  # the same power of two as build_wdp_model
    # with reserve prices, a bid earns its value minus its items' reserves and the seller
    # keeps every reserve when nothing sells (the objective of build_wdp_model)
    net = [bids[k][1].value - (auction.reserve_of(bids[k][1].items) if auction.reserves else 0.0)
           for k in order]
    lp.col_cost_ = np.array([v / scale for v in net], dtype=float)
    lp.offset_ = math.fsum(price for _, price in auction.reserves) / scale
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = np.full(len(rows), -highspy.kHighsInf)
    lp.row_upper_ = np.ones(len(rows))
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    lp.sense_ = highspy.ObjSense.kMaximize
    # column-wise matrix
    entries: list[list[int]] = [[] for _ in range(n)]
    for r, ks in enumerate(rows):
        for k in ks:
            entries[column_of[k]].append(r)
    start = [0]
    index: list[int] = []
    for col_rows in entries:
        index.extend(sorted(col_rows))
        start.append(len(index))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.array(start, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.ones(len(index))
    quiet_highs()  # the first Highs() of a process prints a banner before options apply
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    return h, [bids[k] for k in order]


def read_highspy_allocation(
    h: highspy.Highs, columns: list[tuple[str, Bid]], auction: CombinatorialAuction
) -> Mapping[str, Bid]:
    """The accepted bid of each winner of ``auction`` after ``h.run()`` (checked, OR bids
    combined: :func:`~mechopt.formulations.wdp.checked_allocation`)."""
    x = h.getSolution().col_value
    return checked_allocation(auction, [col for col, v in zip(columns, x, strict=True) if v > 0.5])
