"""The core separation MILP in the cplex API: CPLEX's counterpart of :class:`~mechopt.formulations.core_highspy.HighsSeparation`.

As :mod:`mechopt.formulations.core_gurobi` does for Gurobi: one persistent ``cplex.Cplex``
holds the separation MILP (the rows of :func:`mechopt.formulations.core.build_separation_model`),
only the winners' objective coefficients change between separations, the efficient
allocation is the MIP start, and every solution of CPLEX's solution pool whose value blocks
gives a core constraint.  ``options`` are CPLEX parameter paths (core payments pass the
WDP's, :data:`mechopt.mechanisms.wdp.WDP_OPTIONS`); every solve is at MIP gap 0, on one
thread unless told otherwise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from mechopt.auction import CombinatorialAuction
from mechopt.formulations.core_highspy import SEPARATION_THREADS, SeparationColumns, SeparationSolve
from mechopt.solve import NO_TIME_LIMIT, SolveStatus, cplex_parameter, cplex_termination

__all__ = ["CplexSeparation"]



class CplexSeparation(SeparationColumns):
    """The separation MILP for the winners in ``winners`` (id -> v_i), in a persistent
    ``cplex.Cplex`` (same columns, rows and interface as
    :class:`~mechopt.formulations.core_highspy.HighsSeparation`)."""

    def __init__(self, auction: CombinatorialAuction, winners: Mapping[str, float],
                 options: Mapping[str, Any] | None = None) -> None:
        import cplex

        super().__init__(auction, winners)
        c = cplex.Cplex()
        for stream in (c.set_log_stream, c.set_results_stream, c.set_warning_stream,
                       c.set_error_stream):
            stream(None)
        n = self.n_columns
        c.variables.add(obj=[float(x) for x in self.base], lb=[0.0] * n, ub=[1.0] * n, types="B" * n)
        c.linear_constraints.add(
            lin_expr=[cplex.SparsePair(ks, coefs) for ks, coefs, _ in self.rows],
            senses="L" * len(self.rows), rhs=[upper for _, _, upper in self.rows],
        )
        c.objective.set_sense(c.objective.sense.maximize)
        c.parameters.mip.tolerances.mipgap.set(0.0)
        c.parameters.mip.tolerances.absmipgap.set(0.0)
        for key, value in (options or {}).items():
            cplex_parameter(c, key).set(value)
        self.c = c
        self._started = False

    def set_surplus(self, surplus: Mapping[str, float]) -> None:
        """Set u_i = v_i − p_i (value units) for every winner."""
        cost = self.costs(surplus)
        self.c.objective.set_linear([(int(j), float(cost[j])) for j in self._changed])

    def solve(self, *, time_limit: float | None = None, threads: int | None = None,
              collect_above: float = math.inf, start: Collection[str] | None = None) -> SeparationSolve:
        """Solve at gap 0; ``coalitions`` are the allocations of the solution pool's members
        whose value exceeds ``collect_above`` (value units), then the best one (as
        :meth:`HighsSeparation.solve <mechopt.formulations.core_highspy.HighsSeparation.solve>`)."""
        import cplex

        c = self.c
        c.parameters.timelimit.set(NO_TIME_LIMIT if time_limit is None else min(float(time_limit), NO_TIME_LIMIT))
        c.parameters.threads.set(SEPARATION_THREADS if threads is None else int(threads))
        if self._started:
            c.MIP_starts.delete()
            self._started = False
        if start is not None:
            values = self.start_vector(start)
            c.MIP_starts.add(cplex.SparsePair(list(range(len(values))), values),
                             c.MIP_starts.effort_level.auto)
            self._started = True
        began = time.perf_counter()
        c.solve()
        seconds = time.perf_counter() - began
        sol = c.solution
        termination = cplex_termination(sol.status[sol.get_status()])
        has_solution = sol.get_solution_type() != sol.type.none
        status = SolveStatus(termination, has_solution)
        if not has_solution:
            return SeparationSolve(status, None, seconds)
        best = np.asarray(sol.get_values()) > 0.5
        found: dict[bytes, Any] = {}
        pool = sol.pool
        for k in range(pool.get_num()):
            if pool.get_objective_value(k) * self.scale + self.offset <= collect_above:
                continue
            x = np.asarray(pool.get_values(k)) > 0.5
            found.setdefault(np.packbits(x).tobytes(), x)
        found.pop(np.packbits(best).tobytes(), None)
        coalitions = [self.allocation(x) for x in found.values()]
        coalitions.append(self.allocation(best))
        return SeparationSolve(status, sol.get_objective_value() * self.scale + self.offset, seconds,
                               coalitions)
