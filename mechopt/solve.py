"""The one place that names solvers.

``solve_model(model, solver="highs", time_limit=..., mip_gap=0.0)`` solves any Pyomo model
and returns a :class:`SolveResult` with a :class:`SolveStatus`.  HiGHS is reached through
Pyomo's persistent ``pyomo.contrib.solver`` interface (``SolverFactory("highs")``), which
also accepts quadratic objectives (``appsi_highs`` does not) and keeps the solver model
between solves, so constraints added to a model are sent incrementally.  Any other solver
name goes first to ``pyomo.contrib.solver`` and then to the classic ``pyomo.environ``
factory (``cbc``, ``glpk``, ``gurobi``, ...).

The relative MIP gap defaults to 0: HiGHS' own default of 1e-4 moves a VCG payment by up to
1e-4 times the welfare (references.md §1).  A result that is not proven optimal has a status
other than ``OPTIMAL`` and says so wherever it is printed.
"""

from __future__ import annotations

import enum
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SolveStatus",
    "SolveResult",
    "SolverError",
    "SolverNotFound",
    "NotProvenOptimal",
    "InfeasibleProblem",
    "get_solver",
    "solve_model",
    "DEFAULT_SOLVER",
]

DEFAULT_SOLVER = "highs"

#: Pyomo's HiGHS interface redirects this process's stdout/stderr file descriptors while it
#: solves, so two solves in threads of one process corrupt each other.  Solves in one process
#: therefore take turns; parallelism comes from processes (see mechopt.parallel).
_SOLVE_LOCK = threading.RLock()

#: ``threads`` of the last HiGHS solve in this process (None: HiGHS' default).  HiGHS keeps
#: one global thread scheduler per process, created by the first MIP solve; a later solve
#: asking for another explicit thread count fails ("unknown" status, no solution) unless the
#: scheduler is reset first (see :func:`_match_highs_threads`).
_highs_threads: int | None = None


def _match_highs_threads(threads: int | None) -> None:
    """Reset HiGHS' global scheduler before a solve with a different explicit ``threads``."""
    global _highs_threads
    if threads is not None and threads != _highs_threads:
        import highspy

        highspy.Highs.resetGlobalScheduler(True)
    _highs_threads = threads


class SolverError(RuntimeError):
    """The solver failed, or returned something that cannot be used."""


class SolverNotFound(SolverError):
    """The named solver is not installed or not known to Pyomo."""


class InfeasibleProblem(SolverError):
    """The model has no feasible solution (proven by the solver)."""


class NotProvenOptimal(SolverError):
    """A result that must be proven optimal (for example a payment) is not."""


class SolveStatus(enum.Enum):
    """Outcome of one solve, from the point of view of a user who needs optimality."""

    OPTIMAL = "optimal"
    """Proven optimal within the requested gap (gap 0 unless the caller relaxed it)."""
    FEASIBLE = "feasible (not proven optimal)"
    """A feasible solution was found but optimality was not proven (time limit, ...)."""
    NO_SOLUTION = "no solution found"
    """The solver stopped (time limit, ...) before finding any feasible solution."""
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    ERROR = "solver error"

    @property
    def is_optimal(self) -> bool:
        return self is SolveStatus.OPTIMAL

    @property
    def has_solution(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)

    @staticmethod
    def worst(statuses: list[SolveStatus] | tuple[SolveStatus, ...]) -> SolveStatus:
        """The least favourable status of several solves (OPTIMAL only if all are)."""
        order = list(SolveStatus)
        return max(statuses, key=order.index, default=SolveStatus.OPTIMAL)


@dataclass(frozen=True)
class SolveResult:
    """What one solve returned.

    ``objective`` is the incumbent's objective (None without a solution), ``bound`` the best
    proven bound, ``gap`` the relative gap between them (0 when proven optimal), ``seconds``
    the wall-clock time of the solver call including the transfer of the model to the solver.
    """

    status: SolveStatus
    objective: float | None
    bound: float | None
    seconds: float
    solver: str
    message: str = ""
    mip_gap: float = 0.0
    solver_seconds: float | None = None
    """The solver's own run time, when it reports one (HiGHS does); ``seconds`` minus this
    is the time spent in the modelling layer (model transfer, status and solution)."""

    @property
    def is_optimal(self) -> bool:
        return self.status.is_optimal

    @property
    def gap(self) -> float | None:
        if self.status.is_optimal:
            return 0.0
        if self.objective is None or self.bound is None:
            return None
        denom = max(abs(self.objective), 1e-10)
        return abs(self.bound - self.objective) / denom

    def require_optimal(self, what: str = "this result") -> None:
        """Raise :class:`NotProvenOptimal` unless the solve is proven optimal."""
        if not self.is_optimal:
            raise NotProvenOptimal(f"{what} is not proven optimal: {self.status.value} {self.message}".rstrip())


