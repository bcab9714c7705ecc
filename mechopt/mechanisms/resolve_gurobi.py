"""The kept WDP model for Gurobi: one ``gurobipy.Model`` per auction and worker process."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from mechopt.formulations.wdp_matrix import WdpMatrix
from mechopt.mechanisms.kept_model import KeptWdpModel
from mechopt.solve import Termination, gurobi_env, gurobi_termination

__all__ = ["GurobiEconomySolver"]

#: Gurobi's default absolute MIP gap, restored for solves with a relative gap above 0
GUROBI_ABS_GAP = 1e-10

class GurobiEconomySolver(KeptWdpModel):
    """The WDP of ``auction`` in one ``gurobipy.Model``, re-solved per economy.

    Built from :func:`~mechopt.formulations.wdp_matrix.wdp_matrix` (the MILP of
    :func:`~mechopt.formulations.wdp.build_wdp_model`, columns in the same order) in this
    process's silent Gurobi environment.  A modified model keeps its solution: Gurobi
    builds the next MIP start from it (the previous economy's allocation without the
    bidders now left out), which kept re-solves faster than ``reset()`` before each one;
    with tied optima the allocation returned may therefore depend on the economies solved
    before in the process (welfare and payments do not).
    """

    name = "gurobi"
    history_free = False

    def _build(self, matrix: WdpMatrix, relax: bool) -> None:
        import gurobipy as gp

        m = gp.Model(env=gurobi_env())
        n = len(matrix.columns)
        kind = gp.GRB.CONTINUOUS if relax else gp.GRB.BINARY
        self.x = m.addVars(n, lb=0.0, ub=1.0, obj=matrix.cost, vtype=kind)  # type: ignore[call-overload]
        self._vars = [self.x[j] for j in range(n)]
        for js in matrix.rows:
            m.addLConstr(gp.LinExpr([1.0] * len(js), [self._vars[j] for j in js]), gp.GRB.LESS_EQUAL, 1.0)
        m.ObjCon = matrix.offset
        m.ModelSense = gp.GRB.MAXIMIZE
        m.update()
        self.m = m
        self._started = False
        self._names = {
            getattr(gp.GRB.Status, key): key for key in dir(gp.GRB.Status) if key.isupper()
        }

    def _set_upper(self, columns: list[int], upper: float) -> None:
        self.m.setAttr("UB", [self._vars[j] for j in columns], [upper] * len(columns))

    def _set_start(self, values: list[float] | None) -> None:
        import gurobipy as gp

        if values is not None:
            self.m.setAttr("Start", self._vars, values)
            self._started = True
        elif self._started:  # retract the previous economy's start
            self.m.setAttr("Start", self._vars, [gp.GRB.UNDEFINED] * len(self._vars))
            self._started = False

    def _run(self, time_limit: float | None, mip_gap: float, threads: int | None,
             options: Mapping[str, Any]) -> tuple[Termination, bool, float]:
        import gurobipy as gp

        p = self.m.Params
        p.TimeLimit = gp.GRB.INFINITY if time_limit is None else float(time_limit)
        p.MIPGap = float(mip_gap)
        p.MIPGapAbs = 0.0 if mip_gap == 0 else GUROBI_ABS_GAP
        p.Threads = 0 if threads is None else int(threads)
        for key, value in options.items():
            self.m.setParam(key, value)
        start = time.perf_counter()
        self.m.optimize()
        seconds = time.perf_counter() - start
        self._solver_seconds = float(self.m.Runtime)
        termination = gurobi_termination(self._names.get(self.m.Status, ""))
        return termination, self.m.SolCount > 0, seconds

    def _objective(self) -> float:
        return float(self.m.ObjVal)

    def _dual_bound(self) -> float | None:
        try:
            return float(self.m.ObjBound)
        except Exception:  # an LP, or no bound known
            return None

    def _values(self) -> list[float]:
        return list(self.m.getAttr("X", self._vars))

    def _status_text(self) -> str:
        return self._names.get(self.m.Status, str(self.m.Status)).lower().replace("_", " ")
