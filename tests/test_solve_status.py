"""Solver statuses say what happened: the solver's reason, its words, and Ctrl-C as Ctrl-C."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.opt import TerminationCondition as LegacyTC

import mechopt.mechanisms.wdp as wdp_module
from mechopt.io import load_auction
from mechopt.mechanisms import solve_wdp
from mechopt.solve import (
    NotProvenOptimal,
    SolverError,
    SolveResult,
    SolveStatus,
    Termination,
    _solve_contrib,
    _solve_legacy,
    solve_cvxpy,
    solve_linprog,
)

CATS = Path(__file__).resolve().parent.parent / "data" / "cats"

CONTRIB = {
    "convergenceCriteriaSatisfied": Termination.OPTIMAL,
    "maxTimeLimit": Termination.TIME_LIMIT,
    "iterationLimit": Termination.ITERATION_LIMIT,
    "objectiveLimit": Termination.OBJECTIVE_LIMIT,
    "minStepLength": Termination.ERROR,
    "unbounded": Termination.UNBOUNDED,
    "provenInfeasible": Termination.INFEASIBLE,
    "locallyInfeasible": Termination.UNKNOWN,
    "infeasibleOrUnbounded": Termination.INFEASIBLE_OR_UNBOUNDED,
    "error": Termination.ERROR,
    "licensingProblems": Termination.ERROR,
    "emptyModel": Termination.UNKNOWN,
    "unknown": Termination.UNKNOWN,
}


def _model():
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 1))
    m.o = pyo.Objective(expr=m.x, sense=pyo.maximize)
    return m


class _FakeContrib:
    """Stands for a pyomo.contrib.solver solver that stops with a given condition."""

    def __init__(self, tc, solution=SolutionStatus.noSolution, log="", raises=None):
        self.tc, self.solution, self.log, self.raises = tc, solution, log, raises

    def solve(self, model, **kwargs):
        if self.raises is not None:
            raise self.raises
        return SimpleNamespace(
            termination_condition=self.tc, solution_status=self.solution, solver_log=self.log,
            incumbent_objective=None, objective_bound=None, timing_info=SimpleNamespace(),
            solution_loader=None,
        )


def _contrib(tc, **kw):
    return _solve_contrib(_FakeContrib(tc, **kw), "highs", _model(), None, 0.0, None, None, False)


def test_every_contrib_condition_is_mapped_explicitly():
    assert set(CONTRIB) | {"interrupted"} == set(TerminationCondition.__members__)
    for name, want in CONTRIB.items():
        solution = SolutionStatus.optimal if want is Termination.OPTIMAL else SolutionStatus.noSolution
        assert _contrib(TerminationCondition[name], solution=solution).termination is want, name


def test_a_limit_keeps_its_reason_with_or_without_a_solution():
    stopped = _contrib(TerminationCondition.maxTimeLimit)
    assert stopped.status == SolveStatus(Termination.TIME_LIMIT, has_solution=False)
    assert stopped.is_limit and not stopped.has_solution
    assert stopped.status.value == "time limit (no solution found)"
    feasible = _contrib(TerminationCondition.iterationLimit, solution=SolutionStatus.feasible)
    assert feasible.status.value == "iteration limit (feasible, not proven optimal)"


def test_solver_error_says_what_highs_said():
    log = "Running HiGHS\nERROR:   Option 'threads' is set to 1 but the scheduler has 2\n"
    result = _contrib(TerminationCondition.error, log=log)
    assert result.status == SolveStatus.ERROR and not result.is_limit
    assert result.message == "HiGHS error: ERROR: Option 'threads' is set to 1 but the scheduler has 2"


def test_interrupt_is_raised_not_reported():
    with pytest.raises(KeyboardInterrupt):
        _contrib(TerminationCondition.interrupted)
    # HiGHS catches the KeyboardInterrupt of its callback and reports a solve error
    log = "ERROR:   Exception KeyboardInterrupt: <EMPTY MESSAGE>\n in MIP solver\n"
    with pytest.raises(KeyboardInterrupt):
        _contrib(TerminationCondition.error, log=log)
    # Pyomo may wrap the interrupt in another exception
    wrapped = RuntimeError("KeyboardInterrupt: (4: <pyomo.common.tee.TeeStream object>)")
    with pytest.raises(KeyboardInterrupt):
        _contrib(TerminationCondition.unknown, raises=wrapped)
    chained = ValueError("capture failed")
    chained.__context__ = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        _contrib(TerminationCondition.unknown, raises=chained)


def test_solver_exception_names_the_solver():
    with pytest.raises(SolverError, match=r"^HiGHS error: bad model$"):
        _contrib(TerminationCondition.unknown, raises=ValueError("bad model"))


@pytest.mark.parametrize(
    "tc, want",
    [
        (LegacyTC.optimal, Termination.OPTIMAL),
        (LegacyTC.maxTimeLimit, Termination.TIME_LIMIT),
        (LegacyTC.maxIterations, Termination.ITERATION_LIMIT),
        (LegacyTC.maxEvaluations, Termination.ITERATION_LIMIT),
        (LegacyTC.minFunctionValue, Termination.OBJECTIVE_LIMIT),
        (LegacyTC.infeasible, Termination.INFEASIBLE),
        (LegacyTC.unbounded, Termination.UNBOUNDED),
        (LegacyTC.solverFailure, Termination.ERROR),
        (LegacyTC.internalSolverError, Termination.ERROR),
        (LegacyTC.licensingProblems, Termination.ERROR),
        (LegacyTC.feasible, Termination.UNKNOWN),
        (LegacyTC.other, Termination.UNKNOWN),
    ],
)
def test_legacy_conditions_are_mapped(tc, want):
    class Fake:
        def solve(self, model, **kwargs):
            return SimpleNamespace(
                solver=SimpleNamespace(termination_condition=tc, message=""),
                solution=[], problem=SimpleNamespace(upper_bound=None, lower_bound=None),
            )

    # an 'optimal' condition without a solution cannot be used: unknown
    expected = Termination.UNKNOWN if want is Termination.OPTIMAL else want
    assert _solve_legacy(Fake(), "cbc", _model(), None, 0.0, None, None, False).termination is expected


def test_legacy_user_interrupt_raises():
    class Fake:
        def solve(self, model, **kwargs):
            return SimpleNamespace(solver=SimpleNamespace(termination_condition=LegacyTC.userInterrupt,
                                                          message=""), solution=[])

    with pytest.raises(KeyboardInterrupt):
        _solve_legacy(Fake(), "cbc", _model(), None, 0.0, None, None, False)


def _stub_wdp(monkeypatch, status, message):
    def fake(model, *args, **kwargs):
        return SolveResult(status, None, None, 0.0, "highs", message)

    monkeypatch.setattr(wdp_module, "solve_model", fake)


@pytest.mark.parametrize("termination", [Termination.ERROR, Termination.UNKNOWN])
def test_wdp_without_incumbent_after_a_failure_raises_with_the_cause(monkeypatch, termination):
    _stub_wdp(monkeypatch, SolveStatus(termination), "HiGHS error: out of memory")
    with pytest.raises(SolverError, match="out of memory") as info:
        solve_wdp(load_auction(CATS / "L4_s0000.txt"))
    assert not isinstance(info.value, NotProvenOptimal)


def test_greedy_fallback_only_after_a_limit_and_labelled(monkeypatch):
    _stub_wdp(monkeypatch, SolveStatus(Termination.ITERATION_LIMIT), "iterationLimit")
    alloc = solve_wdp(load_auction(CATS / "L4_s0000.txt"))
    assert alloc.status == SolveStatus(Termination.ITERATION_LIMIT, has_solution=True)
    assert alloc.solve.message == "iteration limit before any incumbent: greedy allocation used"


def test_require_optimal_tells_a_limit_from_a_failure():
    limited = SolveResult(SolveStatus(Termination.TIME_LIMIT, True), 1.0, 2.0, 0.1, "highs", "maxTimeLimit")
    with pytest.raises(NotProvenOptimal, match="time limit"):
        limited.require_optimal("x")
    failed = SolveResult(SolveStatus.ERROR, None, None, 0.1, "highs", "HiGHS error: boom")
    with pytest.raises(SolverError, match="HiGHS error: boom") as info:
        failed.require_optimal("x")
    assert not isinstance(info.value, NotProvenOptimal)


# --------------------------------------------------------------------------------------
# CVXPY and SciPy through the same seam
# --------------------------------------------------------------------------------------
def test_cvxpy_statuses():
    import cvxpy as cp

    x = cp.Variable()
    ok = solve_cvxpy(cp.Problem(cp.Minimize(cp.square(x - 1))), cp.CLARABEL)
    assert ok.is_optimal and ok.objective == pytest.approx(0, abs=1e-6)
    bad = solve_cvxpy(cp.Problem(cp.Minimize(x), [x >= 1, x <= 0]), cp.HIGHS)
    assert bad.termination in (Termination.INFEASIBLE, Termination.INFEASIBLE_OR_UNBOUNDED)
    free = solve_cvxpy(cp.Problem(cp.Minimize(x)), cp.CLARABEL)
    assert free.termination is Termination.UNBOUNDED


def test_cvxpy_limit_and_error(monkeypatch):
    import cvxpy as cp

    x = cp.Variable()
    problem = cp.Problem(cp.Minimize(cp.square(x - 1)))

    def limited(self, **kwargs):
        self._status = "user_limit"
        self._value = 0.5
        return 0.5

    monkeypatch.setattr(cp.Problem, "solve", limited)
    assert solve_cvxpy(problem, cp.HIGHS).status == SolveStatus(Termination.ITERATION_LIMIT, True)

    def fails(self, **kwargs):
        raise cp.error.SolverError("Solver 'HIGHS' failed. Try another solver.")

    monkeypatch.setattr(cp.Problem, "solve", fails)
    failed = solve_cvxpy(problem, cp.HIGHS)
    assert failed.status == SolveStatus.ERROR and failed.message.startswith("HiGHS error: Solver 'HIGHS' failed")

    def interrupted(self, **kwargs):
        raise cp.error.SolverError("KeyboardInterrupt")

    monkeypatch.setattr(cp.Problem, "solve", interrupted)
    with pytest.raises(KeyboardInterrupt):
        solve_cvxpy(problem, cp.HIGHS)


def test_linprog_statuses():
    c = np.array([-1.0])
    res, ok = solve_linprog(c, bounds=[(0, 2)])
    assert ok.is_optimal and ok.objective == pytest.approx(-2) and res.x[0] == pytest.approx(2)
    _, infeasible = solve_linprog(c, A_ub=[[1.0], [-1.0]], b_ub=[0.0, -1.0], bounds=[(None, None)])
    assert infeasible.status == SolveStatus.INFEASIBLE
    _, unbounded = solve_linprog(c, bounds=[(0, None)])
    assert unbounded.termination is Termination.UNBOUNDED


def test_regret_lp_goes_through_the_seam(monkeypatch):
    import mechopt.solve as solve_module
    from mechopt.learning.regret_lp import fit_linear_prices

    def limited(c, **kwargs):
        res = SimpleNamespace(status=1, message="Time limit reached. (HiGHS Status 13: ...)", x=None, fun=None)
        return res

    monkeypatch.setattr("scipy.optimize.linprog", limited)
    assert solve_module.solve_linprog([1.0])[1].termination is Termination.TIME_LIMIT
    with pytest.raises(NotProvenOptimal, match="the regret LP is not proven optimal: time limit"):
        fit_linear_prices(np.zeros((2, 2, 1)), np.zeros((2, 2)), np.zeros(2, dtype=np.int64))
