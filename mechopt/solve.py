"""The one place that names solvers.

``solve_model(model, solver="highs", time_limit=..., mip_gap=0.0)`` solves any Pyomo model
and returns a :class:`SolveResult` with a :class:`SolveStatus`.  :data:`BACKENDS` describes
each solver mechopt knows by plain name (``highs``, ``scip``, ``gurobi``, ``cplex``; after
the per-solver tables of linopy and qpsolvers): the Pyomo interfaces that reach it, the
solver's own names for relative gap, absolute gap, time limit and threads, and what to
install.  A plain name picks the backend's persistent interface (HiGHS, SCIP and Gurobi
through ``pyomo.contrib.solver``, CPLEX through the classic ``cplex_persistent``), which
keeps the solver model between solves.  A full Pyomo name (``gurobi_direct``,
``appsi_cplex``, ...) is used as given, with the option names of its backend; a name
mechopt does not know goes first to ``pyomo.contrib.solver`` and then to the classic
``pyomo.environ`` factory.  HiGHS is the default and the only required solver.

Every interface's stop reaches mechopt as Pyomo's ``TerminationCondition`` (contrib or
classic), which Pyomo maps from the solver's own status codes; two explicit tables below
turn those into :class:`Termination`, so that a time limit is ``TIME_LIMIT`` whichever
solver hit it.

The relative MIP gap defaults to 0: HiGHS' own default of 1e-4 moves a VCG payment by up to
1e-4 times the welfare (docs/auctions.md#mip-gap-0).  A result that is not proven optimal has a status
other than ``OPTIMAL`` and says so wherever it is printed.

A :class:`SolveStatus` keeps the solver's reason (a :class:`Termination`: time limit,
iteration limit, infeasible, solver error, ...) beside whether a feasible solution exists,
so that callers can tell a limit (more time may help) from a failure.  CVXPY problems
(:func:`solve_cvxpy`) and SciPy's ``linprog`` (:func:`solve_linprog`) report through the
same types.  Ctrl-C is never a status: HiGHS catches the KeyboardInterrupt raised in its
callback and reports a solve error, and Pyomo or CVXPY may wrap it in another exception;
every seam here re-raises it as :class:`KeyboardInterrupt`.
"""

from __future__ import annotations

import enum
import logging
import math
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from mechopt.errors import InputError, MechoptError

__all__ = [
    "Termination",
    "SolveStatus",
    "SolveResult",
    "SolverError",
    "SolverNotFound",
    "NotProvenOptimal",
    "InfeasibleProblem",
    "get_solver",
    "solve_model",
    "with_defaults",
    "Backend",
    "BACKENDS",
    "solver_backend",
    "pyomo_name",
    "supports_warm_start",
    "is_persistent",
    "DEFAULT_SOLVER",
    "prepare_highs_threads",
    "set_process_threads",
    "solver_threads",
    "not_optimal_error",
    "solve_cvxpy",
    "solve_linprog",
    "highspy_termination",
]

DEFAULT_SOLVER = "highs"
#: The solver of Pyomo QPs (the SSVM's primal): Pyomo's persistent HiGHS interface takes
#: quadratic objectives (``appsi_highs`` does not); HiGHS cannot solve MIQPs.
QP_SOLVER = "highs"
#: CVXPY's solvers for the SSVM's dual QP, in the order tried: HiGHS' active-set method
#: (exact when it certifies), then Clarabel's interior point as the fallback.
CVXPY_QP_SOLVERS: tuple[str, str] = ("HIGHS", "CLARABEL")

#: Pyomo's HiGHS interface redirects this process's stdout/stderr file descriptors while it
#: solves, so two solves in threads of one process corrupt each other.  Solves in one process
#: therefore take turns; parallelism comes from processes (see mechopt.parallel).
_SOLVE_LOCK = threading.RLock()

#: The ``threads`` option value that this process's HiGHS thread scheduler was last started
#: with (0 = HiGHS' default), or None before mechopt's first HiGHS solve in this process.
_HIGHS_SCHEDULER_THREADS: int | None = None


#: Threads for a solve whose caller leaves ``threads`` None, in this process: None is the
#: solver's own default (all cores for Gurobi and CPLEX, HiGHS' automatic choice).
#: :class:`mechopt.parallel.Executor` sets it in its worker processes to the cores per
#: worker (1 with two workers on two cores): solvers that each take every core while
#: several run side by side oversubscribe the machine (medium L3's VCG on 2 local workers
#: with HiGHS: 8.6–9.1 s at HiGHS' default, 5.3–6.1 s at one thread per solve).
_PROCESS_THREADS: int | None = None


def set_process_threads(threads: int | None) -> None:
    """Set this process's default for solves called with ``threads=None`` (see above)."""
    global _PROCESS_THREADS
    _PROCESS_THREADS = None if threads is None else int(threads)


def solver_threads(threads: int | None) -> int | None:
    """``threads``, or this process's default when it is None (:func:`set_process_threads`)."""
    return threads if threads is not None else _PROCESS_THREADS


def prepare_highs_threads(threads: int | None) -> None:
    """Make the next HiGHS solve in this process run with ``threads`` threads.

    HiGHS keeps one thread scheduler per process, started by the first solve with that
    solve's ``threads`` option; a later solve that asks for a different number fails
    ("Option 'threads' is set to 1 but the scheduler has already been initialized to use 2
    threads") and returns no solution.  Every HiGHS solve in mechopt (Pyomo, raw highspy,
    CVXPY's QP) calls this first: when the requested count differs from the running
    scheduler's, or when mechopt has not solved with HiGHS in this process yet (another
    library may have started the scheduler), the scheduler is reset, which costs about
    0.1 ms.  ``None`` means HiGHS' default (option value 0).
    """
    global _HIGHS_SCHEDULER_THREADS
    want = 0 if threads is None else int(threads)
    with _SOLVE_LOCK:
        if _HIGHS_SCHEDULER_THREADS != want:
            import highspy

            highspy.Highs.resetThreadScheduler(True)
            _HIGHS_SCHEDULER_THREADS = want


class SolverError(MechoptError, RuntimeError):
    """The solver failed, or returned something that cannot be used.

    ``status`` is the status of the solve behind it, when there was one (so that a caller
    that records failures, like the audit, keeps the solver's reason).
    """

    status: SolveStatus | None = None


class SolverNotFound(SolverError):
    """The named solver is not installed or not known to Pyomo."""


class InfeasibleProblem(SolverError):
    """The model has no feasible solution (proven by the solver)."""


class NotProvenOptimal(SolverError):
    """A result that must be proven optimal (for example a payment) is not."""


class Termination(enum.Enum):
    """Why the solver stopped, as it said (after linopy's ``TerminationCondition``).

    Members are ordered from the best to the worst outcome (see :meth:`SolveStatus.worst`).
    """

    OPTIMAL = "optimal"
    OBJECTIVE_LIMIT = "objective limit"
    TIME_LIMIT = "time limit"
    ITERATION_LIMIT = "iteration limit"
    UNKNOWN = "unknown"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible or unbounded"
    ERROR = "solver error"
    INTERRUPTED = "interrupted"

    @property
    def is_limit(self) -> bool:
        """A limit set by the caller stopped the solve: more time or iterations may prove it."""
        return self in (Termination.TIME_LIMIT, Termination.ITERATION_LIMIT, Termination.OBJECTIVE_LIMIT)


