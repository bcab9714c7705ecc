"""The optimal-pricing MILP against brute force (no torch needed)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mechopt.formulations.pricing import build_bundle_pricing_model
from mechopt.mechanisms.pricing import hard_choices, pricing_revenue, solve_bundle_pricing


def brute_force_pricing(values: np.ndarray) -> float:
    """Best mean revenue over all assignments of buyers to options (null = -1).

    For a fixed assignment the prices form a system of difference constraints
    p_y − p_x ≤ w(x, y) with p_null = 0 (IC: p_c − p_b ≤ v_c − v_b for the bought c;
    IR: p_c ≤ v_c; a buyer who buys nothing: p_b ≥ v_b; p_b ≥ 0).  Its componentwise
    largest solution is the shortest-path distance from null (Bellman-Ford), feasible
    iff there is no negative cycle; that solution maximizes every bought price at once.
    """
    n_buyers, n_bundles = values.shape
    null = n_bundles
    best = 0.0
    for assignment in itertools.product(range(-1, n_bundles), repeat=n_buyers):
        edges = [(b, null, 0.0) for b in range(n_bundles)]  # p_b >= 0
        for n, c in enumerate(assignment):
            v = values[n]
            if c < 0:
                edges += [(b, null, -v[b]) for b in range(n_bundles)]  # p_b >= v_b
                continue
            edges.append((null, c, v[c]))  # IR
            edges += [(b, c, v[c] - v[b]) for b in range(n_bundles) if b != c]  # IC
        dist = [math.inf] * (n_bundles + 1)
        dist[null] = 0.0
        for _ in range(n_bundles + 1):
            for x, y, w in edges:
                if dist[x] + w < dist[y]:
                    dist[y] = dist[x] + w
        if any(dist[x] + w < dist[y] - 1e-12 for x, y, w in edges):
            continue  # negative cycle: no prices induce this assignment
        revenue = sum(dist[c] for c in assignment if c >= 0) / n_buyers
        best = max(best, revenue)
    return best


def test_one_item_optimal_price_is_a_value():
    values = np.array([[0.9], [0.5], [0.45], [0.1]])
    # candidate prices are the values: 0.9 -> 0.225, 0.5 -> 0.25, 0.45 -> 0.3375, 0.1 -> 0.1
    result = solve_bundle_pricing(values)
    assert result.is_optimal
    assert result.revenue == pytest.approx(0.3375, abs=1e-9)
    assert result.prices[0] == pytest.approx(0.45, abs=1e-7)
    assert brute_force_pricing(values) == pytest.approx(0.3375)


def test_hand_checked_two_items():
    # bundles {0}, {1}, {0,1}; buyer 1 wants item 0, buyer 2 item 1, buyer 3 the pair
    values = np.array([[0.6, 0.0, 0.6], [0.0, 0.5, 0.5], [0.3, 0.3, 1.0]])
    # prices 0.6, 0.5, 1.0 sell to everyone: revenue 2.1 / 3
    result = solve_bundle_pricing(values, ["{0}", "{1}", "{0,1}"])
    assert result.is_optimal
    assert result.revenue == pytest.approx(0.7, abs=1e-9)
    assert result.evaluated_revenue == pytest.approx(0.7, abs=1e-9)
    assert result.bundle_names == ("{0}", "{1}", "{0,1}")


values_strategy = st.integers(min_value=1, max_value=4).flatmap(
    lambda n: st.integers(min_value=1, max_value=3).flatmap(
        lambda b: st.lists(
            st.lists(st.sampled_from([0.0, 0.2, 0.25, 0.5, 0.7, 0.75, 1.0])
                     | st.floats(0, 1, allow_nan=False), min_size=b, max_size=b),
            min_size=n, max_size=n)))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values_strategy)
def test_milp_matches_brute_force(rows):
    values = np.array(rows, dtype=float)
    result = solve_bundle_pricing(values)
    assert result.is_optimal
    # HiGHS' feasibility tolerances are 1e-7 per constraint: a buyer whose value is below
    # that (hypothesis found 1.19e-7) may be priced at 0, so compare to 1e-6 per buyer
    assert result.revenue == pytest.approx(brute_force_pricing(values), abs=1e-6 * len(values))
    # the prices earn what the MILP says under the hard choice (seller-favourable ties)
    assert result.evaluated_revenue == pytest.approx(result.revenue, abs=1e-6)


def test_model_components_have_docs():
    model = build_bundle_pricing_model(np.array([[0.5, 0.0], [0.2, 0.9]]))
    for comp in model.component_objects((pyo.Set, pyo.Var, pyo.Constraint, pyo.Param)):
        if comp.parent_component() is comp and not comp.name.endswith("_index"):
            assert comp.doc, comp.name
    # pairs with value 0 get no variables
    assert (0, 1) not in model.PAIRS and (1, 1) in model.PAIRS


def test_nobody_values_anything():
    result = solve_bundle_pricing(np.zeros((3, 2)))
    assert result.is_optimal and result.revenue == 0.0


@pytest.mark.parametrize(
    "values, problem",
    [
        (np.array([1.0, 2.0]), "shape"),
        (np.array([[0.5, np.nan]]), "finite"),
        (np.array([[0.5, -0.1]]), "non-negative"),
        (np.zeros((0, 2)), "shape"),
    ],
)
def test_bad_values_are_refused(values, problem):
    with pytest.raises(ValueError, match=problem):
        build_bundle_pricing_model(values)


def test_hard_choice_tie_rule():
    values = np.array([[1.0, 0.8, 0.0], [0.5, 0.5, 0.5], [0.1, 0.1, 0.1]])
    prices = np.array([0.5, 0.3, 0.0])
    # buyer 0: utilities 0.5, 0.5, 0 -> tie, takes the dearer element 0
    # buyer 1: 0, 0.2, 0.5 -> element 2; buyer 2: -0.4, -0.2, 0.1 -> element 2
    assert hard_choices(values, prices).tolist() == [0, 2, 2]
    # utility exactly 0 buys; below 0 buys nothing
    assert hard_choices(np.array([[0.5], [0.49]]), np.array([0.5])).tolist() == [0, -1]
    assert pricing_revenue(np.array([[0.5], [0.49]]), np.array([0.5])) == pytest.approx(0.25)


@pytest.mark.parametrize("factor", [1e-9, 1e-6, 1e12])
def test_pricing_is_solved_at_any_unit_of_the_values(factor):
    """HiGHS' tolerances are absolute: the MILP is stated in units of model.value_scale."""
    values = np.array([[0.5, 0.9], [0.8, 0.3], [0.2, 0.7]])
    base = solve_bundle_pricing(values)
    scaled = solve_bundle_pricing(values * factor)
    assert scaled.is_optimal
    assert scaled.revenue == pytest.approx(base.revenue * factor, rel=1e-7)
    assert scaled.evaluated_revenue == pytest.approx(base.evaluated_revenue * factor, rel=1e-7)
    assert build_bundle_pricing_model(values * factor).value_scale.value == 2.0 ** math.floor(math.log2(0.9 * factor))
