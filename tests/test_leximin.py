"""Leximin assignment: the ordered-outcomes MILPs against brute force over all n! assignments."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mechopt.formulations.leximin import build_ordered_outcomes_model
from mechopt.mechanisms.assignment import (
    egalitarian_assignment,
    leximin_by_enumeration,
    leximin_vectors,
    utilitarian_assignment,
)


def assert_matches_brute_force(values):
    result = egalitarian_assignment(values)
    best, winners = leximin_by_enumeration(values)
    assert result.is_optimal
    assert len(result.solves) == values.shape[0]
    np.testing.assert_allclose(np.sort(result.utilities), best, atol=1e-6)
    assert any(np.array_equal(result.items, w) for w in winners), (values, result.items, winners)


def test_random_instances_up_to_seven_agents():
    rng = np.random.default_rng(2024)
    for n in (2, 3, 5, 7):
        assert_matches_brute_force(rng.random((n, n)))


def test_integer_valued_instances_with_ties():
    rng = np.random.default_rng(7)
    for n in (3, 4, 6):
        assert_matches_brute_force(rng.integers(0, 4, (n, n)).astype(float))
    assert_matches_brute_force(np.full((4, 4), 2.0))  # everything tied
    assert_matches_brute_force(rng.integers(0, 100, (7, 7)).astype(float))


def test_second_level_decides_when_the_minimum_ties():
    # every assignment that maximizes the minimum (1) gives agent 0 item 0; the second level
    # then separates (1, 5, 9) from (1, 2, 9).
    values = np.array([[1.0, 0.0, 0.0], [0.0, 5.0, 2.0], [0.0, 9.0, 9.0]])
    result = egalitarian_assignment(values)
    np.testing.assert_array_equal(result.items, [0, 1, 2])
    assert result.levels == pytest.approx((1.0, 6.0, 15.0))
    # a pure max-min (level 1 only) or utilitarian rule would accept (1, 2, 9) or others
    assert utilitarian_assignment(values).welfare == pytest.approx(15.0)


def test_more_items_than_agents():
    rng = np.random.default_rng(3)
    assert_matches_brute_force(rng.random((3, 5)))


def test_leximin_vectors_match_single_instance_enumeration():
    rng = np.random.default_rng(5)
    batch = rng.random((20, 4, 5))
    batch[:5] = np.round(batch[:5] * 3)  # ties
    vectors = leximin_vectors(batch)
    for k in range(20):
        np.testing.assert_array_equal(vectors[k], leximin_by_enumeration(batch[k])[0])


def test_utilitarian_matches_brute_force():
    import itertools

    rng = np.random.default_rng(8)
    for n, q in ((3, 3), (4, 6), (5, 5)):
        v = rng.random((n, q))
        best = max(v[np.arange(n), list(p)].sum() for p in itertools.permutations(range(q), n))
        assert utilitarian_assignment(v).welfare == pytest.approx(best)


def test_builder_only_builds_and_documents_every_component():
    model = build_ordered_outcomes_model(np.array([[0.5, 0.2], [0.1, 0.7]]))
    assert all(model.x[i, j].value is None for i in range(2) for j in range(2))
    active = [o for o in model.component_data_objects(pyo.Objective, active=True)]
    assert len(active) == 1 and active[0] is model.level_objective[1]
    for comp in model.component_objects((pyo.Set, pyo.Var, pyo.Constraint, pyo.Param, pyo.Objective)):
        if comp.parent_component() is comp and not comp.name.endswith("_index"):
            assert comp.doc, f"{comp.name} has no doc"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.ones((3, 2)), "at least as many items"),
        (np.array([[np.nan, 1.0], [1.0, 1.0]]), "finite"),
        (np.ones(3), "2-d"),
    ],
)
def test_bad_values(values, message):
    with pytest.raises(ValueError, match=message):
        egalitarian_assignment(values)
    with pytest.raises(ValueError, match=message):
        leximin_by_enumeration(values)


def test_enumeration_refuses_huge_instances():
    with pytest.raises(ValueError, match="too many"):
        leximin_by_enumeration(np.ones((10, 10)))


@settings(max_examples=25, deadline=None)
@given(
    st.integers(2, 5).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(n, n + 1), st.booleans(), st.integers(0, 2**32 - 1))
    )
)
def test_property_milp_equals_enumeration(case):
    n, q, integral, seed = case
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 4, (n, q)).astype(float) if integral else rng.random((n, q))
    assert_matches_brute_force(values)