@dataclass(frozen=True)
class SolveStatus:
    """Outcome of one solve: why the solver stopped and whether it left a feasible solution.

    Both are kept so that a report can say "time limit (feasible, not proven optimal)" or
    "solver error" instead of folding every stop into "no solution".  The common outcomes
    are class constants (``SolveStatus.OPTIMAL``, ``INFEASIBLE``, ``UNBOUNDED``, ``ERROR``);
    compare statuses with ``==`` (they cross process boundaries by pickling).
    """

    termination: Termination
    has_solution: bool = False

    OPTIMAL: ClassVar[SolveStatus]
    INFEASIBLE: ClassVar[SolveStatus]
    UNBOUNDED: ClassVar[SolveStatus]
    ERROR: ClassVar[SolveStatus]

    def __post_init__(self) -> None:
        if self.termination is Termination.OPTIMAL and not self.has_solution:
            raise ValueError("an optimal status needs a solution")

    @property
    def is_optimal(self) -> bool:
        """Proven optimal within the requested gap (gap 0 unless the caller relaxed it)."""
        return self.termination is Termination.OPTIMAL

    @property
    def is_limit(self) -> bool:
        return self.termination.is_limit

    @property
    def value(self) -> str:
        """The status as printed: the solver's reason, and whether a solution exists."""
        reason = self.termination.value
        if self.is_optimal or self.termination in _NO_SOLUTION_EXPECTED:
            return reason
        if self.has_solution:
            return f"{reason} (feasible, not proven optimal)"
        return f"{reason} (no solution found)"

    def __str__(self) -> str:
        return self.value

    @staticmethod
    def worst(statuses: Iterable[SolveStatus]) -> SolveStatus:
        """The least favourable status of several solves (OPTIMAL only if all are)."""
        order = list(Termination)
        return max(
            statuses,
            key=lambda s: (order.index(s.termination), not s.has_solution),
            default=SolveStatus.OPTIMAL,
        )


_NO_SOLUTION_EXPECTED = (
    Termination.INFEASIBLE,
    Termination.UNBOUNDED,
    Termination.INFEASIBLE_OR_UNBOUNDED,
    Termination.ERROR,
)
SolveStatus.OPTIMAL = SolveStatus(Termination.OPTIMAL, True)
SolveStatus.INFEASIBLE = SolveStatus(Termination.INFEASIBLE)
SolveStatus.UNBOUNDED = SolveStatus(Termination.UNBOUNDED)
SolveStatus.ERROR = SolveStatus(Termination.ERROR)


def not_optimal_error(status: SolveStatus, text: str) -> BaseException:
    """The exception for a result that had to be proven optimal and is not.

    A limit gives :class:`NotProvenOptimal` (more time may prove it: CLI exit code 3), an
    interruption :class:`KeyboardInterrupt`, anything else :class:`SolverError`.
    """
    if status.termination is Termination.INTERRUPTED:
        return KeyboardInterrupt()
    exc = NotProvenOptimal(text) if status.is_limit else SolverError(text)
    exc.status = status
    return exc


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
    polished: bool | None = None
    """:func:`solve_clarabel` only: True when the active-set polishing certified the point as
    the exact optimum, False when it ran and did not (the interior point stays), None when it
    was not attempted (other solvers, ``polish=False``, no optimal interior point)."""

    @property
    def is_optimal(self) -> bool:
        return self.status.is_optimal

    @property
    def termination(self) -> Termination:
        return self.status.termination

    @property
    def has_solution(self) -> bool:
        return self.status.has_solution

    @property
    def is_limit(self) -> bool:
        return self.status.is_limit

    @property
    def gap(self) -> float | None:
        if self.status.is_optimal:
            return 0.0
        if self.objective is None or self.bound is None:
            return None
        denom = max(abs(self.objective), 1e-10)
        return abs(self.bound - self.objective) / denom

    def require_optimal(self, what: str = "this result") -> None:
        """Raise unless the solve is proven optimal (the exception: :func:`not_optimal_error`)."""
        if not self.is_optimal:
            text = f"{what} is not proven optimal: {self.status.value}"
            if self.message and self.message != self.status.termination.value:
                text += f" ({self.message})"
            raise not_optimal_error(self.status, text)


# --------------------------------------------------------------------------------------
# the solvers mechopt knows: one small description per backend (after linopy's and
# qpsolvers' per-solver tables)
# --------------------------------------------------------------------------------------
#: the time limit sent to a persistent solver for "no limit" (the largest value SCIP accepts;
#: HiGHS, Gurobi and CPLEX accept it too)
NO_TIME_LIMIT = 1e20

#: what to install for an optional solver
SOLVERS_EXTRA = "pip install 'mechopt[solvers]'"


@dataclass(frozen=True)
class Backend:
    """One solver as mechopt reaches it through Pyomo.

    ``interfaces`` are the Pyomo names that reach this solver; the first one is what the
    plain name (``--solver gurobi``) uses, a persistent interface where Pyomo has one, so
    that a model stays in the solver between re-solves.  ``pyomo.contrib.solver``
    interfaces take mechopt's settings through their common options (``rel_gap``,
    ``abs_gap``, ``time_limit``, ``threads``); the classic ``pyomo.environ`` interfaces take
    the solver's own parameter names, given here (None: the solver has no such parameter
    and the setting is dropped).  CPLEX's names use ``_`` for its parameter hierarchy
    (``mip.tolerances.mipgap``), as Pyomo's ``cplex_direct`` expects.  ``module`` is the
    Python package that must be importable (None: an executable on PATH), ``install`` how to
    get it.
    """

    name: str
    label: str
    interfaces: tuple[str, ...]
    module: str | None
    install: str
    rel_gap: str | None
    abs_gap: str | None
    time_limit: str | None
    threads: str | None

    def native_options(
        self, mip_gap: float, time_limit: float | None, threads: int | None
    ) -> dict[str, Any]:
        """mechopt's settings under this solver's own parameter names."""
        opts: dict[str, Any] = {}
        if self.rel_gap:
            opts[self.rel_gap] = mip_gap
        if mip_gap == 0 and self.abs_gap:
            opts[self.abs_gap] = 0.0
        if time_limit is not None and self.time_limit:
            opts[self.time_limit] = float(time_limit)
        if threads is not None and self.threads:
            opts[self.threads] = int(threads)
        return opts