# --------------------------------------------------------------------------------------
# solver lookup
# --------------------------------------------------------------------------------------
_LEGACY_OPTION_NAMES: dict[str, tuple[str, str]] = {
    # solver: (time-limit option, relative-gap option)
    "cbc": ("seconds", "ratioGap"),
    "glpk": ("tmlim", "mipgap"),
    "gurobi": ("TimeLimit", "MIPGap"),
    "cplex": ("timelimit", "mipgap"),
    "scip": ("limits/time", "limits/gap"),
    "appsi_highs": ("time_limit", "mip_rel_gap"),
}


def _contrib_factory():
    from pyomo.contrib.solver.common.factory import SolverFactory

    return SolverFactory


def get_solver(name: str = DEFAULT_SOLVER) -> Any:
    """A Pyomo solver object for ``name``; raises :class:`SolverNotFound` with a hint.

    ``pyomo.contrib.solver`` interfaces (``highs``, ``gurobi_persistent``, ...) are
    persistent: keep the returned object to re-solve a model after changing it.
    """
    import pyomo.environ as pyo

    factory = _contrib_factory()
    if name in factory:
        solver = factory(name)
        if not solver.available():
            hint = " (pip install highspy)" if name == "highs" else ""
            raise SolverNotFound(f"solver {name!r} is not available{hint}")
        return solver
    import io

    from pyomo.common.log import LoggingIntercept

    try:
        # Pyomo logs a traceback for unknown names; keep it out of the user's terminal
        with LoggingIntercept(io.StringIO(), "pyomo"):
            solver = pyo.SolverFactory(name)
    except Exception as exc:  # pragma: no cover - pyomo raises for odd names only
        raise SolverNotFound(f"unknown solver {name!r}: {exc}") from None
    if solver is None or not hasattr(solver, "available"):
        raise SolverNotFound(f"unknown solver {name!r}")
    try:
        ok = solver.available(exception_flag=False)
    except Exception:
        ok = False
    if not ok:
        raise SolverNotFound(f"solver {name!r} is not installed or not known to Pyomo")
    return solver


def _is_contrib(solver: Any) -> bool:
    from pyomo.contrib.solver.common.base import SolverBase

    return isinstance(solver, SolverBase)


def _finite(x: Any) -> float | None:
    if x is None:
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def solve_model(
    model: Any,
    solver: str | Any = DEFAULT_SOLVER,
    *,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    threads: int | None = None,
    options: dict[str, Any] | None = None,
    load_solutions: bool = True,
) -> SolveResult:
    """Solve a Pyomo model and load its solution (when there is one) into the model.

    Parameters
    ----------
    model: a Pyomo ``ConcreteModel`` with one active objective.
    solver: a solver name (HiGHS by default) or a solver object from :func:`get_solver`
        (reuse it to re-solve a changed model through the persistent interface).
    time_limit: seconds; a solve stopped by it is ``FEASIBLE`` or ``NO_SOLUTION``, never
        ``OPTIMAL``.
    mip_gap: relative MIP gap; 0 (the default) asks for proven optimality. The absolute
        gap is set to 0 as well when ``mip_gap`` is 0.
    threads: solver threads (None: the solver's default).
    options: solver-specific options, passed through unchanged.
    """
    if not hasattr(model, "component_data_objects"):
        raise TypeError(f"solve_model expected a Pyomo model, got {type(model).__name__}")
    if time_limit is not None and not (time_limit > 0):
        raise ValueError(f"time limit must be positive, got {time_limit}")
    if not (mip_gap >= 0):
        raise ValueError(f"mip gap must be >= 0, got {mip_gap}")
    name = solver if isinstance(solver, str) else getattr(solver, "name", type(solver).__name__)
    opt = get_solver(solver) if isinstance(solver, str) else solver
    if _is_contrib(opt):
        return _solve_contrib(opt, str(name), model, time_limit, mip_gap, threads, options, load_solutions)
    return _solve_legacy(opt, str(name), model, time_limit, mip_gap, threads, options, load_solutions)


