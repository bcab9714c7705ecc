"""The winner-determination MILP of :mod:`mechopt.formulations.wdp`, built directly in highspy.

It passes HiGHS exactly the MILP that Pyomo's persistent HiGHS interface passes for
:func:`build_wdp_model` — same rows, same columns in the same order
(:func:`~mechopt.formulations.wdp_matrix.wdp_matrix`), same bounds, objective (reserve prices
included) and sense — so the two solves do the same work and reach the same allocation.
It is the reference of ``mechopt bench wdp`` (any difference in wall time is
modelling-layer overhead) and the kept model that HiGHS re-solves for every economy of an
auction (:class:`mechopt.mechanisms.resolve.HighsEconomySolver`).  ``tests/test_wdp_highspy.py`` checks the two LPs are
identical.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import highspy
import numpy as np

from mechopt.auction import Bid, CombinatorialAuction
from mechopt.formulations.wdp import checked_allocation
from mechopt.formulations.wdp_matrix import WdpMatrix, wdp_matrix
from mechopt.quiet import quiet_highs

__all__ = ["build_wdp_highspy", "highspy_wdp", "read_highspy_allocation"]


def build_wdp_highspy(
    auction: CombinatorialAuction, exclude: Iterable[str] = ()
) -> tuple[highspy.Highs, list[tuple[str, Bid]]]:
    """Build (do not solve) the WDP in a fresh ``highspy.Highs``; returns it and the
    (bidder id, bid) of every column."""
    m = wdp_matrix(auction, exclude)
    return highspy_wdp(m), m.columns


def highspy_wdp(m: WdpMatrix, relax: bool = False) -> highspy.Highs:
    """A fresh ``highspy.Highs`` holding the MILP ``m`` (``relax``: its LP relaxation)."""
    lp = highspy.HighsLp()
    n = len(m.columns)
    lp.num_col_ = n
    lp.num_row_ = len(m.rows)
    lp.col_cost_ = np.array(m.cost, dtype=float)
    lp.offset_ = m.offset
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = np.full(len(m.rows), -highspy.kHighsInf)
    lp.row_upper_ = np.ones(len(m.rows))
    kind = highspy.HighsVarType.kContinuous if relax else highspy.HighsVarType.kInteger
    lp.integrality_ = [kind] * n
    lp.sense_ = highspy.ObjSense.kMaximize
    # column-wise matrix
    entries: list[list[int]] = [[] for _ in range(n)]
    for r, js in enumerate(m.rows):
        for j in js:
            entries[j].append(r)
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
    return h


def read_highspy_allocation(
    h: highspy.Highs, columns: list[tuple[str, Bid]], auction: CombinatorialAuction
) -> Mapping[str, Bid]:
    """The accepted bid of each winner of ``auction`` after ``h.run()`` (checked, OR bids
    combined: :func:`~mechopt.formulations.wdp.checked_allocation`)."""
    x = h.getSolution().col_value
    return checked_allocation(auction, [col for col, v in zip(columns, x, strict=True) if v > 0.5])


def start_misreported(h: highspy.Highs, rtol: float = 1e-7) -> bool:
    """Whether ``h``'s last MILP, solved from a start (``setSolution``), returned column
    values whose objective is not the reported ``objective_function_value``.

    HiGHS 1.16 does this when its presolve maps the start to a better solution of the reduced
    problem and that solution stays the incumbent: the objective is the better solution's, the
    column values are the start's (a matching-CATS economy reproduces it:
    ``tests/test_resolve.py``).  The caller then solves again without the start.
    """
    info = h.getInfo()
    if info.primal_solution_status != 2:  # no solution: nothing to compare
        return False
    lp = h.getLp()
    x = np.asarray(h.getSolution().col_value)
    value = float(np.dot(np.asarray(lp.col_cost_), x)) + lp.offset_
    reported = info.objective_function_value
    return abs(value - reported) > rtol * max(abs(value), abs(reported), 1e-300)

