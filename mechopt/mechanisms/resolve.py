"""Kept models for the economies of an auction: one model per worker, re-solved many times.

VCG's marginal economies and the audit's economies differ from the full auction only by the
bidders left out (docs/auctions.md#winner-determination), so every worker process keeps one
model per auction and solver and leaves bidders out by setting the upper bounds of their
bids' columns to 0, instead of building a model per economy.  :func:`economy_solver` hands
out this process's kept model:

* HiGHS (the default, plain name ``"highs"``): :class:`HighsEconomySolver`, the WDP built
  directly in highspy (:func:`~mechopt.formulations.wdp_highspy.build_wdp_highspy`: the same
  rows, columns, column order, bounds and objective scale as the Pyomo model), re-solved
  without a modelling layer.  On the small MILPs of an audit Pyomo's share of a re-solve
  (~4–7 ms: change detection, solution loading, output capture) was a third of the solve
  time; here it is the few bound changes and reading back the chosen columns.
* every other solver: :class:`~mechopt.mechanisms.wdp.EconomySolver`, the Pyomo model
  through the solver's persistent interface.

Both answer ``solve(exclude, ...)`` with an :class:`~mechopt.mechanisms.outcome.Allocation`
exactly as :func:`~mechopt.mechanisms.wdp.solve_wdp` does for a fresh model, and
``bound(exclude)`` (relaxed models) with the LP bound.  The public model builder stays the
Pyomo one (:func:`~mechopt.formulations.wdp.build_wdp_model`), which a user can extend.
"""

from __future__ import annotations

import atexit
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from mechopt.auction import Bid, CombinatorialAuction
from mechopt.formulations.wdp import objective_scale
from mechopt.formulations.wdp_highspy import build_wdp_highspy, read_highspy_allocation
from mechopt.mechanisms.outcome import Allocation
from mechopt.mechanisms.wdp import (
    WDP_OPTIONS,
    EconomySolver,
    _allocation_from,
    _empty,
    economy_exclusion,
)
from mechopt.solve import (
    _SOLVE_LOCK,
    DEFAULT_SOLVER,
    NO_TIME_LIMIT,
    SolveResult,
    SolveStatus,
    Termination,
    _watch_sigint,
    highspy_termination,
    prepare_highs_threads,
    solver_backend,
)

__all__ = ["HighsEconomySolver", "economy_solver", "forget_kept_models"]

#: HiGHS' own default absolute MIP gap, restored for solves with a relative gap above 0 (the
#: kept ``Highs`` object would otherwise keep the 0 of an earlier exact solve)
HIGHS_ABS_GAP = 1e-6


