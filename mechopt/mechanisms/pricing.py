"""The best deterministic menu for a sample of buyers (exact, via the pricing MILP).

:func:`solve_bundle_pricing` builds :func:`mechopt.formulations.pricing.build_bundle_pricing_model`,
solves it at gap 0 and returns a typed :class:`BundlePricing`.  :func:`pricing_revenue`
evaluates any price vector on any sample with the hard buyer choice of
:mod:`mechopt.menus.evaluate` (ties to the higher price; a buyer at utility 0 buys), so the
MILP's menu can be judged on fresh buyers exactly like a trained menu.  No torch here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mechopt.formulations.pricing import build_bundle_pricing_model, read_bundle_prices
from mechopt.solve import DEFAULT_SOLVER, SolveResult, SolveStatus, solve_model

__all__ = ["BundlePricing", "solve_bundle_pricing", "pricing_revenue", "hard_choices"]


@dataclass(frozen=True)
class BundlePricing:
    """Optimal prices of B bundles for N buyers.

    ``revenue`` is the MILP objective times the model's ``value_scale`` (mean payment per
    buyer on the sample; proven optimal only when ``status`` is OPTIMAL; ``solve`` reports
    the objective in the scaled unit); ``evaluated_revenue`` re-evaluates ``prices`` on the
    same sample with the hard choice (it can differ from ``revenue`` by solver tolerances
    when a buyer is indifferent).
    """

    prices: NDArray[Any]
    revenue: float
    evaluated_revenue: float
    status: SolveStatus
    solve: SolveResult | None
    bundle_names: tuple[str, ...]
    n_buyers: int

    @property
    def is_optimal(self) -> bool:
        return self.status.is_optimal


def hard_choices(values: NDArray[Any], prices: NDArray[Any], tol: float = 0.0) -> NDArray[Any]:
    """Index of the bundle each buyer buys, or -1 for nothing: highest utility
    ``v_nb − p_b``; ties (within ``tol``) to the higher price; utility ≥ −tol buys."""
    v = np.asarray(values, dtype=float)
    p = np.asarray(prices, dtype=float)
    u = v - p[None, :]
    best = u.max(axis=1)
    tied = u >= best[:, None] - tol
    pick = np.where(tied, p[None, :], -np.inf).argmax(axis=1)
    return np.where(best >= -tol, pick, -1)


def pricing_revenue(values: NDArray[Any], prices: NDArray[Any], tol: float = 0.0) -> float:
    """Mean revenue of ``prices`` ``(B,)`` for buyers ``values`` ``(N, B)``."""
    choice = hard_choices(values, prices, tol)
    p = np.asarray(prices, dtype=float)
    paid = np.where(choice >= 0, p[np.maximum(choice, 0)], 0.0)
    return float(paid.mean())


def solve_bundle_pricing(
    values: NDArray[Any],
    bundle_names: Sequence[str] | None = None,
    *,
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    threads: int | None = None,
) -> BundlePricing:
    """Optimal deterministic prices for buyers ``values`` ``(N, B)`` (gap 0)."""
    model = build_bundle_pricing_model(values, bundle_names)
    v = np.asarray(values, dtype=float)
    names = tuple(model.bundle_names)
    if len(model.PAIRS) == 0:  # nobody values anything: every menu earns 0
        zeros = np.zeros(v.shape[1])
        return BundlePricing(zeros, 0.0, 0.0, SolveStatus.OPTIMAL, None, names, v.shape[0])
    result = solve_model(model, solver, time_limit=time_limit, mip_gap=0.0, threads=threads)
    if not result.status.has_solution:
        return BundlePricing(np.full(v.shape[1], np.nan), float("nan"), float("nan"),
                             result.status, result, names, v.shape[0])
    prices = read_bundle_prices(model)
    scale = model.value_scale.value  # the MILP is solved in this unit (HiGHS' tolerances are absolute)
    # the solver's prices may exceed a marginal buyer's value by its feasibility tolerance;
    # evaluate with the same tolerance so the reported menu earns what the MILP says
    evaluated = pricing_revenue(v, prices, tol=1e-7 * scale)
    assert result.objective is not None  # has_solution: it has an objective
    return BundlePricing(prices, float(result.objective) * scale, evaluated, result.status, result,
                         names, v.shape[0])