#: every solver mechopt names, by plain name; HiGHS is the default and the only required one
BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("highs", "HiGHS", ("highs", "appsi_highs"), "highspy",
                "pip install highspy", "mip_rel_gap", "mip_abs_gap", "time_limit", "threads"),
        # SCIP solves single-threaded (its concurrent mode is a different algorithm)
        Backend("scip", "SCIP", ("scip_persistent", "scip_direct", "scip"), "pyscipopt",
                SOLVERS_EXTRA, "limits/gap", "limits/absgap", "limits/time", None),
        Backend("gurobi", "Gurobi", ("gurobi_persistent", "gurobi_direct", "appsi_gurobi", "gurobi"),
                "gurobipy", SOLVERS_EXTRA, "MIPGap", "MIPGapAbs", "TimeLimit", "Threads"),
        Backend("cplex", "CPLEX", ("cplex_persistent", "cplex_direct", "appsi_cplex", "cplex"),
                "cplex", SOLVERS_EXTRA, "mip_tolerances_mipgap", "mip_tolerances_absmipgap",
                "timelimit", "threads"),
        Backend("cbc", "CBC", ("cbc",), None, "install the cbc executable",
                "ratioGap", "allowableGap", "seconds", "threads"),
        Backend("glpk", "GLPK", ("glpk",), None, "install the glpsol executable",
                "mipgap", None, "tmlim", None),
    )
}


def solver_backend(name: str) -> Backend | None:
    """The backend that a plain or Pyomo solver name reaches (None: a name mechopt does not know)."""
    key = str(name).lower()
    if key in BACKENDS:
        return BACKENDS[key]
    for backend in BACKENDS.values():
        if key in backend.interfaces:
            return backend
    return None


def pyomo_name(name: str) -> str:
    """The Pyomo interface name for ``name`` (a plain name gives its backend's first interface)."""
    key = str(name).lower()
    return BACKENDS[key].interfaces[0] if key in BACKENDS else str(name)


def _contrib_factory() -> Any:
    from pyomo.contrib.solver.common.factory import SolverFactory

    return SolverFactory


def _missing(name: str, backend: Backend | None) -> SolverNotFound | None:
    """The error for a backend whose Python package is not importable (None: it is)."""
    import importlib.util

    if backend is None or backend.module is None:
        return None
    if importlib.util.find_spec(backend.module) is None:
        return SolverNotFound(
            f"solver {name!r} needs the Python package {backend.module}: {backend.install}"
        )
    return None


def get_solver(name: str = DEFAULT_SOLVER) -> Any:
    """A Pyomo solver object for ``name``; raises :class:`SolverNotFound` with a hint.

    ``name`` is a plain name (``highs``, ``scip``, ``gurobi``, ``cplex``: see
    :data:`BACKENDS`) or any Pyomo solver name.  ``pyomo.contrib.solver`` interfaces
    (``highs``, ``gurobi_persistent``, ``scip_persistent``) and the classic persistent
    ones (``cplex_persistent``) keep the model between solves: keep the returned object to
    re-solve a changed model.
    """
    import pyomo.environ as pyo

    backend = solver_backend(name)
    missing = _missing(name, backend)
    if missing is not None:
        raise missing
    interface = pyomo_name(name)
    if backend is not None and backend.name == "gurobi":
        _quiet_gurobi_release()
    factory = _contrib_factory()
    if interface in factory:
        solver = factory(interface)
        if not solver.available():
            hint = f" ({backend.install})" if backend is not None else ""
            raise SolverNotFound(
                f"solver {name!r} is not available: {solver.available().name}{hint}"
            )
        solver.mechopt_name = interface
        return solver
    import io

    from pyomo.common.log import LoggingIntercept

    try:
        # Pyomo logs a traceback for unknown names; keep it out of the user's terminal
        with LoggingIntercept(io.StringIO(), "pyomo"):
            solver = pyo.SolverFactory(interface)
    except Exception as exc:  # pragma: no cover - pyomo raises for odd names only
        raise SolverNotFound(f"unknown solver {name!r}: {exc}") from None
    if solver is None or not hasattr(solver, "available"):
        raise SolverNotFound(f"unknown solver {name!r}")
    try:
        ok = solver.available(exception_flag=False)
    except Exception:
        ok = False
    if not ok:
        hint = f" ({backend.install})" if backend is not None else ""
        raise SolverNotFound(f"solver {name!r} is not installed or not known to Pyomo{hint}")
    solver.mechopt_name = interface
    return solver


class _DropMessage(logging.Filter):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def _quiet_gurobi_release() -> None:
    """Pyomo 6.10's Gurobi interfaces count their environment's clients down past zero and
    then log "release_license() with -1 remaining environment clients" — on stdout, at the
    end of a run, after mechopt's output.  The count is Pyomo's bookkeeping only (the
    licence is released either way), so that one message is dropped."""
    logger = logging.getLogger("pyomo.contrib.solver.solvers.gurobi.gurobi_direct_base")
    if not any(isinstance(f, _DropMessage) for f in logger.filters):
        logger.addFilter(_DropMessage("remaining environment clients"))


#: options every solve of a backend gets (explicit ``options`` override them).  SCIP: no
#: log.  Pyomo captures a solver's output through a pipe drained by a Python thread, while
#: pyscipopt's ``optimize`` holds the GIL; a log longer than the pipe's buffer (64 KB, reached
#: by the audit's harder MILPs on medium L4) blocks SCIP's write forever — a deadlock seen in
#: ``mechopt bench wdp --solver scip``.
SOLVER_DEFAULTS: dict[str, dict[str, Any]] = {"scip": {"display/verblevel": 0}}


def _is_contrib(solver: Any) -> bool:
    from pyomo.contrib.solver.common.base import SolverBase

    return isinstance(solver, SolverBase)


def _backend_of(solver: Any, name: str) -> Backend | None:
    """The backend behind a solver object (by the name it was made with, else its class)."""
    backend = solver_backend(name)
    if backend is None:
        kind = type(solver).__name__.lower()
        backend = next((b for b in BACKENDS.values() if b.name in kind), None)
    return backend


def _uses_highs(solver: Any, name: str) -> bool:
    """True for Pyomo's HiGHS interfaces (``highs``, ``appsi_highs``)."""
    backend = _backend_of(solver, name)
    return backend is not None and backend.name == "highs"


def with_defaults(
    solver: str | Any, defaults: Mapping[str, dict[str, Any]], options: dict[str, Any] | None
) -> dict[str, Any] | None:
    """``options`` on top of ``defaults[backend]`` for the backend behind ``solver`` (a name
    or a solver object), e.g. HiGHS options that pay for one kind of model."""
    name = solver if isinstance(solver, str) else (getattr(solver, "mechopt_name", None) or "")
    backend = _backend_of(solver, str(name))
    merged = dict(defaults.get(backend.name, {})) if backend is not None else {}
    merged.update(options or {})
    return merged or None


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
    warm_start: bool = False,
) -> SolveResult:
    """Solve a Pyomo model and load its solution (when there is one) into the model.

    Parameters
    ----------
    model: a Pyomo ``ConcreteModel`` with one active objective.
    solver: a solver name (HiGHS by default) or a solver object from :func:`get_solver`
        (reuse it to re-solve a changed model through the persistent interface).
    time_limit: seconds; a solve stopped by it has termination ``TIME_LIMIT`` (with or
        without a solution), never ``OPTIMAL``.
    mip_gap: relative MIP gap; 0 (the default) asks for proven optimality. The absolute
        gap is set to 0 as well when ``mip_gap`` is 0.
    threads: solver threads (None: the solver's default).
    options: solver-specific options, passed through unchanged.
    warm_start: hand the variables' current values to the solver as a start solution, where
        the interface can (:func:`supports_warm_start`); ignored elsewhere.
    """
    if not hasattr(model, "component_data_objects"):
        raise TypeError(f"solve_model expected a Pyomo model, got {type(model).__name__}")
    if time_limit is not None and not (time_limit > 0):
        raise InputError(f"time limit must be positive, got {time_limit}")
    if not (mip_gap >= 0):
        raise InputError(f"mip gap must be >= 0, got {mip_gap}")
    opt = get_solver(solver) if isinstance(solver, str) else solver
    name = getattr(opt, "mechopt_name", None) or getattr(opt, "name", type(opt).__name__)
    warm_start = warm_start and supports_warm_start(opt)
    threads = solver_threads(threads)
    if is_persistent(opt):
        # a persistent solver keeps every parameter of its previous solve (Pyomo sets only
        # those given), so a solve without a limit after one with a limit would inherit it:
        # always send them.  0 threads is "automatic" for HiGHS, Gurobi, CPLEX and SCIP's LP.
        time_limit = NO_TIME_LIMIT if time_limit is None else time_limit
        threads = 0 if threads is None else threads
    options = with_defaults(opt, SOLVER_DEFAULTS, options)
    if _is_contrib(opt):
        return _solve_contrib(opt, str(name), model, time_limit, mip_gap, threads, options,
                              load_solutions, warm_start)
    return _solve_legacy(opt, str(name), model, time_limit, mip_gap, threads, options,
                         load_solutions, warm_start)


