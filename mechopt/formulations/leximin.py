"""Ordered-outcomes levels of the lexicographic max-min (leximin) assignment, as a Pyomo MILP.

Ogryczak & Śliwiński, "On direct methods for lexicographic min-max optimization" (ICCSA
2006), §3: for utilities u_1..u_n the sum of the k smallest is

    θ_k(u) = max { k·t_k − Σ_i d_ki  :  d_ki ≥ t_k − u_i,  d_ki ≥ 0 }          (docs/leximin.md#ordered-outcomes)

and the leximin optimum maximizes θ_1, θ_2, …, θ_n in turn, each level fixed before the
next.  The method is exact on integer domains (unlike the saturation method).  Here the
utilities come from an assignment of ``n`` agents to ``q ≥ n`` items, each agent receiving
exactly one item (Dütting et al., EC 2012, §5.2):

    u_i = Σ_j v_ij x_ij,   Σ_j x_ij = 1  (every agent),   Σ_i x_ij ≤ 1  (every item),  x binary.

:func:`build_ordered_outcomes_model` only builds: all n levels' variables and rows are in
the model, objective ``level_objective[1]`` is active and the others are deactivated, and
``fixed_levels`` is an empty ``ConstraintList``.  The sequence of solves (activate level k,
solve at gap 0, append ``level[k] ≥ z_k − tol``) is
:func:`mechopt.mechanisms.assignment.egalitarian_assignment`.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pyomo.environ as pyo
from numpy.typing import NDArray

from mechopt.errors import InputError

__all__ = ["build_ordered_outcomes_model", "read_assignment", "check_assignment_values"]


def check_assignment_values(values: Any) -> NDArray[Any]:
    """``values`` as a float array ``(n agents, q items)`` with ``q ≥ n ≥ 1``, all finite."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] < 1:
        raise InputError(f"assignment values must be a 2-d array (agents x items), got shape {values.shape}")
    n, q = values.shape
    if q < n:
        raise InputError(f"an assignment needs at least as many items as agents ({n} agents, {q} items)")
    if not np.all(np.isfinite(values)):
        raise InputError("assignment values must be finite (found NaN or infinity)")
    return cast(NDArray[Any], values)


def build_ordered_outcomes_model(values: NDArray[Any]) -> pyo.ConcreteModel:
    """Build (do not solve) the ordered-outcomes MILP of an ``n × q`` assignment (``q ≥ n``).

    Components: ``AGENTS``, ``ITEMS``, ``LEVELS`` (sets), ``value`` (param), ``x`` (binary
    assignment), ``t`` (free level thresholds), ``d`` (shortfalls ≥ 0), ``utility[i]`` and
    ``level[k]`` (expressions), ``one_item_per_agent``, ``one_agent_per_item``,
    ``shortfall`` (constraints), ``level_objective[k]`` (maximize ``level[k]``; only k = 1
    active), ``fixed_levels`` (empty constraint list for the fixed earlier levels).
    """
    values = check_assignment_values(values)
    n, q = values.shape
    m = pyo.ConcreteModel(name="leximin assignment (ordered outcomes)")
    m.AGENTS = pyo.RangeSet(0, n - 1, doc="Agents i")
    m.ITEMS = pyo.RangeSet(0, q - 1, doc="Items j")
    m.LEVELS = pyo.RangeSet(1, n, doc="Levels k: the sum of the k smallest utilities")
    m.value = pyo.Param(
        m.AGENTS, m.ITEMS, initialize={(i, j): float(values[i, j]) for i in range(n) for j in range(q)},
        doc="Value v_ij of agent i for item j",
    )
    m.x = pyo.Var(m.AGENTS, m.ITEMS, domain=pyo.Binary, doc="1 if agent i receives item j")
    m.t = pyo.Var(m.LEVELS, domain=pyo.Reals, doc="Threshold t_k of level k (the k-th smallest utility at the optimum)")
    m.d = pyo.Var(m.LEVELS, m.AGENTS, domain=pyo.NonNegativeReals, doc="Shortfall d_ki = max(0, t_k - u_i)")

    m.utility = pyo.Expression(
        m.AGENTS, rule=lambda mdl, i: sum(mdl.value[i, j] * mdl.x[i, j] for j in mdl.ITEMS),
        doc="Utility u_i of agent i",
    )
    m.level = pyo.Expression(
        m.LEVELS, rule=lambda mdl, k: k * mdl.t[k] - sum(mdl.d[k, i] for i in mdl.AGENTS),
        doc="Ordered-outcomes value k t_k - sum_i d_ki (= sum of the k smallest utilities at the optimum)",
    )
    m.one_item_per_agent = pyo.Constraint(
        m.AGENTS, rule=lambda mdl, i: sum(mdl.x[i, j] for j in mdl.ITEMS) == 1,
        doc="Every agent receives exactly one item",
    )
    m.one_agent_per_item = pyo.Constraint(
        m.ITEMS, rule=lambda mdl, j: sum(mdl.x[i, j] for i in mdl.AGENTS) <= 1,
        doc="Every item goes to at most one agent",
    )
    m.shortfall = pyo.Constraint(
        m.LEVELS, m.AGENTS, rule=lambda mdl, k, i: mdl.d[k, i] >= mdl.t[k] - mdl.utility[i],
        doc="d_ki >= t_k - u_i",
    )
    m.level_objective = pyo.Objective(
        m.LEVELS, rule=lambda mdl, k: mdl.level[k], sense=pyo.maximize,
        doc="Maximize level k (only the level being solved is active)",
    )
    for k in m.LEVELS:
        if k != 1:
            m.level_objective[k].deactivate()
    m.fixed_levels = pyo.ConstraintList(doc="Earlier levels fixed at their optimum: level[k] >= z_k - tol")
    return m


def read_assignment(model: pyo.ConcreteModel) -> NDArray[Any]:
    """Item index of every agent in a solved model (values rounded; checked to be a matching)."""
    n, q = len(model.AGENTS), len(model.ITEMS)
    x = np.array([[model.x[i, j].value or 0.0 for j in range(q)] for i in range(n)])
    chosen = x > 0.5
    if not np.all(chosen.sum(axis=1) == 1) or np.any(chosen.sum(axis=0) > 1):
        raise ValueError("the solver's assignment is not a matching (every agent one item, every item at most once)")
    return cast(NDArray[Any], chosen.argmax(axis=1).astype(np.int64))
