"""One WDP model in a solver's own API, re-solved for every economy of an auction.

:class:`KeptWdpModel` holds what the solvers share: which columns belong to which bidder,
leaving bidders out by setting their columns' upper bounds to 0 (a column with bounds
[0, 0] is removed by presolve, so the re-solve is the MILP a fresh build without those
bidders would be: docs/auctions.md#one-kept-model-per-worker), reading the allocation back and
reporting the solve in welfare units.  A subclass per solver
(:mod:`~mechopt.mechanisms.resolve_highs`, :mod:`~mechopt.mechanisms.resolve_gurobi`,
:mod:`~mechopt.mechanisms.resolve_cplex`, :mod:`~mechopt.mechanisms.resolve_scip`) builds
the model from
:func:`~mechopt.formulations.wdp_matrix.wdp_matrix` and implements the few solver calls
below (``_set_upper`` … ``_status_text``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mechopt.auction import Bid, CombinatorialAuction
from mechopt.formulations.wdp import checked_allocation
from mechopt.formulations.wdp_matrix import WdpMatrix, wdp_matrix
from mechopt.mechanisms.outcome import Allocation
from mechopt.mechanisms.wdp import WDP_OPTIONS, _allocation_from, _empty, economy_exclusion
from mechopt.solve import (
    _SOLVE_LOCK,
    SolveResult,
    Termination,
    _label,
    _solver_failed,
    _status,
    _watch_sigint,
    solver_threads,
)

__all__ = ["KeptWdpModel"]

#: the solver's objective and the exact welfare of the columns it returned may differ by
#: this much (relative): floating-point sums and integrality tolerances, never another
#: allocation
REPORT_RTOL = 1e-7


def _misreported(allocation: Allocation) -> bool:
    """Whether the solver's objective is not the welfare of the allocation it returned."""
    solve = allocation.solve
    if solve is None or solve.objective is None:
        return False
    welfare = allocation.welfare
    return abs(solve.objective - welfare) > REPORT_RTOL * max(abs(welfare), abs(solve.objective))