def supports_warm_start(solver: Any) -> bool:
    """Whether ``solver`` (an object from :func:`get_solver`) accepts a MIP start.

    Pyomo's contrib Gurobi and SCIP interfaces have ``warmstart_discrete_vars``; the classic
    direct and persistent interfaces (CPLEX, Gurobi) ``warmstart=True``.  Pyomo's contrib
    HiGHS interface has no MIP start (Pyomo 6.10).
    """
    if _is_contrib(solver):
        return "warmstart_discrete_vars" in solver.config
    capable = getattr(solver, "warm_start_capable", None)
    try:
        return bool(capable()) if capable is not None else False
    except Exception:
        return False


def is_persistent(solver: Any) -> bool:
    """Whether ``solver`` keeps the model between solves (changes are sent incrementally)."""
    from pyomo.contrib.solver.common.base import PersistentSolverBase
    from pyomo.solvers.plugins.solvers.persistent_solver import PersistentSolver

    return isinstance(solver, (PersistentSolverBase, PersistentSolver))


# --------------------------------------------------------------------------------------
# solver terminations -> Termination (explicit tables; anything unlisted is UNKNOWN)
# --------------------------------------------------------------------------------------
#: ``pyomo.contrib.solver`` TerminationCondition names
_CONTRIB_TERMINATION = {
    "convergenceCriteriaSatisfied": Termination.OPTIMAL,
    "maxTimeLimit": Termination.TIME_LIMIT,
    "iterationLimit": Termination.ITERATION_LIMIT,  # HiGHS' solution limit lands here too
    "objectiveLimit": Termination.OBJECTIVE_LIMIT,
    "minStepLength": Termination.ERROR,  # numerical trouble, not a limit the caller set
    "unbounded": Termination.UNBOUNDED,
    "provenInfeasible": Termination.INFEASIBLE,
    "infeasibleOrUnbounded": Termination.INFEASIBLE_OR_UNBOUNDED,
    "error": Termination.ERROR,
    "licensingProblems": Termination.ERROR,
    "interrupted": Termination.INTERRUPTED,
    "unknown": Termination.UNKNOWN,
    # locallyInfeasible (not proven) and emptyModel stay UNKNOWN
}

#: classic ``pyomo.opt.TerminationCondition`` names
_LEGACY_TERMINATION = {
    "optimal": Termination.OPTIMAL,
    "globallyOptimal": Termination.OPTIMAL,
    "maxTimeLimit": Termination.TIME_LIMIT,
    "maxIterations": Termination.ITERATION_LIMIT,
    "maxEvaluations": Termination.ITERATION_LIMIT,
    "minFunctionValue": Termination.OBJECTIVE_LIMIT,
    "minStepLength": Termination.ERROR,
    "unbounded": Termination.UNBOUNDED,
    "infeasible": Termination.INFEASIBLE,
    "infeasibleOrUnbounded": Termination.INFEASIBLE_OR_UNBOUNDED,
    "invalidProblem": Termination.ERROR,
    "solverFailure": Termination.ERROR,
    "internalSolverError": Termination.ERROR,
    "error": Termination.ERROR,
    "licensingProblems": Termination.ERROR,
    "resourceInterrupt": Termination.ERROR,  # out of memory or similar: more time won't help
    "userInterrupt": Termination.INTERRUPTED,
    "unknown": Termination.UNKNOWN,
    # locallyOptimal (not proven globally), feasible, intermediateNonInteger, noSolution
    # and other say nothing about why the solver stopped: UNKNOWN
}


#: ``highspy.HighsModelStatus`` names (for models solved through highspy directly)
_HIGHSPY_TERMINATION = {
    "kOptimal": Termination.OPTIMAL,
    "kTimeLimit": Termination.TIME_LIMIT,
    "kIterationLimit": Termination.ITERATION_LIMIT,
    "kSolutionLimit": Termination.ITERATION_LIMIT,
    "kInterrupt": Termination.INTERRUPTED,
    "kHighsInterrupt": Termination.INTERRUPTED,
    "kInfeasible": Termination.INFEASIBLE,
    "kUnbounded": Termination.UNBOUNDED,
    "kUnboundedOrInfeasible": Termination.INFEASIBLE_OR_UNBOUNDED,
    "kSolveError": Termination.ERROR,
    "kLoadError": Termination.ERROR,
    "kModelError": Termination.ERROR,
    "kPresolveError": Termination.ERROR,
    "kPostsolveError": Termination.ERROR,
    "kMemoryLimit": Termination.ERROR,
    "kObjectiveBound": Termination.OBJECTIVE_LIMIT,
    "kObjectiveTarget": Termination.OBJECTIVE_LIMIT,
}


#: CPLEX's solution status names (``Cplex.solution.status``) for the LPs and MILPs solved
#: here; unlisted (feasible without proof, relaxation statuses) are UNKNOWN
_CPLEX_TERMINATION = {
    "optimal": Termination.OPTIMAL,
    "MIP_optimal": Termination.OPTIMAL,
    "optimal_tolerance": Termination.OPTIMAL,  # within the gap asked for (0: proven optimal)
    "infeasible": Termination.INFEASIBLE,
    "MIP_infeasible": Termination.INFEASIBLE,
    "unbounded": Termination.UNBOUNDED,
    "MIP_unbounded": Termination.UNBOUNDED,
    "infeasible_or_unbounded": Termination.INFEASIBLE_OR_UNBOUNDED,
    "MIP_infeasible_or_unbounded": Termination.INFEASIBLE_OR_UNBOUNDED,
    "abort_time_limit": Termination.TIME_LIMIT,
    "abort_dettime_limit": Termination.TIME_LIMIT,
    "MIP_time_limit_feasible": Termination.TIME_LIMIT,
    "MIP_time_limit_infeasible": Termination.TIME_LIMIT,
    "MIP_dettime_limit_feasible": Termination.TIME_LIMIT,
    "MIP_dettime_limit_infeasible": Termination.TIME_LIMIT,
    "abort_iteration_limit": Termination.ITERATION_LIMIT,
    "node_limit_feasible": Termination.ITERATION_LIMIT,
    "node_limit_infeasible": Termination.ITERATION_LIMIT,
    "solution_limit": Termination.ITERATION_LIMIT,
    "abort_obj_limit": Termination.OBJECTIVE_LIMIT,
    "abort_primal_obj_limit": Termination.OBJECTIVE_LIMIT,
    "abort_dual_obj_limit": Termination.OBJECTIVE_LIMIT,
    "abort_user": Termination.INTERRUPTED,
    "MIP_abort_feasible": Termination.INTERRUPTED,
    "MIP_abort_infeasible": Termination.INTERRUPTED,
    "mem_limit_feasible": Termination.ERROR,
    "mem_limit_infeasible": Termination.ERROR,
    "fail_feasible": Termination.ERROR,
    "fail_infeasible": Termination.ERROR,
    "fail_feasible_no_tree": Termination.ERROR,
    "fail_infeasible_no_tree": Termination.ERROR,
}

