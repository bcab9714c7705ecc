"""The core separation MILP in gurobipy: Gurobi's counterpart of :class:`~mechopt.formulations.core_highspy.HighsSeparation`.

:func:`mechopt.mechanisms.core.core_payments` with ``solver="gurobi"`` solves its sequence of
separation MILPs (Day and Raghavan 2007; the rows of
:func:`mechopt.formulations.core.build_separation_model`) on one persistent
``gurobipy.Model`` in the process's silent environment, as the HiGHS path does on highspy:
only the winners' objective coefficients change between solves, the efficient allocation is
the MIP start, and every solution Gurobi keeps in its pool whose value blocks gives a core
constraint (HiGHS' path reads them from a callback).  Through Pyomo each separation was a
fresh model walk and gave one cut.  ``options`` are Gurobi parameters (core payments pass
the WDP's, :data:`mechopt.mechanisms.wdp.WDP_OPTIONS`: no cuts, no periodic heuristics);
every solve is at MIP gap 0, on one thread unless told otherwise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from mechopt.auction import CombinatorialAuction
from mechopt.formulations.core_highspy import SEPARATION_THREADS, SeparationColumns, SeparationSolve
from mechopt.solve import SolveStatus, gurobi_env, gurobi_termination

__all__ = ["GurobiSeparation"]

#: discard the previous separation's solution and search before each one (False: Gurobi
#: builds on them)
RESET = True


class GurobiSeparation(SeparationColumns):
    """The separation MILP for the winners in ``winners`` (id -> v_i), in a persistent
    ``gurobipy.Model`` (same columns, rows and interface as
    :class:`~mechopt.formulations.core_highspy.HighsSeparation`)."""

    def __init__(self, auction: CombinatorialAuction, winners: Mapping[str, float],
                 options: Mapping[str, Any] | None = None) -> None:
        import gurobipy as gp

        super().__init__(auction, winners)
        m = gp.Model(env=gurobi_env())
        x = m.addVars(self.n_columns, lb=0.0, ub=1.0, obj=list(self.base), vtype=gp.GRB.BINARY)  # type: ignore[call-overload]
        self._vars = [x[j] for j in range(self.n_columns)]
        for ks, coefs, upper in self.rows:
            m.addLConstr(gp.LinExpr(coefs, [self._vars[j] for j in ks]), gp.GRB.LESS_EQUAL, upper)
        m.ModelSense = gp.GRB.MAXIMIZE
        m.Params.MIPGap = 0.0
        m.Params.MIPGapAbs = 0.0
        for key, value in (options or {}).items():
            m.setParam(key, value)
        m.update()
        self.m = m
        self._changed_vars = [self._vars[j] for j in self._changed]
        self._names = {getattr(gp.GRB.Status, k): k for k in dir(gp.GRB.Status) if k.isupper()}

    def set_surplus(self, surplus: Mapping[str, float]) -> None:
        """Set u_i = v_i − p_i (value units) for every winner."""
        cost = self.costs(surplus)
        self.m.setAttr("Obj", self._changed_vars, [float(c) for c in cost[self._changed]])

    def solve(self, *, time_limit: float | None = None, threads: int | None = None,
              collect_above: float = math.inf, start: Collection[str] | None = None) -> SeparationSolve:
        """Solve at gap 0; ``coalitions`` are the allocations of the pool's solutions whose
        value exceeds ``collect_above`` (value units), then the best one (as
        :meth:`HighsSeparation.solve <mechopt.formulations.core_highspy.HighsSeparation.solve>`)."""
        import gurobipy as gp

        m = self.m
        m.Params.TimeLimit = gp.GRB.INFINITY if time_limit is None else float(time_limit)
        m.Params.Threads = SEPARATION_THREADS if threads is None else int(threads)
        if RESET:
            m.reset()
        if start is not None:
            m.setAttr("Start", self._vars, self.start_vector(start))
        began = time.perf_counter()
        m.optimize()
        seconds = time.perf_counter() - began
        termination = gurobi_termination(self._names.get(m.Status, ""))
        status = SolveStatus(termination, m.SolCount > 0)
        if m.SolCount == 0:
            return SeparationSolve(status, None, seconds)
        best = np.asarray(m.getAttr("X", self._vars)) > 0.5
        found: dict[bytes, Any] = {}
        for k in range(1, m.SolCount):  # the pool, best first; 0 is the incumbent
            m.Params.SolutionNumber = k
            if m.PoolObjVal * self.scale + self.offset <= collect_above:
                break
            x = np.asarray(m.getAttr("Xn", self._vars)) > 0.5
            found.setdefault(np.packbits(x).tobytes(), x)
        found.pop(np.packbits(best).tobytes(), None)
        coalitions = [self.allocation(x) for x in found.values()]
        coalitions.append(self.allocation(best))
        return SeparationSolve(status, m.ObjVal * self.scale + self.offset, seconds, coalitions)