class HighsEconomySolver:
    """The WDP of ``auction`` in one ``highspy.Highs`` object, re-solved per economy.

    Same contract as :class:`~mechopt.mechanisms.wdp.EconomySolver` (``solve``, ``bound``).
    Before each MILP the solver's state is cleared (``clearSolver``), so that an economy's
    answer never depends on what was solved before in the process (with ties, a kept basis
    or incumbent could pick another optimal allocation).  A relaxed model (``relax=True``)
    keeps its basis between LP bounds: bounds are values, not allocations.
    """

    name = "highs"

    def __init__(self, auction: CombinatorialAuction, relax: bool = False) -> None:
        import highspy

        self.auction = auction
        self.relaxed = relax
        self.h, self.columns = build_wdp_highspy(auction)
        self.scale = objective_scale(auction)
        n = len(self.columns)
        if relax and n:
            kind = highspy.HighsVarType.kContinuous
            self.h.changeColsIntegrality(n, list(range(n)), [kind] * n)  # type: ignore[arg-type]
        self._columns_of: dict[str, list[int]] = {}
        for k, (bidder_id, _) in enumerate(self.columns):
            self._columns_of.setdefault(bidder_id, []).append(k)
        self._excluded: frozenset[str] = frozenset()
        self._solver_seconds = 0.0
        self.h.HandleKeyboardInterrupt = True  # interrupt callbacks: Ctrl-C stops a solve

    def _exclude(self, excluded: frozenset[str]) -> None:
        for bidders, upper in ((self._excluded - excluded, 1.0), (excluded - self._excluded, 0.0)):
            cols = [k for b in bidders for k in self._columns_of.get(b, ())]
            if cols:
                self.h.changeColsBounds(len(cols), cols, [0.0] * len(cols), [upper] * len(cols))
        self._excluded = excluded

    def _run(self, time_limit: float | None, mip_gap: float, threads: int | None,
             options: Mapping[str, Any]) -> tuple[Termination, bool, float]:
        h = self.h
        h.setOptionValue("time_limit", NO_TIME_LIMIT if time_limit is None else float(time_limit))
        h.setOptionValue("mip_rel_gap", float(mip_gap))
        h.setOptionValue("mip_abs_gap", 0.0 if mip_gap == 0 else HIGHS_ABS_GAP)
        h.setOptionValue("threads", 0 if threads is None else int(threads))
        for key, value in options.items():
            h.setOptionValue(key, value)
        prepare_highs_threads(threads)
        start, clock = time.perf_counter(), h.getRunTime()
        # HiGHS calls back into Python at its interrupt checks (HandleKeyboardInterrupt), where
        # Ctrl-C raises; it catches that and reports a solve error: say what it was
        with _watch_sigint() as interrupted:
            h.run()
        seconds = time.perf_counter() - start
        self._solver_seconds = h.getRunTime() - clock
        termination = highspy_termination(h.getModelStatus())
        if interrupted[0] or termination is Termination.INTERRUPTED:
            raise KeyboardInterrupt
        has_solution = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
        if termination is Termination.OPTIMAL and not has_solution:
            termination = Termination.UNKNOWN
        return termination, has_solution, seconds

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
        """:func:`~mechopt.mechanisms.wdp.solve_wdp` of the economy without ``exclude``."""
        import highspy

        if self.relaxed:
            raise ValueError("a relaxed economy solver gives bounds, not allocations")
        excluded = economy_exclusion(self.auction, exclude)
        if excluded.issuperset(self._columns_of):
            return _empty(self.auction, excluded, self.name)
        with _SOLVE_LOCK:
            self._exclude(excluded)
            self.h.clearSolver()
            if warm_start and incumbent is not None:
                chosen = {bid.id for b, bid in incumbent.items() if b not in excluded}
                start = highspy.HighsSolution()
                start.col_value = [1.0 if bid.id in chosen else 0.0 for _, bid in self.columns]
                start.value_valid = True
                self.h.setSolution(start)
            termination, has_solution, seconds = self._run(
                time_limit, mip_gap, threads, WDP_OPTIONS.get("highs", {})
            )
            result = self._result(termination, has_solution, seconds, mip_gap)
            return _allocation_from(
                self.auction, lambda: read_highspy_allocation(self.h, self.columns, self.auction),
                result, excluded,
            )

    def bound(self, exclude: Iterable[str] = (), *, threads: int | None = None) -> SolveResult:
        """The LP bound of the economy without ``exclude`` in welfare units (relaxed model)."""
        excluded = frozenset(str(b) for b in exclude)
        if all(b in excluded for b in self._columns_of):
            empty = _empty(self.auction, excluded, self.name).solve
            assert empty is not None  # the empty allocation carries its (trivial) solve
            return empty
        with _SOLVE_LOCK:
            self._exclude(excluded)
            termination, has_solution, seconds = self._run(None, 0.0, threads, {})
            return self._result(termination, has_solution, seconds, 0.0)

    def _result(self, termination: Termination, has_solution: bool, seconds: float,
                mip_gap: float) -> SolveResult:
        """The solve in welfare units (the model's objective is welfare / scale)."""
        info = self.h.getInfo()
        status = SolveStatus(termination, has_solution)
        objective = info.objective_function_value * self.scale if has_solution else None
        if self.relaxed:
            bound = objective if status.is_optimal else None
        else:
            dual = info.mip_dual_bound
            bound = dual * self.scale if abs(dual) < float("inf") else None
            if status.is_optimal and bound is None:
                bound = objective
        said = self.h.modelStatusToString(self.h.getModelStatus())
        message = f"HiGHS error: {said}" if termination is Termination.ERROR else said
        return SolveResult(status, objective, bound, seconds, self.name, message, mip_gap,
                           solver_seconds=self._solver_seconds)


#: economy solvers of this process, newest last (a worker keeps the models of the few
#: auctions it is working on, not of every auction of a long benchmark)
_ECONOMY_SOLVERS: OrderedDict[tuple[Any, ...], EconomySolver | HighsEconomySolver] = OrderedDict()
_KEEP = 4
# release the solver models before the interpreter tears down the solvers' modules
atexit.register(_ECONOMY_SOLVERS.clear)


def economy_solver(
    auction: CombinatorialAuction, solver: str = DEFAULT_SOLVER, relax: bool = False
) -> EconomySolver | HighsEconomySolver:
    """This process's kept model of ``auction`` for ``solver`` (made on first use).

    Tasks reach a worker process as pickled copies of the auction, so the key is the
    auction's content (it is a frozen dataclass of tuples: equal auctions hash equal), not
    its identity.
    """
    key = (auction, str(solver), relax)
    with _SOLVE_LOCK:
        found = _ECONOMY_SOLVERS.get(key)
        if found is None:
            found = _new_solver(auction, solver, relax)
            _ECONOMY_SOLVERS[key] = found
            while len(_ECONOMY_SOLVERS) > _KEEP:
                _ECONOMY_SOLVERS.popitem(last=False)
        else:
            _ECONOMY_SOLVERS.move_to_end(key)
        return found


def _new_solver(auction: CombinatorialAuction, solver: str, relax: bool) -> EconomySolver | HighsEconomySolver:
    backend = solver_backend(solver) if isinstance(solver, str) else None
    if isinstance(solver, str) and solver == "highs" and backend is not None:
        return HighsEconomySolver(auction, relax)
    return EconomySolver(auction, solver, relax)


def forget_kept_models() -> None:
    """Drop this process's kept models (benchmarks: each timed run builds its own)."""
    with _SOLVE_LOCK:
        _ECONOMY_SOLVERS.clear()
