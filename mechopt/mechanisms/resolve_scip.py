"""The kept WDP model for SCIP: one ``pyscipopt.Model`` per auction and worker process."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from mechopt.formulations.wdp_matrix import WdpMatrix
from mechopt.mechanisms.kept_model import KeptWdpModel
from mechopt.solve import NO_TIME_LIMIT, Termination, scip_termination

__all__ = ["ScipEconomySolver"]

class ScipEconomySolver(KeptWdpModel):
    """The WDP of ``auction`` in one ``pyscipopt.Model``, re-solved per economy.

    Built from :func:`~mechopt.formulations.wdp_matrix.wdp_matrix` (the MILP of
    :func:`~mechopt.formulations.wdp.build_wdp_model`, columns in the same order), no
    output.  SCIP can change a model only before it is transformed, so each re-solve first
    frees the previous solve's transformed problem (``freeTransform``), which also drops
    its search state: every economy starts afresh.  SCIP solves on one thread (``threads``
    is ignored).
    """

    name = "scip"

    def _build(self, matrix: WdpMatrix, relax: bool) -> None:
        import pyscipopt as scip

        m = scip.Model()
        m.hideOutput()
        m.setParam("display/verblevel", 0)
        kind = "C" if relax else "B"
        self._vars = [m.addVar(vtype=kind, lb=0.0, ub=1.0, obj=c) for c in matrix.cost]
        for js in matrix.rows:
            m.addCons(scip.quicksum(self._vars[j] for j in js) <= 1)
        if matrix.offset:
            m.addObjoffset(matrix.offset)
        m.setMaximize()
        self.m = m
        self._started = False

    def _set_upper(self, columns: list[int], upper: float) -> None:
        self.m.freeTransform()
        for j in columns:
            self.m.chgVarUb(self._vars[j], upper)

    def _forget(self) -> None:
        self.m.freeTransform()

    def _set_start(self, values: list[float] | None) -> None:
        if values is not None:
            sol = self.m.createSol()
            for var, value in zip(self._vars, values, strict=True):
                self.m.setSolVal(sol, var, value)
            self.m.addSol(sol, free=True)

    def _run(self, time_limit: float | None, mip_gap: float, threads: int | None,
             options: Mapping[str, Any]) -> tuple[Termination, bool, float]:
        m = self.m
        m.setParam("limits/time", NO_TIME_LIMIT if time_limit is None else float(time_limit))
        m.setParam("limits/gap", float(mip_gap))
        m.setParam("limits/absgap", 0.0)  # SCIP's default: the relative gap alone decides
        for key, value in options.items():
            m.setParam(key, value)
        start = time.perf_counter()
        m.optimize()
        seconds = time.perf_counter() - start
        self._solver_seconds = float(m.getSolvingTime())
        return scip_termination(m.getStatus()), m.getNSols() > 0, seconds

    def _objective(self) -> float:
        return float(self.m.getObjVal())

    def _dual_bound(self) -> float | None:
        return float(self.m.getDualbound())

    def _values(self) -> list[float]:
        sol = self.m.getBestSol()
        return [float(self.m.getSolVal(sol, v)) for v in self._vars]

    def _status_text(self) -> str:
        return str(self.m.getStatus())
