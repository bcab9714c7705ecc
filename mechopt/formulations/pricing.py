"""Optimal deterministic bundle pricing for a sample of buyers, as a Pyomo MILP.

Given N buyers and their values v_nb for B bundles (all non-empty bundles of m items for
the reference menus of docs/menus.md#exact-reference-menus), choose one price p_b ≥ 0 per bundle so that the
revenue of utility-maximizing buyers is largest — the best deterministic menu on that
sample.  Each buyer picks a bundle of highest utility v_nb − p_b, or nothing (utility 0);
ties are resolved in the seller's favour (the standard convention of optimal pricing,
e.g. Guruswami et al., "Profit-maximizing envy-free pricing", SODA 2005):

    max  (1/N) Σ_{n,b} t_nb
    s.t. Σ_b z_nb ≤ 1                                   every buyer n     (one_choice)
         t_nb ≤ p_b                                       every n, b        (pay_at_most_price)
         t_nb ≤ v_nb z_nb                                 every n, b        (pay_only_if_chosen)
         t_nb ≥ p_b − P_b (1 − z_nb)                      every n, b        (pay_price_if_chosen)
         u_n = Σ_b (v_nb z_nb − t_nb)                     every n           (utility)
         u_n ≥ v_nb − p_b                                 every n, b        (incentive)
         u_n ≥ 0,  0 ≤ p_b ≤ P_b,  0 ≤ t_nb ≤ P_b,  z_nb ∈ {0, 1}

so t_nb = p_b z_nb is what buyer n pays.  P_b = max_n v_nb is without loss of optimality:
a bundle priced above every value is bought by nobody, and lowering its price to P_b keeps
every previous choice utility-maximizing.  Pairs with v_nb = 0 get no variables: such a
buyer gains nothing from b and pays nothing for it, and its incentive row is implied by
u_n ≥ 0 and p_b ≥ 0.

The model is stated in units of ``model.value_scale``, a power of two near the largest value
(values, caps, prices and payments are all divided by it; exact in binary floating point):
HiGHS' tolerances are absolute, so values of 1e-8 or 1e20 would otherwise be below or far
above the solver's resolution.  :func:`read_bundle_prices` returns prices in the unit of the
values; the objective times ``value_scale`` is the revenue.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pyomo.environ as pyo
from numpy.typing import NDArray

from mechopt.errors import InputError

__all__ = ["build_bundle_pricing_model", "read_bundle_prices"]


def _check_values(values: NDArray[Any]) -> NDArray[Any]:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(f"values must be an (N buyers, B bundles) array with N, B >= 1, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError("values must be finite (found NaN or infinity)")
    if np.any(arr < 0):
        raise InputError("values must be non-negative")
    return arr


def build_bundle_pricing_model(
    values: NDArray[Any], bundle_names: Sequence[str] | None = None
) -> pyo.ConcreteModel:
    """Build (do not solve) the optimal-pricing MILP for ``values`` of shape ``(N, B)``.

    Components: ``BUYERS``, ``BUNDLES``, ``PAIRS`` (sets); ``value``, ``cap`` (params);
    ``price``, ``pay``, ``choose``, ``utility`` (vars); ``one_choice``, ``pay_at_most_price``,
    ``pay_only_if_chosen``, ``pay_price_if_chosen``, ``utility_definition``, ``incentive``
    (constraints); ``revenue`` (objective: mean payment per buyer); ``value_scale`` (param:
    every amount in the model is in this unit, see the module docstring).  ``bundle_names``
    label the bundles (default "0", "1", ...) and are kept in ``model.bundle_names``.
    """
    raw = _check_values(values)
    top = float(raw.max())
    scale = math.ldexp(1.0, math.frexp(top)[1] - 1) if top > 0 else 1.0
    v = raw / scale
    n_buyers, n_bundles = v.shape
    names = [str(b) for b in (bundle_names if bundle_names is not None else range(n_bundles))]
    if len(names) != n_bundles:
        raise ValueError(f"{len(names)} bundle names for {n_bundles} bundles")
    cap = v.max(axis=0)
    pairs = [(n, b) for n in range(n_buyers) for b in range(n_bundles) if v[n, b] > 0]

    m = pyo.ConcreteModel(name="optimal deterministic bundle pricing")
    m.bundle_names = names
    m.value_scale = pyo.Param(initialize=scale,
                              doc="Power of two near the largest value: the unit of every amount in the model")
    m.BUYERS = pyo.RangeSet(0, n_buyers - 1, doc="Buyers of the sample")
    m.BUNDLES = pyo.RangeSet(0, n_bundles - 1, doc="Bundles on the menu (one price each)")
    m.PAIRS = pyo.Set(initialize=pairs, dimen=2, ordered=True,
                      doc="(buyer, bundle) pairs with a positive value")
    m.value = pyo.Param(m.PAIRS, initialize={(n, b): float(v[n, b]) for n, b in pairs},
                        doc="Value v_nb of buyer n for bundle b")
    m.cap = pyo.Param(m.BUNDLES, initialize={b: float(cap[b]) for b in range(n_bundles)},
                      doc="Highest value of any buyer for the bundle (price bound P_b)")
    m.price = pyo.Var(m.BUNDLES, bounds=lambda mm, b: (0.0, mm.cap[b]), doc="Price p_b of bundle b")
    m.choose = pyo.Var(m.PAIRS, domain=pyo.Binary, doc="1 if buyer n buys bundle b")
    m.pay = pyo.Var(m.PAIRS, bounds=lambda mm, n, b: (0.0, mm.cap[b]),
                    doc="Payment t_nb = p_b z_nb of buyer n for bundle b")
    m.utility = pyo.Var(m.BUYERS, domain=pyo.NonNegativeReals,
                        doc="Utility u_n of buyer n from its choice (>= 0: IR)")

    by_buyer: dict[int, list[int]] = {n: [] for n in range(n_buyers)}
    for n, b in pairs:
        by_buyer[n].append(b)

    def one_choice(mm: Any, n: int) -> Any:
        if len(by_buyer[n]) < 2:
            return pyo.Constraint.Skip
        return sum(mm.choose[n, b] for b in by_buyer[n]) <= 1

    m.one_choice = pyo.Constraint(m.BUYERS, rule=one_choice, doc="Each buyer buys at most one bundle")
    m.pay_at_most_price = pyo.Constraint(
        m.PAIRS, rule=lambda mm, n, b: mm.pay[n, b] <= mm.price[b], doc="t_nb <= p_b")
    m.pay_only_if_chosen = pyo.Constraint(
        m.PAIRS, rule=lambda mm, n, b: mm.pay[n, b] <= mm.value[n, b] * mm.choose[n, b],
        doc="t_nb <= v_nb z_nb: no payment for a bundle not bought, at most its value (IR)")
    m.pay_price_if_chosen = pyo.Constraint(
        m.PAIRS, rule=lambda mm, n, b: mm.pay[n, b] >= mm.price[b] - mm.cap[b] * (1 - mm.choose[n, b]),
        doc="t_nb >= p_b - P_b (1 - z_nb): a buyer pays the full price of what it buys")
    m.utility_definition = pyo.Constraint(
        m.BUYERS,
        rule=lambda mm, n: mm.utility[n] == sum(mm.value[n, b] * mm.choose[n, b] - mm.pay[n, b]
                                                for b in by_buyer[n]),
        doc="u_n = value of the chosen bundle minus its price (0 for nothing)")
    m.incentive = pyo.Constraint(
        m.PAIRS, rule=lambda mm, n, b: mm.utility[n] >= mm.value[n, b] - mm.price[b],
        doc="The chosen bundle is utility-maximizing (no bundle is strictly better)")
    m.revenue = pyo.Objective(expr=sum(m.pay[n, b] for n, b in pairs) / n_buyers,
                              sense=pyo.maximize, doc="Mean payment per buyer")
    return m


def read_bundle_prices(model: pyo.ConcreteModel) -> NDArray[Any]:
    """The prices ``(B,)`` of a solved pricing model (clipped to their bounds), in the unit
    of the values (the model's prices times ``value_scale``).

    A bundle no buyer values has a price in no constraint and gets no value from the
    solver; it is priced at its bound (nobody buys it at a positive price)."""
    caps = np.array([model.cap[b] for b in model.BUNDLES], dtype=float)
    raw = [model.price[b].value for b in model.BUNDLES]
    prices = np.array([caps[b] if x is None else x for b, x in enumerate(raw)], dtype=float)
    return cast(NDArray[Any], np.clip(prices, 0.0, caps) * model.value_scale.value)
