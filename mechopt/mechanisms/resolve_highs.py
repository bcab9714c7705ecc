"""The kept WDP model for HiGHS: one ``highspy.Highs`` per auction and worker process."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from mechopt.formulations.wdp_highspy import highspy_wdp
from mechopt.formulations.wdp_matrix import WdpMatrix
from mechopt.mechanisms.kept_model import KeptWdpModel
from mechopt.solve import NO_TIME_LIMIT, Termination, highspy_termination, prepare_highs_threads

__all__ = ["HighsEconomySolver", "HIGHS_ABS_GAP"]

#: HiGHS' own default absolute MIP gap, restored for solves with a relative gap above 0 (the
#: kept ``Highs`` object would otherwise keep the 0 of an earlier exact solve)
HIGHS_ABS_GAP = 1e-6


class HighsEconomySolver(KeptWdpModel):
    """The WDP of ``auction`` in one ``highspy.Highs`` object, re-solved per economy.

    The model is :func:`~mechopt.formulations.wdp_highspy.highspy_wdp`: the very MILP that
    Pyomo's HiGHS interface passes for :func:`~mechopt.formulations.wdp.build_wdp_model`
    (same rows, columns, column order and objective scale), so a re-solve does the work of
    a fresh Pyomo solve without the modelling layer (~4–7 ms per solve on the small MILPs of
    an audit: change detection, solution loading, output capture).  Before each MILP the
    solver's state is cleared (``clearSolver``), so that an economy's answer never depends
    on what was solved before in the process (with ties, a kept basis or incumbent could
    pick another optimal allocation).  A relaxed model keeps its basis between LP bounds:
    bounds are values, not allocations.
    """

    name = "highs"

    def _build(self, matrix: WdpMatrix, relax: bool) -> None:
        self.h = highspy_wdp(matrix, relax)
        self.h.HandleKeyboardInterrupt = True  # interrupt callbacks: Ctrl-C stops a solve

    def _set_upper(self, columns: list[int], upper: float) -> None:
        n = len(columns)
        self.h.changeColsBounds(n, columns, [0.0] * n, [upper] * n)

    def _forget(self) -> None:
        self.h.clearSolver()

    def _set_start(self, values: list[float] | None) -> None:
        import highspy

        if values is not None:
            start = highspy.HighsSolution()
            start.col_value = values
            start.value_valid = True
            self.h.setSolution(start)

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
        h.run()
        seconds = time.perf_counter() - start
        self._solver_seconds = h.getRunTime() - clock
        has_solution = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
        return highspy_termination(h.getModelStatus()), has_solution, seconds

    def _objective(self) -> float:
        return float(self.h.getInfo().objective_function_value)

    def _dual_bound(self) -> float | None:
        return float(self.h.getInfo().mip_dual_bound)

    def _values(self) -> list[float]:
        return list(self.h.getSolution().col_value)

    def _status_text(self) -> str:
        return str(self.h.modelStatusToString(self.h.getModelStatus()))