#: Gurobi's status names (``gurobipy.GRB.Status``); unlisted (SUBOPTIMAL, INPROGRESS,
#: LOADED) say nothing about why the solver stopped: UNKNOWN
_GUROBI_TERMINATION = {
    "OPTIMAL": Termination.OPTIMAL,
    "INFEASIBLE": Termination.INFEASIBLE,
    "INF_OR_UNBD": Termination.INFEASIBLE_OR_UNBOUNDED,
    "UNBOUNDED": Termination.UNBOUNDED,
    "CUTOFF": Termination.OBJECTIVE_LIMIT,
    "USER_OBJ_LIMIT": Termination.OBJECTIVE_LIMIT,
    "ITERATION_LIMIT": Termination.ITERATION_LIMIT,
    "NODE_LIMIT": Termination.ITERATION_LIMIT,
    "SOLUTION_LIMIT": Termination.ITERATION_LIMIT,
    "WORK_LIMIT": Termination.ITERATION_LIMIT,
    "TIME_LIMIT": Termination.TIME_LIMIT,
    "INTERRUPTED": Termination.INTERRUPTED,
    "NUMERIC": Termination.ERROR,
    "MEM_LIMIT": Termination.ERROR,
}

#: SCIP's status strings (``pyscipopt.Model.getStatus()``); "gaplimit" is the relative gap
#: asked for, reached (as HiGHS' and the others' "optimal" within their gap)
_SCIP_TERMINATION = {
    "optimal": Termination.OPTIMAL,
    "gaplimit": Termination.OPTIMAL,
    "timelimit": Termination.TIME_LIMIT,
    "nodelimit": Termination.ITERATION_LIMIT,
    "totalnodelimit": Termination.ITERATION_LIMIT,
    "stallnodelimit": Termination.ITERATION_LIMIT,
    "sollimit": Termination.ITERATION_LIMIT,
    "bestsollimit": Termination.ITERATION_LIMIT,
    "restartlimit": Termination.ITERATION_LIMIT,
    "primallimit": Termination.OBJECTIVE_LIMIT,
    "duallimit": Termination.OBJECTIVE_LIMIT,
    "infeasible": Termination.INFEASIBLE,
    "unbounded": Termination.UNBOUNDED,
    "inforunbd": Termination.INFEASIBLE_OR_UNBOUNDED,
    "userinterrupt": Termination.INTERRUPTED,
    "terminate": Termination.INTERRUPTED,
    "memlimit": Termination.ERROR,
}


def scip_termination(status: str) -> Termination:
    """The :class:`Termination` of a SCIP status string (``"optimal"``, ``"timelimit"``, ...)."""
    return _SCIP_TERMINATION.get(status, Termination.UNKNOWN)


def cplex_parameter(c: Any, key: str) -> Any:
    """The parameter of ``cplex.Cplex`` object ``c`` at path ``key`` (levels separated by ``_``
    or ``.``, as Pyomo's ``cplex_direct`` names them: ``mip_strategy_search``)."""
    p: Any = c.parameters
    for part in key.replace(".", "_").split("_"):
        p = getattr(p, part)
    return p


def cplex_termination(status_name: str) -> Termination:
    """The :class:`Termination` of a CPLEX solution status name (``Cplex.solution.status[code]``)."""
    return _CPLEX_TERMINATION.get(status_name, Termination.UNKNOWN)


_GUROBI_ENV: Any = None


def gurobi_env() -> Any:
    """This process's Gurobi environment, silent (made on first use: a licence check), shared
    by every gurobipy model mechopt builds (kept WDP models, core separations)."""
    global _GUROBI_ENV
    if _GUROBI_ENV is None:
        import gurobipy as gp

        env = gp.Env(empty=True)
        env.setParam("OutputFlag", 0)
        env.start()
        _GUROBI_ENV = env
    return _GUROBI_ENV


def gurobi_termination(status_name: str) -> Termination:
    """The :class:`Termination` of a Gurobi status name (``"OPTIMAL"``, ``"TIME_LIMIT"``, ...)."""
    return _GUROBI_TERMINATION.get(status_name, Termination.UNKNOWN)


def highspy_termination(model_status: Any) -> Termination:
    """The :class:`Termination` of a ``highspy.HighsModelStatus`` (unlisted: UNKNOWN)."""
    return _HIGHSPY_TERMINATION.get(getattr(model_status, "name", str(model_status)), Termination.UNKNOWN)


def _status(termination: Termination, has_solution: bool) -> SolveStatus:
    """The status of a stop; "optimal" without a solution cannot be used: UNKNOWN."""
    if termination is Termination.OPTIMAL and not has_solution:
        termination = Termination.UNKNOWN
    return SolveStatus(termination, has_solution)


def _label(name: str) -> str:
    backend = solver_backend(name)
    if backend is None and "highs" in name.lower():
        backend = BACKENDS["highs"]
    return backend.label if backend is not None else name


@contextmanager
def _watch_sigint() -> Iterator[list[bool]]:
    """Record whether Ctrl-C (SIGINT) arrived during a solver call.

    A solver may swallow the KeyboardInterrupt that Python raises inside its callback and
    report a plain "solve error" (HiGHS does; whether its log names the interrupt depends on
    the Pyomo version).  The handler installed here marks the interruption, then behaves as
    the handler it replaces, so that the caller can turn the solver's answer into the
    KeyboardInterrupt it was.  Signal handlers can only be set in the main thread; elsewhere
    nothing is watched.
    """
    hit = [False]
    if threading.current_thread() is not threading.main_thread():
        yield hit
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        hit[0] = True
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield hit
    finally:
        signal.signal(signal.SIGINT, previous)