def _solve_contrib(opt, name, model, time_limit, mip_gap, threads, options, load_solutions):
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

    kwargs: dict[str, Any] = {
        "raise_exception_on_nonoptimal_result": False,
        "load_solutions": False,
        "rel_gap": mip_gap,
    }
    if mip_gap == 0:
        kwargs["abs_gap"] = 0.0
    if time_limit is not None:
        kwargs["time_limit"] = float(time_limit)
    if threads is not None:
        kwargs["threads"] = int(threads)
    if options:
        kwargs["solver_options"] = dict(options)
    with _SOLVE_LOCK:
        if name == "highs":
            _match_highs_threads(None if threads is None else int(threads))
        start = time.perf_counter()
        try:
            res = opt.solve(model, **kwargs)
        except Exception as exc:  # the solver itself failed: report, do not guess
            raise SolverError(f"{name} failed: {exc}") from exc
        seconds = time.perf_counter() - start
    tc = res.termination_condition
    sol = res.solution_status
    has_solution = sol in (SolutionStatus.optimal, SolutionStatus.feasible)
    if tc == TerminationCondition.convergenceCriteriaSatisfied and sol == SolutionStatus.optimal:
        status = SolveStatus.OPTIMAL
    elif tc == TerminationCondition.provenInfeasible:
        status = SolveStatus.INFEASIBLE
    elif tc in (TerminationCondition.unbounded, TerminationCondition.infeasibleOrUnbounded):
        status = SolveStatus.UNBOUNDED
    elif tc in (TerminationCondition.error, TerminationCondition.licensingProblems):
        status = SolveStatus.ERROR
    elif has_solution:
        status = SolveStatus.FEASIBLE
    else:
        status = SolveStatus.NO_SOLUTION
    if has_solution and load_solutions:
        res.solution_loader.load_vars()
    objective = _finite(res.incumbent_objective) if has_solution else None
    bound = _finite(res.objective_bound)
    return SolveResult(
        status=status,
        objective=objective,
        bound=bound if bound is not None else (objective if status.is_optimal else None),
        seconds=seconds,
        solver=name,
        message=str(tc.name),
        mip_gap=mip_gap,
        solver_seconds=_finite(getattr(res.timing_info, "highs_time", None)),
    )


def _solve_legacy(opt, name, model, time_limit, mip_gap, threads, options, load_solutions):
    import pyomo.environ as pyo
    from pyomo.opt import SolutionStatus as LegacySolution
    from pyomo.opt import TerminationCondition as LegacyTC

    opts: dict[str, Any] = {}
    tl_name, gap_name = _LEGACY_OPTION_NAMES.get(name, ("time_limit", "mip_rel_gap"))
    if time_limit is not None:
        opts[tl_name] = time_limit
    opts[gap_name] = mip_gap
    if threads is not None:
        opts["threads"] = threads
    opts.update(options or {})
    with _SOLVE_LOCK:
        start = time.perf_counter()
        try:
            res = opt.solve(model, options=opts, load_solutions=False)
        except Exception as exc:
            raise SolverError(f"{name} failed: {exc}") from exc
        seconds = time.perf_counter() - start
    tc = res.solver.termination_condition
    has_solution = len(res.solution) > 0 and res.solution(0).status in (
        LegacySolution.optimal,
        LegacySolution.feasible,
        LegacySolution.bestSoFar,
    )
    if tc == LegacyTC.optimal and has_solution:
        status = SolveStatus.OPTIMAL
    elif tc == LegacyTC.infeasible:
        status = SolveStatus.INFEASIBLE
    elif tc in (LegacyTC.unbounded, LegacyTC.infeasibleOrUnbounded):
        status = SolveStatus.UNBOUNDED
    elif tc in (LegacyTC.error, LegacyTC.solverFailure, LegacyTC.internalSolverError):
        status = SolveStatus.ERROR
    elif has_solution:
        status = SolveStatus.FEASIBLE
    else:
        status = SolveStatus.NO_SOLUTION
    objective = None
    obj = next(model.component_data_objects(pyo.Objective, active=True))
    if has_solution:
        # the classic interface reports the objective only through the loaded solution
        model.solutions.load_from(res)
        objective = _finite(pyo.value(obj))
    sense_max = obj.sense == pyo.maximize
    bound = _finite(res.problem.upper_bound if sense_max else res.problem.lower_bound)
    return SolveResult(
        status=status,
        objective=objective,
        bound=bound if bound is not None else (objective if status.is_optimal else None),
        seconds=seconds,
        solver=name,
        message=str(tc),
        mip_gap=mip_gap,
    )
