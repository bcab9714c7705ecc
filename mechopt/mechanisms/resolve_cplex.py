"""The kept WDP model for CPLEX: one ``cplex.Cplex`` per auction and worker process."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from mechopt.formulations.wdp_matrix import WdpMatrix
from mechopt.mechanisms.kept_model import KeptWdpModel
from mechopt.solve import NO_TIME_LIMIT, Termination, cplex_parameter, cplex_termination

__all__ = ["CplexEconomySolver"]

#: CPLEX's default absolute MIP gap, restored for solves with a relative gap above 0
CPLEX_ABS_GAP = 1e-6


class CplexEconomySolver(KeptWdpModel):
    """The WDP of ``auction`` in one ``cplex.Cplex`` object, re-solved per economy.

    Built from :func:`~mechopt.formulations.wdp_matrix.wdp_matrix` (the MILP of
    :func:`~mechopt.formulations.wdp.build_wdp_model`, columns in the same order), all
    output streams off.  :data:`~mechopt.mechanisms.wdp.WDP_OPTIONS` gives CPLEX
    ``advance 0``: each economy starts afresh instead of from the previous solve, so that
    ties do not depend on what the process solved before.  Options are CPLEX parameter
    paths with ``_`` or ``.`` between the levels (``mip_strategy_search``).
    """

    name = "cplex"
    column_order = "bids"

    def _build(self, matrix: WdpMatrix, relax: bool) -> None:
        import cplex

        c = cplex.Cplex()
        for stream in (c.set_log_stream, c.set_results_stream, c.set_warning_stream,
                       c.set_error_stream):
            stream(None)
        n = len(matrix.columns)
        if relax:
            c.variables.add(obj=matrix.cost, lb=[0.0] * n, ub=[1.0] * n)
        else:
            c.variables.add(obj=matrix.cost, lb=[0.0] * n, ub=[1.0] * n, types="B" * n)
        c.linear_constraints.add(
            lin_expr=[cplex.SparsePair(js, [1.0] * len(js)) for js in matrix.rows],
            senses="L" * len(matrix.rows), rhs=[1.0] * len(matrix.rows),
        )
        c.objective.set_offset(matrix.offset)
        c.objective.set_sense(c.objective.sense.maximize)
        self.c = c
        self._is_mip = not relax
        self._started = False

    def _set_upper(self, columns: list[int], upper: float) -> None:
        self.c.variables.set_upper_bounds([(j, upper) for j in columns])

    def _set_start(self, values: list[float] | None) -> None:
        import cplex

        if self._started:
            self.c.MIP_starts.delete()
            self._started = False
        if values is not None:
            n = len(values)
            self.c.MIP_starts.add(cplex.SparsePair(list(range(n)), values),
                                  self.c.MIP_starts.effort_level.auto)
            self._started = True


    def _run(self, time_limit: float | None, mip_gap: float, threads: int | None,
             options: Mapping[str, Any]) -> tuple[Termination, bool, float]:
        p = self.c.parameters
        p.timelimit.set(NO_TIME_LIMIT if time_limit is None else min(float(time_limit), NO_TIME_LIMIT))
        p.mip.tolerances.mipgap.set(float(mip_gap))
        p.mip.tolerances.absmipgap.set(0.0 if mip_gap == 0 else CPLEX_ABS_GAP)
        p.threads.set(0 if threads is None else int(threads))
        for key, value in options.items():
            cplex_parameter(self.c, key).set(value)
        start, clock = time.perf_counter(), self.c.get_time()
        self.c.solve()
        seconds = time.perf_counter() - start
        self._solver_seconds = self.c.get_time() - clock
        s = self.c.solution
        name = s.status[s.get_status()]
        has_solution = s.get_solution_type() != s.type.none
        return cplex_termination(name), has_solution, seconds

    def _objective(self) -> float:
        return float(self.c.solution.get_objective_value())

    def _dual_bound(self) -> float | None:
        if not self._is_mip:
            return None
        return float(self.c.solution.MIP.get_best_objective())

    def _values(self) -> list[float]:
        return list(self.c.solution.get_values())

    def _status_text(self) -> str:
        return str(self.c.solution.get_status_string())