def _was_interrupted(exc: BaseException | None) -> bool:
    """True when ``exc`` wraps a KeyboardInterrupt (Pyomo and CVXPY re-raise it wrapped)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, KeyboardInterrupt) or "KeyboardInterrupt" in f"{type(exc).__name__} {exc}":
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _solver_failed(name: str, exc: Exception) -> BaseException:
    """The exception to raise for an exception out of a solver call."""
    if _was_interrupted(exc):
        return KeyboardInterrupt()
    return SolverError(f"{_label(name)} error: {' '.join(str(exc).split()) or type(exc).__name__}")


def _error_lines(log: str | None) -> str:
    """What the solver said about an error: the ``ERROR:`` lines of its log."""
    lines = [ln.strip() for ln in (log or "").splitlines() if ln.strip().upper().startswith("ERROR")]
    return " ".join(" ".join(lines).split())


def _message(name: str, termination: Termination, raw: str, log: str | None = None) -> str:
    """A message naming the cause: "HiGHS error: <its words>" for errors, else the raw name."""
    if termination is Termination.ERROR:
        said = _error_lines(log) or raw
        return f"{_label(name)} error: {said}"
    return raw


def _solve_contrib(opt: Any, name: str, model: Any, time_limit: float | None, mip_gap: float,
                   threads: int | None, options: dict[str, Any] | None, load_solutions: bool,
                   warm_start: bool = False) -> SolveResult:
    from pyomo.contrib.solver.common.results import SolutionStatus

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
    if warm_start:
        kwargs["warmstart_discrete_vars"] = True
    with _SOLVE_LOCK:
        if _uses_highs(opt, name):
            prepare_highs_threads(threads)
        start = time.perf_counter()
        with _watch_sigint() as interrupted:
            try:
                with warnings.catch_warnings():
                    # Pyomo's change detector (SCIP's persistent interface) warns on every solve
                    # that it ignores suffixes; mechopt's models have none
                    warnings.filterwarnings("ignore", message="ModelChangeDetector does not detect")
                    res = opt.solve(model, **kwargs)
            except Exception as exc:  # the solver itself failed: report, do not guess
                if interrupted[0]:
                    raise KeyboardInterrupt from exc
                raise _solver_failed(name, exc) from exc
        seconds = time.perf_counter() - start
    if interrupted[0]:
        raise KeyboardInterrupt
    tc = res.termination_condition
    log = getattr(res, "solver_log", None)
    has_solution = res.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
    termination = _CONTRIB_TERMINATION.get(tc.name, Termination.UNKNOWN)
    if tc.name == "convergenceCriteriaSatisfied" and res.solution_status != SolutionStatus.optimal:
        termination = Termination.UNKNOWN
    if "KeyboardInterrupt" in (log or ""):
        # HiGHS catches the KeyboardInterrupt raised in its callback and reports a solve error
        termination = Termination.INTERRUPTED
    if termination is Termination.INTERRUPTED:
        raise KeyboardInterrupt
    status = _status(termination, has_solution)
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
        message=_message(name, status.termination, tc.name, log),
        mip_gap=mip_gap,
        solver_seconds=_finite(getattr(res.timing_info, "highs_time", None)),
    )


def _solve_legacy(opt: Any, name: str, model: Any, time_limit: float | None, mip_gap: float,
                  threads: int | None, options: dict[str, Any] | None, load_solutions: bool,
                  warm_start: bool = False) -> SolveResult:
    import pyomo.environ as pyo
    from pyomo.opt import SolutionStatus as LegacySolution
    from pyomo.solvers.plugins.solvers.persistent_solver import PersistentSolver

    backend = _backend_of(opt, name)
    # a solver mechopt does not know gets HiGHS' option names, which most Pyomo plugins pass on
    opts = (backend or BACKENDS["highs"]).native_options(mip_gap, time_limit, threads)
    opts.update(options or {})
    persistent = isinstance(opt, PersistentSolver)
    mip_start = {"warmstart": True} if warm_start else {}
    with _SOLVE_LOCK:
        if _uses_highs(opt, name):
            prepare_highs_threads(threads)
        start = time.perf_counter()
        with _watch_sigint() as interrupted:
            try:
                if persistent:
                    # the classic persistent interfaces (cplex_persistent, ...) solve the model
                    # they were given by set_instance; a different model replaces it
                    if getattr(opt, "_pyomo_model", None) is not model:
                        opt.set_instance(model)
                    res = opt.solve(options=opts, load_solutions=False, **mip_start)
                else:
                    res = opt.solve(model, options=opts, load_solutions=False, **mip_start)
            except Exception as exc:
                if interrupted[0]:
                    raise KeyboardInterrupt from exc
                raise _solver_failed(name, exc) from exc
        seconds = time.perf_counter() - start
    if interrupted[0]:
        raise KeyboardInterrupt
    tc = res.solver.termination_condition
    has_solution = len(res.solution) > 0 and res.solution(0).status in (
        LegacySolution.optimal,
        LegacySolution.feasible,
        LegacySolution.bestSoFar,
    )
    said = str(getattr(res.solver, "message", None) or "")
    termination = _LEGACY_TERMINATION.get(getattr(tc, "name", str(tc)), Termination.UNKNOWN)
    cplex_said = _cplex_status(opt) if backend is not None and backend.name == "cplex" else None
    if cplex_said is not None and termination is Termination.ERROR:
        # Pyomo's CPLEX interfaces call every status they do not list an error, among them
        # "time limit exceeded, no integer solution": ask CPLEX itself
        termination = cplex_termination(cplex_said[0])
        tc = said = cplex_said[1]
    if "KeyboardInterrupt" in said:
        termination = Termination.INTERRUPTED
    if termination is Termination.INTERRUPTED:
        raise KeyboardInterrupt
    status = _status(termination, has_solution)
    objective = None
    obj = next(model.component_data_objects(pyo.Objective, active=True))
    if has_solution:
        # the classic interface reports the objective only through the loaded solution;
        # the direct and persistent interfaces load it themselves (their results hold none)
        if hasattr(opt, "load_vars"):
            opt.load_vars()
        else:
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
        message=_message(name, status.termination, str(tc), said),
        mip_gap=mip_gap,
    )


def _cplex_status(opt: Any) -> tuple[str, str] | None:
    """CPLEX's own status name and words after a solve through Pyomo (None: not at hand)."""
    cpx = getattr(opt, "_solver_model", None)
    try:
        solution = cpx.solution  # type: ignore[union-attr]
        code = solution.get_status()
        return str(solution.status[code]), str(solution.get_status_string())
    except Exception:
        return None


# --------------------------------------------------------------------------------------
# the same seam for CVXPY problems and SciPy's linprog
# --------------------------------------------------------------------------------------
#: CVXPY status strings (``user_limit`` is refined by the time limit, see solve_cvxpy)
_CVXPY_TERMINATION = {
    "optimal": Termination.OPTIMAL,
    "optimal_inaccurate": Termination.UNKNOWN,  # a solution, but not to the tolerances
    "infeasible": Termination.INFEASIBLE,
    "infeasible_inaccurate": Termination.UNKNOWN,
    "unbounded": Termination.UNBOUNDED,
    "unbounded_inaccurate": Termination.UNKNOWN,
    "infeasible_or_unbounded": Termination.INFEASIBLE_OR_UNBOUNDED,
    "user_limit": Termination.ITERATION_LIMIT,
    "solver_error": Termination.ERROR,
}


