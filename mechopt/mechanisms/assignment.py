"""Outcome rules for the assignment problem: ``n`` agents, ``q ≥ n`` items, each agent gets
exactly one item (Dütting et al., "Payment rules through discriminant-based classifiers",
EC 2012, §5.2 and §6.4).

* :func:`egalitarian_assignment`: lexicographic max-min (leximin) — maximize the smallest
  utility, then the second smallest, and so on — by the ordered-outcomes method of Ogryczak
  & Śliwiński (2006) as a sequence of Pyomo MILPs on HiGHS
  (:func:`mechopt.formulations.leximin.build_ordered_outcomes_model`), every level solved at
  MIP gap 0 and fixed with a tolerance (docs/leximin.md#fixing-levels-with-a-tolerance).
* :func:`utilitarian_assignment`: maximum total value (the linear assignment problem,
  solved exactly by the shortest-augmenting-path algorithm of ``scipy.optimize``).
* :func:`leximin_by_enumeration`: brute force over all ``q!/(q−n)!`` assignments — the
  reference the MILP is tested against, and :func:`leximin_vectors`, its vectorized form
  for many small instances at once.

Values are a 2-d array ``values[i, j]`` (agent ``i``, item ``j``); a result gives every
agent's item index.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mechopt.errors import InputError
from mechopt.formulations.leximin import (
    build_ordered_outcomes_model,
    check_assignment_values,
    read_assignment,
)
from mechopt.solve import (
    DEFAULT_SOLVER,
    SolverError,
    SolveResult,
    SolveStatus,
    get_solver,
    not_optimal_error,
    solve_model,
)

__all__ = [
    "AssignmentResult",
    "egalitarian_assignment",
    "utilitarian_assignment",
    "leximin_by_enumeration",
    "leximin_vectors",
    "LEXIMIN_ABS_TOL",
    "LEXIMIN_REL_TOL",
    "MAX_ENUMERATION",
]

#: absolute part of the tolerance with which an earlier leximin level is fixed
LEXIMIN_ABS_TOL = 1e-6
#: relative part of that tolerance: tol = max(abs, rel * |z_k|)
LEXIMIN_REL_TOL = 1e-9
#: largest number of assignments :func:`leximin_by_enumeration` will enumerate
MAX_ENUMERATION = 400_000


@dataclass(frozen=True)
class AssignmentResult:
    """An assignment and how it was found.

    ``items[i]`` is the item of agent ``i``; ``utilities[i]`` its value.  ``levels[k-1]`` is
    the sum of the ``k`` smallest utilities (computed exactly from the assignment).
    ``status`` is ``OPTIMAL`` only when every solve behind the result is proven optimal
    (always for the exact combinatorial methods); ``solves`` lists the MILP solves.
    """

    items: NDArray[Any]
    utilities: NDArray[Any]
    rule: str
    status: SolveStatus
    solves: tuple[SolveResult, ...] = ()
    seconds: float = 0.0

    @property
    def is_optimal(self) -> bool:
        return self.status.is_optimal

    @property
    def welfare(self) -> float:
        return math.fsum(self.utilities.tolist())

    @property
    def sorted_utilities(self) -> NDArray[Any]:
        return np.sort(self.utilities)

    @property
    def levels(self) -> tuple[float, ...]:
        s = self.sorted_utilities.tolist()
        return tuple(math.fsum(s[: k + 1]) for k in range(len(s)))


def _result(values: NDArray[Any], items: NDArray[Any], rule: str, status: SolveStatus,
            solves: tuple[SolveResult, ...] = (), seconds: float = 0.0) -> AssignmentResult:
    utilities = values[np.arange(values.shape[0]), items]
    return AssignmentResult(items, utilities, rule, status, solves, seconds)


def _sum_smallest(utilities: NDArray[Any], k: int) -> float:
    return math.fsum(np.sort(utilities)[:k].tolist())


def egalitarian_assignment(
    values: Any,
    *,
    solver: str | Any = DEFAULT_SOLVER,
    time_limit: float | None = None,
    threads: int | None = None,
    abs_tol: float = LEXIMIN_ABS_TOL,
    rel_tol: float = LEXIMIN_REL_TOL,
) -> AssignmentResult:
    """Leximin assignment by the ordered-outcomes method (see the module docstring).

    For k = 1..n: maximize ``level[k]`` (sum of the k smallest utilities) at MIP gap 0, read
    the rounded assignment, recompute its level value ``z_k`` exactly from the values (never
    from the solver's objective), and add ``level[k] ≥ z_k − tol`` with
    ``tol = max(abs_tol, rel_tol·|z_k|)`` — an equality would make the next solve infeasible
    when the solver's value carries an error such as 53.99999808 (docs/leximin.md#fixing-levels-with-a-tolerance).  The
    levels are therefore exact up to ``tol`` each.  One persistent HiGHS object re-solves
    the model, receiving only the new objective and the new row each time.

    When a level is not proven optimal (time limit), the sequence stops and the result
    carries that status with the incumbent assignment; a limit reached before any
    assignment raises :class:`NotProvenOptimal`, a solver failure :class:`SolverError`.  ``time_limit`` applies to each MILP; ``threads`` is passed to the
    solver (1 is fastest for these small MILPs when several run in parallel processes).
    """
    values = check_assignment_values(values)
    if not (abs_tol >= 0 and rel_tol >= 0):
        raise InputError("leximin tolerances must be non-negative")
    start = time.perf_counter()
    n = values.shape[0]
    model = build_ordered_outcomes_model(values)
    opt = get_solver(solver) if isinstance(solver, str) else solver
    solves: list[SolveResult] = []
    items: NDArray[Any] | None = None
    status = SolveStatus.OPTIMAL
    for k in range(1, n + 1):
        if k > 1:
            model.level_objective[k - 1].deactivate()
            model.level_objective[k].activate()
        result = solve_model(model, opt, time_limit=time_limit, mip_gap=0.0, threads=threads)
        solves.append(result)
        if not result.has_solution:
            text = f"leximin level {k} returned no assignment: {result.status.value}"
            if result.is_limit:
                text += f"; raise the {result.termination.value}"
            elif result.message != result.termination.value:
                text += f" ({result.message})"
            raise not_optimal_error(result.status, text)
        try:
            items = read_assignment(model)
        except ValueError as exc:
            raise SolverError(str(exc)) from None
        utilities = values[np.arange(n), items]
        z = _sum_smallest(utilities, k)
        tol = max(abs_tol, rel_tol * abs(z))
        if result.objective is not None and result.objective > z + max(tol, 1e-6 * max(1.0, abs(z))):
            raise SolverError(
                f"leximin level {k}: solver objective {result.objective!r} exceeds the level "
                f"{z!r} of its own assignment"
            )
        if not result.is_optimal:
            status = result.status
            break
        if k < n:
            model.fixed_levels.add(model.level[k] >= z - tol)
    assert items is not None
    return _result(values, items, "egalitarian", status, tuple(solves), time.perf_counter() - start)


def utilitarian_assignment(values: Any) -> AssignmentResult:
    """Welfare-maximizing assignment (exact; ``scipy.optimize.linear_sum_assignment``)."""
    from scipy.optimize import linear_sum_assignment

    values = check_assignment_values(values)
    start = time.perf_counter()
    rows, cols = linear_sum_assignment(values, maximize=True)
    items = np.empty(values.shape[0], dtype=np.int64)
    items[rows] = cols
    return _result(values, items, "utilitarian", SolveStatus.OPTIMAL, (), time.perf_counter() - start)


def _injections(n: int, q: int) -> NDArray[Any]:
    count = math.perm(q, n)
    if count > MAX_ENUMERATION:
        raise InputError(
            f"enumerating {count} assignments of {n} agents to {q} items is too many "
            f"(limit {MAX_ENUMERATION}); use egalitarian_assignment (MILP)"
        )
    return np.array(list(itertools.permutations(range(q), n)), dtype=np.int64).reshape(count, n)


def _lexmax_rows(sorted_vals: NDArray[Any]) -> NDArray[Any]:
    """Boolean mask ``(..., P)`` of the rows whose sorted vectors are lexicographically largest."""
    best = np.ones(sorted_vals.shape[:-1], dtype=bool)
    for level in range(sorted_vals.shape[-1]):
        col = np.where(best, sorted_vals[..., level], -np.inf)
        best &= col == col.max(axis=-1, keepdims=True)
    return best


def leximin_by_enumeration(values: Any) -> tuple[NDArray[Any], list[NDArray[Any]]]:
    """Brute-force leximin: the optimal sorted utility vector and *every* optimal assignment.

    Compares sorted utility vectors exactly (no sums, no tolerance), so ties — integer values,
    repeated values — are resolved exactly.  Raises ValueError beyond
    :data:`MAX_ENUMERATION` assignments.
    """
    values = check_assignment_values(values)
    n, q = values.shape
    perms = _injections(n, q)
    utilities = values[np.arange(n), perms]  # (P, n)
    sorted_vals = np.sort(utilities, axis=1)
    best = _lexmax_rows(sorted_vals)
    winners = [perms[p].copy() for p in np.flatnonzero(best)]
    return sorted_vals[np.flatnonzero(best)[0]], winners


def leximin_vectors(values: NDArray[Any], chunk: int = 256) -> NDArray[Any]:
    """Sorted leximin utility vectors ``(N, n)`` of a batch ``values`` ``(N, n, q)``, by enumeration.

    Exact (see :func:`leximin_by_enumeration`); intended for the small sub-problems behind the
    tot-vcg / eg-vcg prices (``n ≤ 7``).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 3:
        raise InputError(f"expected values of shape (instances, agents, items), got {values.shape}")
    n_inst, n, q = values.shape
    if n == 0:
        return np.zeros((n_inst, 0))
    perms = _injections(n, q)
    out = np.empty((n_inst, n))
    step = max(1, chunk * 720 // max(1, len(perms)))
    agents = np.arange(n)
    for lo in range(0, n_inst, step):
        block = values[lo : lo + step]  # (B, n, q)
        utilities = block[:, agents, perms]  # (B, P, n)
        sorted_vals = np.sort(utilities, axis=2)
        best = _lexmax_rows(sorted_vals)
        first = best.argmax(axis=1)
        out[lo : lo + step] = sorted_vals[np.arange(len(block)), first]
    return out
