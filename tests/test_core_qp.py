"""The nearest-point QP in Clarabel's matrix form (mechopt.formulations.core_qp) against an
independent formulation of the same QP (CVXPY, written out here), on random data."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from mechopt.formulations.core_qp import build_nearest_point_qp
from mechopt.solve import SolveStatus, Termination, solve_clarabel


@st.composite
def qp_data(draw):
    n = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    lower = rng.uniform(0, 2, n)
    upper = lower + rng.uniform(0, 3, n)
    reference = lower if draw(st.booleans()) else np.zeros(n)
    cuts = []
    for _ in range(draw(st.integers(0, 8))):
        cols = sorted(rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False).tolist())
        # feasible: below what the upper bounds of its columns can pay
        rhs = float(rng.uniform(0, 1.0) * upper[cols].sum())
        cuts.append((cols, rhs))
        if draw(st.booleans()):  # a near copy: nearly parallel rows, as the core's cuts often are
            cuts.append((cols, rhs * (1 - 1e-9)))
    # the cap: the minimal revenue over the cuts (a simplex vertex, exact) plus a little, as
    # the core algorithm sets it
    a_ub = np.array([[-1.0 if j in cols else 0.0 for j in range(n)] for cols, _ in cuts]).reshape(-1, n)
    b_ub = np.array([-rhs for _, rhs in cuts])
    lp = linprog(np.ones(n), A_ub=a_ub if cuts else None, b_ub=b_ub if cuts else None,
                 bounds=list(zip(lower, upper, strict=True)), method="highs")
    assert lp.status == 0
    cap = float(lp.fun) + draw(st.sampled_from([1e-8, 1e-6, 0.1, 1.0]))
    return lower, upper, reference, cap, cuts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(qp_data())
def test_matrix_qp_matches_an_independent_formulation(data):
    lower, upper, reference, cap, cuts = data
    qp = build_nearest_point_qp(lower, upper, reference, cap, [c for c, _ in cuts], [r for _, r in cuts])
    x, result = solve_clarabel(qp)
    assert result.is_optimal and x is not None, result.message
    p = cp.Variable(len(lower))
    cons = [p >= lower, p <= upper, cp.sum(p) <= cap] + [cp.sum(p[cols]) >= rhs for cols, rhs in cuts]
    problem = cp.Problem(cp.Minimize(cp.sum_squares(p - reference)), cons)
    problem.solve(solver=cp.CLARABEL)
    assert problem.status == "optimal"
    # polished: feasible to rounding, and no worse than the independent interior point
    assert "(polished)" in result.message and result.polished is True
    # (to 1e-8 relative: the cap comes from a simplex LP, itself feasible to ~1e-9)
    def tol(rhs):
        return 1e-8 * (1 + abs(rhs))

    assert np.all(x >= lower - tol(lower)) and np.all(x <= upper + tol(upper)) and x.sum() <= cap + tol(cap)
    for cols, rhs in cuts:
        assert x[cols].sum() >= rhs - tol(rhs)
    # (the interior point may sit ~1e-8 outside rows, so its objective can be a little lower)
    theirs = np.sum((p.value - reference) ** 2)
    assert np.sum((x - reference) ** 2) <= theirs + 1e-6 * (1 + theirs)
    # the QP is strictly convex: one optimum, which an interior point finds to ~sqrt(1e-8)
    assert x == pytest.approx(p.value, abs=2e-4)
    # the reported objective is ½xᵀPx + qᵀx = ‖x − r‖² − ‖r‖²
    assert result.objective == pytest.approx(np.sum((x - reference) ** 2) - float(reference @ reference), abs=1e-9)


def test_polished_point_is_exact():
    # LLG scaled: p1 + p2 >= 1, 0.4 <= p1 <= 0.8, 0.2 <= p2 <= 0.6, nearest to (0.4, 0.2):
    # (0.6, 0.4) exactly; the interior point alone is off in the 5th digit
    qp = build_nearest_point_qp([0.4, 0.2], [0.8, 0.6], [0.4, 0.2], 1.0 + 1e-9, [[0, 1]], [1.0])
    x, result = solve_clarabel(qp)
    assert result.is_optimal and "(polished)" in result.message
    assert x == pytest.approx([0.6, 0.4], abs=1e-12)
    raw, unpolished = solve_clarabel(qp, polish=False)
    assert "polished" not in unpolished.message and unpolished.polished is None
    assert raw == pytest.approx([0.6, 0.4], abs=1e-3)
    # at a vertex, with the reference itself feasible: the reference, exactly
    qp = build_nearest_point_qp([1.27392337], [2.08328352], [1.27392337], 1.373923375939575, [], [])
    x, result = solve_clarabel(qp)
    assert x[0] == pytest.approx(1.27392337, abs=1e-12)


def test_clarabel_statuses():
    # lower > upper: infeasible, no solution, no exception
    qp = build_nearest_point_qp([2.0], [1.0], [0.0], 10.0, [], [])
    x, result = solve_clarabel(qp)
    assert x is None and not result.has_solution
    assert result.termination in (Termination.INFEASIBLE, Termination.UNKNOWN)
    # a cut that the upper bounds cannot pay
    qp = build_nearest_point_qp([0.0, 0.0], [1.0, 1.0], [0.0, 0.0], 10.0, [[0, 1]], [5.0])
    x, result = solve_clarabel(qp)
    assert x is None and result.status.termination is not Termination.OPTIMAL


def test_clarabel_bad_data_is_a_status():
    qp = build_nearest_point_qp([0.0], [1.0], [0.0], 1.0, [], [])
    broken = type(qp)(P=qp.P, q=np.zeros(3), A=qp.A, b=qp.b)  # q of the wrong length
    x, result = solve_clarabel(broken)
    assert x is None and result.status == SolveStatus(Termination.ERROR, False)
    assert result.message.startswith("Clarabel error")


def test_builder_checks_lengths():
    with pytest.raises(ValueError, match="differ in length"):
        build_nearest_point_qp([0.0, 1.0], [1.0], [0.0], 1.0, [], [])


def test_csc_conversion_matches_scipy():
    import scipy.sparse

    from mechopt.solve import _Csc

    rng = np.random.default_rng(0)
    for shape in [(1, 1), (5, 3), (7, 7), (3, 9)]:
        dense = rng.integers(-2, 3, size=shape).astype(float) * (rng.random(shape) < 0.4)
        ours, theirs = _Csc(dense), scipy.sparse.csc_matrix(dense)
        assert ours.shape == theirs.shape and ours.nnz == theirs.nnz
        assert np.array_equal(ours.indptr, theirs.indptr)
        assert np.array_equal(ours.indices, theirs.indices)
        assert np.array_equal(ours.data, theirs.data)


def test_scipy_matrices_are_accepted_too():
    import scipy.sparse

    qp = build_nearest_point_qp([0.4, 0.2], [0.8, 0.6], [0.4, 0.2], 1.0 + 1e-9, [[0, 1]], [1.0])
    sparse = type(qp)(P=scipy.sparse.csc_matrix(qp.P), q=qp.q, A=scipy.sparse.csc_matrix(qp.A), b=qp.b)
    x, result = solve_clarabel(sparse)
    assert "(polished)" in result.message and x == pytest.approx([0.6, 0.4], abs=1e-12)