def solve_cvxpy(
    problem: Any,
    solver: str,
    *,
    options: dict[str, Any] | None = None,
    time_limit: float | None = None,
    threads: int | None = None,
) -> SolveResult:
    """Solve a CVXPY ``problem`` with ``solver`` and report it as a :class:`SolveResult`.

    The solution stays in the problem's variables.  A solver failure is a status (ERROR,
    with the solver's words in ``message``), not an exception, so that a caller can try
    another solver; a KeyboardInterrupt is re-raised however CVXPY wrapped it.  CVXPY's
    ``user_limit`` does not say which limit stopped the solver: it is TIME_LIMIT when a time
    limit was set and used up, ITERATION_LIMIT otherwise.  ``time_limit`` and ``threads``
    are passed to HiGHS only (other solvers take their options through ``options``).
    """
    import cvxpy as cp

    from mechopt.quiet import quiet_highs

    kwargs = dict(options or {})
    threads = solver_threads(threads)
    is_highs = solver == cp.HIGHS
    if is_highs and time_limit is not None:
        kwargs["time_limit"] = float(time_limit)
    if is_highs and threads is not None:
        kwargs["threads"] = int(threads)
    with _SOLVE_LOCK:
        if is_highs:
            prepare_highs_threads(threads)
            quiet_highs()  # the first Highs() of a process prints a banner to stdout
        start = time.perf_counter()
        try:
            with warnings.catch_warnings(), _watch_sigint() as interrupted:
                # an inaccurate or limited answer is a status here, not a warning
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                problem.solve(solver=solver, verbose=False, **kwargs)
            if interrupted[0]:
                raise KeyboardInterrupt
        except cp.error.SolverError as exc:
            if interrupted[0] or _was_interrupted(exc):
                raise KeyboardInterrupt from exc
            said = " ".join(str(exc).split()) or "failed"
            return SolveResult(SolveStatus.ERROR, None, None, time.perf_counter() - start, solver,
                               f"{_label(solver)} error: {said}")
        seconds = time.perf_counter() - start
    raw = str(problem.status)
    termination = _CVXPY_TERMINATION.get(raw, Termination.UNKNOWN)
    if raw == "user_limit" and time_limit is not None and seconds >= time_limit:
        termination = Termination.TIME_LIMIT
    has_solution = raw in ("optimal", "optimal_inaccurate", "user_limit") and problem.value is not None
    status = _status(termination, has_solution)
    objective = _finite(problem.value) if has_solution else None
    stats = getattr(problem, "solver_stats", None)
    return SolveResult(
        status=status,
        objective=objective,
        bound=objective if status.is_optimal else None,
        seconds=seconds,
        solver=solver,
        message=_message(solver, termination, raw),
        solver_seconds=_finite(getattr(stats, "solve_time", None)),
    )


#: Clarabel's ``SolverStatus`` names ("Almost" = a solution to the reduced tolerances only)
_CLARABEL_TERMINATION = {
    "Solved": Termination.OPTIMAL,
    "AlmostSolved": Termination.UNKNOWN,
    "PrimalInfeasible": Termination.INFEASIBLE,
    "AlmostPrimalInfeasible": Termination.UNKNOWN,
    "DualInfeasible": Termination.UNBOUNDED,
    "AlmostDualInfeasible": Termination.UNKNOWN,
    "MaxIterations": Termination.ITERATION_LIMIT,
    "MaxTime": Termination.TIME_LIMIT,
    "NumericalError": Termination.ERROR,
    "InsufficientProgress": Termination.ERROR,
}


def solve_clarabel(qp: Any, *, time_limit: float | None = None, polish: bool = True) -> tuple[Any, SolveResult]:
    """Solve ``min ½ xᵀPx + qᵀx s.t. Ax ≤ b`` with Clarabel's own API: (x or None, SolveResult).

    ``qp`` has the fields ``P``, ``q``, ``A``, ``b`` of
    :class:`mechopt.formulations.core_qp.ConicQP` (dense arrays or SciPy sparse matrices;
    every row in the nonnegative cone; P positive definite for ``polish``).  Clarabel's
    default tolerances, as CVXPY passes them.  A failure is a status, not an exception; x is
    returned with every solution, optimal or not (the status says which).

    No SciPy: Clarabel reads a matrix through its ``data``, ``indices``, ``indptr``, ``nnz``
    and ``shape`` attributes, which :class:`_Csc` provides from numpy.  In a process that
    has imported Pyomo, the first SciPy import also imports ``scipy.stats`` and more (a hook
    of ``pyomo.common.dependencies``): ~0.7 s, paid by every ``mechopt solve --payments
    core`` and audit while the QP went through SciPy or CVXPY.

    An interior-point method stops near, not at, the optimum: x is off by about the square
    root of its gap tolerance (1e-4 relative at Clarabel's 1e-8), too coarse for payments.
    ``polish`` then finishes as OSQP does (Stellato et al., "OSQP: an operator splitting
    solver for quadratic programs", Math. Prog. Comp. 12, 2020, §5.2): it takes the rows
    that are (nearly) tight at x as active, solves the equality-constrained QP on them
    exactly, and keeps that point only if it *certifies itself*: feasible for every row and
    with multipliers λ ≥ 0 on the active rows that satisfy Px + q + A_actᵀλ = 0 — the KKT
    conditions, so it is the optimum to rounding.  Otherwise Clarabel's x stays
    (``SolveResult.polished`` is False and the message says "not polished").
    """
    import clarabel
    import numpy as np

    settings = clarabel.DefaultSettings()
    settings.verbose = False
    if time_limit is not None:
        settings.time_limit = float(time_limit)
    start = time.perf_counter()

    def run(csc: Callable[[Any], Any]) -> Any:
        solver = clarabel.DefaultSolver(
            csc(np.triu(_dense(qp.P))), np.asarray(qp.q, dtype=float), csc(_dense(qp.A)),
            np.asarray(qp.b, dtype=float), [clarabel.NonnegativeConeT(qp.rows)], settings)
        return solver.solve()

    def scipy_csc(dense: Any) -> Any:
        import scipy.sparse

        return scipy.sparse.csc_matrix(dense)

    try:
        with _watch_sigint() as interrupted:
            try:
                solution = run(_Csc)
            except AttributeError:  # a Clarabel that reads more of a SciPy matrix than _Csc has
                solution = run(scipy_csc)
        if interrupted[0]:
            raise KeyboardInterrupt
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # bad data: a bare Exception, or in Clarabel 0.6 a Rust panic
        # (pyo3's PanicException derives from BaseException)
        said = " ".join(str(exc).split()) or "failed"
        return None, SolveResult(SolveStatus.ERROR, None, None, time.perf_counter() - start, "clarabel",
                                 f"Clarabel error: {said}")
    raw = str(solution.status).rsplit(".", 1)[-1]
    termination = _CLARABEL_TERMINATION.get(raw, Termination.UNKNOWN)
    x = np.asarray(solution.x, dtype=float)
    has_solution = raw in ("Solved", "AlmostSolved", "MaxIterations", "MaxTime") and bool(np.all(np.isfinite(x)))
    objective = _finite(solution.obj_val) if has_solution else None
    message = f"Clarabel error: {raw}" if termination is Termination.ERROR else raw
    polished: bool | None = None
    if polish and termination is Termination.OPTIMAL and has_solution:
        exact = _polish(qp, x, np.asarray(solution.z, dtype=float))
        polished = exact is not None
        if exact is not None:
            x = exact
            objective = float(0.5 * x @ (qp.P @ x) + qp.q @ x)
            message = f"{raw} (polished)"
        else:
            message = f"{raw} (not polished)"
    status = _status(termination, has_solution)
    result = SolveResult(
        status=status,
        objective=objective,
        bound=objective if status.is_optimal else None,
        seconds=time.perf_counter() - start,
        solver="clarabel",
        message=message,
        solver_seconds=_finite(getattr(solution, "solve_time", None)),
        polished=polished,
    )
    return (x if has_solution else None), result


