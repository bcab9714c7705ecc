"""The core separation MILP of :func:`mechopt.formulations.core.build_separation_model` in highspy.

:func:`mechopt.mechanisms.core.core_payments` solves a sequence of separation MILPs that
differ only in the winners' objective coefficients.  With HiGHS it solves them on this
persistent ``highspy.Highs`` (same rows and columns as the Pyomo model: the WDP rows of
:func:`~mechopt.formulations.wdp_matrix.wdp_columns_and_rows`, one binary ``y_i`` and rows
``x_ik ≤ y_i`` per OR winner), which lets it

- change only the winners' costs between solves (no Pyomo model walk, no log capture);
- read every solution HiGHS met on the way (callback ``cbMipSolution``: heuristics' and
  branch and bound's), each a coalition that may block and so give a core constraint;
- set HiGHS options (:data:`SEPARATION_OPTIONS`) and a MIP start (Pyomo's contrib HiGHS
  interface has no MIP start).

``mip_improving_solution_save`` / ``getSavedMipSolutions`` give the improving solutions
only (3-7 per MILP on L4); the callback gives every solution (up to ~40 distinct), and
more of them block.

:class:`HighsPayments` holds the payment LP the same way (the nearest-point QP goes to
Clarabel, :mod:`mechopt.formulations.core_qp`: HiGHS' QP solver can die of a floating point exception on its thin
feasible set, see :mod:`mechopt.mechanisms.core`).
``tests/test_core.py`` checks it against the Pyomo model and against enumeration.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import numpy.typing as npt

from mechopt.auction import Bid, CombinatorialAuction, combine_bids
from mechopt.formulations.wdp import objective_scale
from mechopt.formulations.wdp_highspy import start_misreported
from mechopt.formulations.wdp_matrix import wdp_columns_and_rows
from mechopt.quiet import quiet_highs
from mechopt.solve import (
    NO_TIME_LIMIT,
    SolveStatus,
    Termination,
    highspy_termination,
    prepare_highs_threads,
)

__all__ = ["SeparationColumns", "HighsSeparation", "HighsPayments", "SeparationSolve", "SEPARATION_OPTIONS"]

#: HiGHS options of every separation MILP: gap 0, and no restart after root reductions
#: (HiGHS restarts these small set-packing MILPs once root fixings pass a share of the
#: columns and redoes the root's cuts and heuristics; off, a recorded sequence of L4's 16
#: separations took 3.9-4.1 s instead of 8.5-9.4 s, regions' 3 took 2.7 s instead of
#: 10.7-16.7 s; with one thread as well, 2.5-2.7 s and 2.2-2.4 s)
#: Without the sub-MIP heuristics (RINS, RENS, root reduced cost; as for the WDP,
#: :data:`mechopt.mechanisms.wdp.WDP_OPTIONS`) ``run_core`` took, mean of two alternating
#: runs: paths 3.24 → 2.19 s, L4 2.88 → 2.45 s, regions 3.29 → 2.46 s, matching 0.95 →
#: 1.08 s (one separation more: other heuristic solutions, other cuts); same payments.
#: A cut pool of at most 10 cuts (as for the WDP): ``core_payments`` from the VCG outcome,
#: two alternating runs each, L3 10.9 → 7.1 s, arbitrary 27.8 → 16.8 s, L7 0.88 → 0.77 s,
#: L4 1.1 → 0.9 s; regions 2.4 → 2.8 s, paths 0.57 → 0.65 s; L6, matching unchanged (same
#: separations and payments each time); the audit's core row after the exclusion remedy on
#: medium L4 3.4 → 2.4 s.
SEPARATION_OPTIONS: dict[str, float | bool] = {
    "mip_rel_gap": 0.0,
    "mip_abs_gap": 0.0,
    "mip_allow_restart": False,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_pool_soft_limit": 10,
}
#: threads of a separation MILP (and of the payment LP/QP) when the caller does not say
#: (HiGHS' automatic choice, 2 here, was slower on every medium CATS file: the MILPs are
#: too small to share)
SEPARATION_THREADS = 1

@dataclass
class SeparationSolve:
    """One separation solve: ``status``, ``objective`` the best coalition's value (value
    units: the Pyomo model's ``blocking`` × scale), ``coalitions`` the allocations of the
    solutions collected (see :meth:`HighsSeparation.solve`), the best one last."""

    status: SolveStatus
    objective: float | None
    seconds: float
    coalitions: list[dict[str, Bid]] = field(default_factory=list)


class SeparationColumns:
    """The separation MILP's columns and rows for the winners in ``winners`` (id -> v_i), as
    arrays, and reading a coalition back; :class:`HighsSeparation` (highspy) and
    :class:`~mechopt.formulations.core_gurobi.GurobiSeparation` (gurobipy) hold it in a
    persistent solver object.

    Columns: every bid (the WDP columns of
    :func:`~mechopt.formulations.wdp_matrix.wdp_columns_and_rows`, cost (value − reserve) / s),
    then one binary ``y_i`` per OR winner.  Rows: the WDP rows (≤ 1) and ``x_ik − y_i ≤ 0``
    for every bid k of an OR winner i.  A winner's surplus u_i lowers the cost of its bids
    (XOR) or of its ``y_i`` (OR) by u_i / s."""

    def __init__(self, auction: CombinatorialAuction, winners: Mapping[str, float]) -> None:
        bids, rows = wdp_columns_and_rows(auction)
        self.auction = auction
        self.scale = objective_scale(auction)
        self.bids = bids
        n = len(bids)
        or_winners = [w for w in auction.bidder_ids if w in winners and auction.bidder(w).is_or]
        self.y = {w: n + j for j, w in enumerate(or_winners)}
        self.n_columns = n + len(or_winners)
        reserves = bool(auction.reserves)
        self.base = np.array(
            [(bid.value - (auction.reserve_of(bid.items) if reserves else 0.0)) / self.scale for _, bid in bids]
            + [0.0] * len(or_winners)
        )
        self.offset = math.fsum(price for _, price in auction.reserves)
        #: columns whose cost drops by u_i / s: the bids of an XOR winner, the y of an OR one
        self.columns: dict[str, list[int]] = {w: [] for w in winners if w not in self.y}
        for k, (owner, _) in enumerate(bids):
            if owner in self.columns:
                self.columns[owner].append(k)
        for w, j in self.y.items():
            self.columns[w] = [j]
        self._changed = np.array(sorted(j for js in self.columns.values() for j in js), dtype=np.int32)
        #: (column indices, coefficients, upper bound) of every row
        self.rows: list[tuple[list[int], list[float], float]] = [(ks, [1.0] * len(ks), 1.0) for ks in rows]
        for k, (owner, _) in enumerate(bids):
            if owner in self.y:
                self.rows.append(([k, self.y[owner]], [1.0, -1.0], 0.0))

    def costs(self, surplus: Mapping[str, float]) -> npt.NDArray[np.float64]:
        """The objective with u_i = ``surplus[i]`` (value units) for every winner."""
        cost: npt.NDArray[np.float64] = self.base.copy()
        for w, js in self.columns.items():
            for j in js:
                cost[j] -= surplus[w] / self.scale
        return cost

    def start_vector(self, start: Collection[str]) -> list[float]:
        """The column values of the allocation that accepts the bids with ids in ``start``."""
        x = [1.0 if bid.id in start else 0.0 for _, bid in self.bids]
        joined = {owner for (owner, bid), v in zip(self.bids, x, strict=True) if v and owner in self.y}
        return x + [1.0 if w in joined else 0.0 for w in self.y]

    def set_surplus(self, surplus: Mapping[str, float]) -> None:
        """Set u_i = v_i − p_i (value units) for every winner."""
        raise NotImplementedError

    def solve(self, *, time_limit: float | None = None, threads: int | None = None,
              collect_above: float = math.inf, start: Collection[str] | None = None) -> SeparationSolve:
        """Solve at gap 0 (see :meth:`HighsSeparation.solve`)."""
        raise NotImplementedError

    def allocation(self, x: npt.NDArray[Any] | list[float]) -> dict[str, Bid]:
        """The allocation (bidder -> bid, OR bids combined) of a 0/1 column vector."""
        chosen: dict[str, list[Bid]] = {}
        sold: set[str] = set()
        for (owner, bid), v in zip(self.bids, x, strict=False):
            if v > 0.5:
                if bid.items & sold or (owner in chosen and not self.auction.bidder(owner).is_or):
                    raise ValueError(f"the solver returned an infeasible coalition (bid {bid.id!r})")
                sold |= bid.items
                chosen.setdefault(owner, []).append(bid)
        return {b: combine_bids(bs) for b, bs in chosen.items()}


class HighsSeparation(SeparationColumns):
    """The separation MILP for the winners in ``winners`` (id -> v_i), in a persistent Highs."""

    def __init__(self, auction: CombinatorialAuction, winners: Mapping[str, float]) -> None:
        super().__init__(auction, winners)
        ncol = self.n_columns
        all_rows = self.rows
        lp = highspy.HighsLp()
        lp.num_col_ = ncol
        lp.num_row_ = len(all_rows)
        lp.col_cost_ = self.base.copy()
        lp.col_lower_ = np.zeros(ncol)
        lp.col_upper_ = np.ones(ncol)
        lp.row_lower_ = np.full(len(all_rows), -highspy.kHighsInf)
        lp.row_upper_ = np.array([ub for _, _, ub in all_rows])
        lp.integrality_ = [highspy.HighsVarType.kInteger] * ncol
        lp.sense_ = highspy.ObjSense.kMaximize
        start, index, value = [0], [], []
        for ks, vals, _ in all_rows:
            index.extend(ks)
            value.extend(vals)
            start.append(len(index))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.array(start, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(value, dtype=float)
        quiet_highs()
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.passModel(lp)
        for key, val in SEPARATION_OPTIONS.items():
            self.h.setOptionValue(key, val)
        self._collect_above = math.inf
        self._found: dict[bytes, npt.NDArray[np.bool_]] = {}
        self.h.cbMipSolution.subscribe(self._solution)
        self.h.enableCallbacks()

    def set_surplus(self, surplus: Mapping[str, float]) -> None:
        """Set u_i = v_i − p_i (value units) for every winner."""
        cost = self.costs(surplus)
        self.h.changeColsCost(len(self._changed), self._changed, cost[self._changed])

    def _solution(self, e: highspy.highs.HighsCallbackEvent) -> None:
        if e.data_out.objective_function_value * self.scale + self.offset > self._collect_above:
            x = np.asarray(e.data_out.mip_solution) > 0.5
            if len(x) == len(self.base):
                self._found.setdefault(np.packbits(x).tobytes(), x)

    def solve(self, *, time_limit: float | None = None, threads: int | None = None,
              collect_above: float = math.inf, start: Collection[str] | None = None) -> SeparationSolve:
        """Solve at gap 0 (:data:`SEPARATION_OPTIONS`); ``coalitions`` are the allocations of
        every distinct solution HiGHS met (heuristics, branch and bound) whose value exceeds
        ``collect_above`` (value units), then the best one.  ``start``: ids of accepted bids
        handed to HiGHS as a start solution (e.g. the efficient allocation)."""
        h = self.h
        h.setOptionValue("time_limit", NO_TIME_LIMIT if time_limit is None else float(time_limit))
        threads = SEPARATION_THREADS if threads is None else int(threads)
        h.setOptionValue("threads", threads)
        self._collect_above = collect_above
        self._found = {}
        if start is not None:
            solution = highspy.HighsSolution()
            solution.col_value = self.start_vector(start)
            solution.value_valid = True
            h.setSolution(solution)
        prepare_highs_threads(threads)
        start_time = time.perf_counter()
        h.run()
        if start is not None and start_misreported(h):
            # the start's columns with a better solution's objective (HiGHS 1.16): again
            # without it (the solutions the callback met stay: each is a feasible coalition)
            h.clearSolver()
            h.run()
        seconds = time.perf_counter() - start_time
        info = h.getInfo()
        has_solution = info.primal_solution_status == 2
        status = SolveStatus(highspy_termination(h.getModelStatus()), has_solution)
        if not has_solution:
            return SeparationSolve(status, None, seconds)
        best = np.asarray(h.getSolution().col_value) > 0.5
        self._found.pop(np.packbits(best).tobytes(), None)
        coalitions = [self.allocation(x) for x in self._found.values()]
        coalitions.append(self.allocation(best))
        objective = info.objective_function_value * self.scale + self.offset
        return SeparationSolve(status, objective, seconds, coalitions)


class HighsPayments:
    """The payment LP of :func:`mechopt.formulations.core.build_payment_model` (min Σ p) in
    a persistent ``highspy.Highs`` object, with the same scaled variables p / s and cuts
    Σ_{i ∈ outside} p_i ≥ rhs / s."""

    def __init__(self, winners: list[str], lower: Mapping[str, float], upper: Mapping[str, float],
                 scale: float) -> None:
        self.winners = list(winners)
        self.index = {w: k for k, w in enumerate(self.winners)}
        self.scale = scale
        n = len(self.winners)
        hi = np.array([upper[w] / scale for w in self.winners])
        lo = np.minimum(np.array([lower[w] / scale for w in self.winners]), hi)
        quiet_highs()
        self.lp = highspy.Highs()
        self.lp.setOptionValue("output_flag", False)
        self.lp.addVars(n, lo, hi)
        self.lp.changeColsCost(n, np.arange(n, dtype=np.int32), np.ones(n))
        self.lp.changeObjectiveSense(highspy.ObjSense.kMinimize)

    def add_cut(self, outside: list[str], rhs: float) -> None:
        idx = np.array(sorted(self.index[w] for w in outside), dtype=np.int32)
        self.lp.addRow(rhs / self.scale, highspy.kHighsInf, len(idx), idx, np.ones(len(idx)))

    def _run(self, h: highspy.Highs, time_limit: float | None, threads: int | None) -> tuple[SolveStatus, float]:
        h.setOptionValue("time_limit", NO_TIME_LIMIT if time_limit is None else float(time_limit))
        # as many threads as the separations: switching HiGHS' scheduler costs a reset
        threads = SEPARATION_THREADS if threads is None else int(threads)
        h.setOptionValue("threads", threads)
        prepare_highs_threads(threads)
        start = time.perf_counter()
        h.run()
        seconds = time.perf_counter() - start
        termination = highspy_termination(h.getModelStatus())
        if h.getModelStatus() == highspy.HighsModelStatus.kSolveError:
            termination = Termination.ERROR
        has_solution = h.getInfo().primal_solution_status == 2
        return SolveStatus(termination, has_solution and termination is not Termination.ERROR), seconds

    def payments(self, h: highspy.Highs) -> dict[str, float]:
        x = h.getSolution().col_value
        return {w: x[k] * self.scale for w, k in self.index.items()}

    def solve_lp(self, time_limit: float | None = None, threads: int | None = None
                 ) -> tuple[SolveStatus, dict[str, float], float]:
        """(status, payments, revenue) of min Σ p over the cuts."""
        status, _ = self._run(self.lp, time_limit, threads)
        if not status.has_solution:
            return status, {}, math.nan
        return status, self.payments(self.lp), self.lp.getInfo().objective_function_value * self.scale