class KeptWdpModel:
    """The WDP of ``auction`` kept in one solver object (``relax=True``: its LP relaxation).

    ``solve(exclude, ...)`` answers exactly as :func:`~mechopt.mechanisms.wdp.solve_wdp`
    does for a fresh model of the economy without ``exclude``; ``bound(exclude)`` (relaxed
    models) gives the LP bound.  Threads of one process (a Dask worker with several
    threads) share the model, so bounds, solve and read-back happen under one lock.
    """

    #: the plain solver name (:data:`mechopt.solve.BACKENDS`)
    name = ""
    #: the column order of the Pyomo interface this model stands in for
    #: (:func:`~mechopt.formulations.wdp_matrix.wdp_matrix`), so that tied optima are broken
    #: as a fresh Pyomo model would break them
    column_order = "rows"
    #: whether every MILP starts afresh, so that the allocation of an economy (among tied
    #: optima) does not depend on what the process solved before
    history_free = True

    def __init__(self, auction: CombinatorialAuction, relax: bool = False) -> None:
        self.auction = auction
        self.relaxed = relax
        matrix = wdp_matrix(auction, order=self.column_order)
        self.columns = matrix.columns
        self.scale = matrix.scale
        self._columns_of: dict[str, list[int]] = {}
        for j, (bidder_id, _) in enumerate(self.columns):
            self._columns_of.setdefault(bidder_id, []).append(j)
        self._excluded: frozenset[str] = frozenset()
        self._solver_seconds = 0.0
        self._build(matrix, relax)

    # ------------------------------------------------------------------------------------
    # what each solver implements
    # ------------------------------------------------------------------------------------
    def _build(self, matrix: WdpMatrix, relax: bool) -> None:
        """Build the model (binary columns unless ``relax``)."""
        raise NotImplementedError

    def _set_upper(self, columns: list[int], upper: float) -> None:
        """Set the upper bound of ``columns`` to ``upper``."""
        raise NotImplementedError

    def _forget(self) -> None:
        """Forget what earlier MILP solves left in the solver (before each MILP)."""

    def _set_start(self, values: list[float] | None) -> None:
        """Hand the next MILP a start (one value per column); None: no start."""

    def _run(self, time_limit: float | None, mip_gap: float, threads: int | None,
             options: Mapping[str, Any]) -> tuple[Termination, bool, float]:
        """Set gap, time limit, threads and ``options``, solve; return the termination,
        whether a solution exists and the wall seconds (and set ``self._solver_seconds``)."""
        raise NotImplementedError

    def _objective(self) -> float:
        """The objective of the solution (the model's units)."""
        raise NotImplementedError

    def _dual_bound(self) -> float | None:
        """The MILP's proven bound (the model's units; None: none known)."""
        raise NotImplementedError

    def _values(self) -> list[float]:
        """The solution's column values."""
        raise NotImplementedError

    def _status_text(self) -> str:
        """The solver's own word for how the solve ended."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------
    # the shared contract
    # ------------------------------------------------------------------------------------
    def _exclude(self, excluded: frozenset[str]) -> None:
        for bidders, upper in ((self._excluded - excluded, 1.0), (excluded - self._excluded, 0.0)):
            cols = [j for b in bidders for j in self._columns_of.get(b, ())]
            if cols:
                self._set_upper(cols, upper)
        self._excluded = excluded

    def solve(
        self,
        exclude: Iterable[str] = (),
        *,
        incumbent: Mapping[str, Bid] | None = None,
        warm_start: bool = False,
        time_limit: float | None = None,
        mip_gap: float = 0.0,
        threads: int | None = None,
    ) -> Allocation:
        """:func:`~mechopt.mechanisms.wdp.solve_wdp` of the economy without ``exclude``
        (``incumbent``, an allocation feasible in it, is the MIP start when ``warm_start``)."""
        if self.relaxed:
            raise ValueError("a relaxed economy solver gives bounds, not allocations")
        excluded = economy_exclusion(self.auction, exclude)
        if excluded.issuperset(self._columns_of):
            return _empty(self.auction, excluded, self.name)
        with _SOLVE_LOCK:
            self._exclude(excluded)
            self._forget()
            start = None
            if warm_start and incumbent is not None:
                chosen = {bid.id for b, bid in incumbent.items() if b not in excluded}
                start = [1.0 if bid.id in chosen else 0.0 for _, bid in self.columns]
            self._set_start(start)
            allocation = self._solve_economy(time_limit, mip_gap, threads, excluded)
            if start is not None and _misreported(allocation):
                # HiGHS 1.16 can end a started solve with the start's column values but the
                # objective of a better solution (docs/auctions.md#mip-starts): solve again
                # without the start, the answer a fresh model gives
                self._forget()
                self._set_start(None)
                allocation = self._solve_economy(time_limit, mip_gap, threads, excluded)
            return allocation

    def _solve_economy(self, time_limit: float | None, mip_gap: float, threads: int | None,
                       excluded: frozenset[str]) -> Allocation:
        termination, has_solution, seconds = self._solve_now(
            time_limit, mip_gap, threads, WDP_OPTIONS.get(self.name, {})
        )
        result = self._result(termination, has_solution, seconds, mip_gap)
        return _allocation_from(self.auction, self._read_allocation, result, excluded)

    def bound(self, exclude: Iterable[str] = (), *, threads: int | None = None) -> SolveResult:
        """The LP bound of the economy without ``exclude`` in welfare units (relaxed model)."""
        excluded = frozenset(str(b) for b in exclude)
        if all(b in excluded for b in self._columns_of):
            empty = _empty(self.auction, excluded, self.name).solve
            assert empty is not None  # the empty allocation carries its (trivial) solve
            return empty
        with _SOLVE_LOCK:
            self._exclude(excluded)
            termination, has_solution, seconds = self._solve_now(None, 0.0, threads, {})
            return self._result(termination, has_solution, seconds, 0.0)

    def _solve_now(self, time_limit: float | None, mip_gap: float, threads: int | None,
                   options: Mapping[str, Any]) -> tuple[Termination, bool, float]:
        """:meth:`_run`, with Ctrl-C raised as KeyboardInterrupt (solvers catch it in their
        callbacks or signal handlers and report a stop) and a solver's exception (a licence
        size limit, a bad parameter) raised as a one-line :class:`~mechopt.solve.SolverError`."""
        threads = solver_threads(threads)
        with _watch_sigint() as interrupted:
            try:
                termination, has_solution, seconds = self._run(time_limit, mip_gap, threads, options)
            except Exception as exc:
                raise _solver_failed(self.name, exc) from None
        if interrupted[0] or termination is Termination.INTERRUPTED:
            raise KeyboardInterrupt
        return termination, has_solution, seconds

    def _read_allocation(self) -> Mapping[str, Bid]:
        values = self._values()
        return checked_allocation(
            self.auction, [col for col, v in zip(self.columns, values, strict=True) if v > 0.5]
        )

    def _result(self, termination: Termination, has_solution: bool, seconds: float,
                mip_gap: float) -> SolveResult:
        """The solve in welfare units (the model's objective is welfare / scale)."""
        status = _status(termination, has_solution)  # "optimal" without a solution: unknown
        objective = self._objective() * self.scale if has_solution else None
        if self.relaxed:
            bound = objective if status.is_optimal else None
        else:
            dual = self._dual_bound()
            bound = dual * self.scale if dual is not None and abs(dual) < float("inf") else None
            if status.is_optimal and bound is None:
                bound = objective
        said = self._status_text()
        message = f"{_label(self.name)} error: {said}" if termination is Termination.ERROR else said
        return SolveResult(status, objective, bound, seconds, self.name, message, mip_gap,
                           solver_seconds=self._solver_seconds)