#: the polished point must satisfy every row to this (relative to 1 + |b|: the core's revenue
#: cap comes from a simplex LP, feasible to ~1e-9, so the rows can disagree by that much) ...
_POLISH_FEASIBILITY = 1e-8
#: ... and the stationarity Px + q + Aᵀλ = 0 to this (relative to 1 + |Px + q|)
_POLISH_TOL = 1e-9


def _polish(qp: Any, x: Any, z: Any) -> Any | None:
    """The exact optimum on the rows active at the interior point ``x`` (duals ``z``), if it
    certifies itself by the KKT conditions; else None (see :func:`solve_clarabel`).

    The working set starts from the rows whose dual exceeds their slack (an interior point
    keeps z_i s_i ≈ μ on every row, so these are the active ones), taken by decreasing dual
    and skipping a row linearly dependent on those taken (a revenue cap 1e-9 above a core
    cut would otherwise make the system inconsistent).  Then the steps of the active-set
    method (Nocedal and Wright, *Numerical Optimization*, 2nd ed., Algorithm 16.3) fix a
    wrong guess: add the most violated row (exchanging it for a working row when it depends
    on them, by the dual ratio test of Goldfarb and Idnani, Math. Prog. 27, 1983), or drop
    the row of the most negative multiplier.
    """
    import numpy as np

    a, p = _dense(qp.A), _dense(qp.P)
    b = np.asarray(qp.b, dtype=float)
    q = np.asarray(qp.q, dtype=float)
    n = len(x)
    size = 1.0 + np.abs(b)
    dual = np.asarray(z, dtype=float)
    working: list[int] = []

    def independent(row: int) -> bool:
        return bool(np.linalg.matrix_rank(a[working + [row]]) == len(working) + 1)

    for row in sorted(np.flatnonzero(dual > b - a @ x), key=lambda r: -dual[r]):
        if len(working) < n and independent(int(row)):
            working.append(int(row))
    for _ in range(2 * n + 10):
        k = len(working)
        kkt = np.block([[p, a[working].T], [a[working], np.zeros((k, k))]])
        solution = np.linalg.lstsq(kkt, np.concatenate([-q, b[working]]), rcond=None)[0]
        x_pol, multipliers = solution[:n], solution[n:]
        violation = (a @ x_pol - b) / size
        worst = int(np.argmax(violation))
        if violation[worst] > _POLISH_FEASIBILITY:  # infeasible: the most violated row joins
            if len(working) < n and independent(worst):
                working.append(worst)
                continue
            # a_worst = Σ c_j a_j: it replaces the row whose multiplier reaches 0 first as
            # the new row's grows
            c = np.linalg.lstsq(a[working].T, a[worst], rcond=None)[0]
            ratios = [(multipliers[j] / c[j], j) for j in range(k) if c[j] > 1e-12]
            if not ratios:
                return None
            working[min(ratios)[1]] = worst
            continue
        gradient = p @ x_pol + q
        scale = 1.0 + float(np.linalg.norm(gradient))
        if k and multipliers.min() < -_POLISH_TOL * scale:
            working.pop(int(np.argmin(multipliers)))  # a wrong row: the most negative leaves
            continue
        # KKT: feasible (above), λ ≥ 0 on working rows that are tight by construction, and
        # stationarity, checked rather than trusted to the least-squares solve
        residual = gradient + (a[working].T @ multipliers if k else 0.0)
        return x_pol if float(np.linalg.norm(residual)) <= _POLISH_TOL * scale else None
    return None


def _dense(m: Any) -> Any:
    import numpy as np

    return m.toarray() if hasattr(m, "toarray") else np.asarray(m, dtype=float)


class _Csc:
    """A dense matrix in compressed sparse column form, with the attributes Clarabel reads
    from a ``scipy.sparse.csc_matrix``: ``data``, ``indices``, ``indptr``, ``nnz``, ``shape``
    (0.6) and ``has_canonical_format`` (0.11; sorted, no duplicates — true here).  Should a
    later Clarabel read more, :func:`solve_clarabel` falls back to SciPy's matrix."""

    has_canonical_format = True
    has_sorted_indices = True

    def __init__(self, dense: Any) -> None:
        import numpy as np

        cols, rows = np.nonzero(dense.T)  # column-major order, rows sorted within a column
        self.shape = (int(dense.shape[0]), int(dense.shape[1]))
        self.data = np.ascontiguousarray(dense[rows, cols], dtype=float)
        self.indices = rows.astype(np.int64)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=self.shape[1]))]).astype(np.int64)
        self.nnz = int(len(self.data))


#: ``scipy.optimize.linprog`` status codes (1 is refined by its message, see solve_linprog)
_LINPROG_TERMINATION = {
    0: Termination.OPTIMAL,
    1: Termination.ITERATION_LIMIT,
    2: Termination.INFEASIBLE,
    3: Termination.UNBOUNDED,
    4: Termination.ERROR,  # numerical difficulties
}


def solve_linprog(c: Any, *, time_limit: float | None = None, **kwargs: Any) -> tuple[Any, SolveResult]:
    """``scipy.optimize.linprog(c, method="highs", **kwargs)`` and its :class:`SolveResult`.

    SciPy ships its own copy of HiGHS (not highspy), so no thread scheduler is shared with
    the other HiGHS solves and :func:`prepare_highs_threads` does not apply.  Status 1
    ("iteration or time limit") is TIME_LIMIT when SciPy's message names the time limit.
    """
    from scipy.optimize import linprog

    kwargs.setdefault("method", "highs")
    if time_limit is not None:
        kwargs["options"] = {**kwargs.get("options", {}), "time_limit": float(time_limit)}
    start = time.perf_counter()
    try:
        res = linprog(c, **kwargs)
    except Exception as exc:
        if _was_interrupted(exc):
            raise KeyboardInterrupt from exc
        raise
    seconds = time.perf_counter() - start
    termination = _LINPROG_TERMINATION.get(int(res.status), Termination.UNKNOWN)
    said = " ".join(str(getattr(res, "message", "")).split())
    if termination is Termination.ITERATION_LIMIT and "time limit" in said.lower():
        termination = Termination.TIME_LIMIT
    has_solution = getattr(res, "x", None) is not None and termination is Termination.OPTIMAL
    status = _status(termination, has_solution)
    objective = _finite(res.fun) if has_solution else None
    result = SolveResult(
        status=status,
        objective=objective,
        bound=objective if status.is_optimal else None,
        seconds=seconds,
        solver="scipy-highs",
        message=f"HiGHS error: {said}" if termination is Termination.ERROR else said,
    )
    return res, result
