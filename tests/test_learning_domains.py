"""Type distributions: shapes, seeding, and the laws they claim (docs/payment-rules.md#domains)."""

from __future__ import annotations

import numpy as np
import pytest

from mechopt.domains.distributions import (
    AssignmentProblem,
    AssignmentProfiles,
    MultiMindedCA,
    SingleItemAuction,
    XORProfiles,
    make_domain,
    popcount,
)


def test_single_item_is_a_one_item_xor_domain():
    x = SingleItemAuction(4).sample(2000, seed=1)
    assert isinstance(x, XORProfiles)
    assert (x.n_items, x.n_bids, x.n_agents, len(x)) == (1, 1, 4, 2000)
    assert np.all(x.bundles == 1)
    v = x.values[:, :, 0]
    assert v.min() >= 0 and v.max() <= 1
    assert abs(v.mean() - 0.5) < 0.02 and abs(v.var() - 1 / 12) < 0.01  # U[0,1]
    expanded = x.expand()
    assert np.array_equal(expanded[:, :, 0], np.zeros((2000, 4)))
    assert np.array_equal(expanded[:, :, 1], v)


def test_mmca_bundle_sizes_follow_the_decay_law():
    d = MultiMindedCA(n_agents=6, n_items=5, n_bundles=3, alpha=0.6)
    x = d.sample(4000, seed=2)  # 72 000 bundles
    sizes = popcount(x.bundles).ravel()
    assert sizes.min() >= 1 and sizes.max() <= 5
    freq = np.bincount(sizes, minlength=6)[1:] / sizes.size
    law = d.bundle_size_law()
    assert law.sum() == pytest.approx(1.0)
    sigma = np.sqrt(law * (1 - law) / sizes.size)
    assert np.all(np.abs(freq - law) < 5 * sigma), (freq, law)
    # every item is equally likely to be in a bundle of a given size (uniform item choice)
    items = ((x.bundles.ravel()[:, None] >> np.arange(5)) & 1)[sizes == 2]
    share = items.mean(axis=0)
    assert np.all(np.abs(share - 2 / 5) < 0.03)


def test_mmca_alpha_extremes():
    assert np.all(popcount(MultiMindedCA(alpha=0.0).sample(50, seed=0).bundles) == 1)
    assert np.all(MultiMindedCA(alpha=1.0).sample(50, seed=0).bundles == 31)


def test_mmca_values_in_unit_interval_and_monotone():
    for gamma in (0.5, 1.0, 1.5):
        x = MultiMindedCA(n_agents=3, gamma=gamma).sample(300, seed=3)
        assert x.values.min() >= 0 and x.values.max() <= 1
        v = x.expand()
        assert np.all(v[:, :, 0] == 0)
        for g in range(x.n_items):  # adding item g never lowers a value
            sets = np.arange(x.n_outcomes)
            assert np.all(v[:, :, sets | (1 << g)] >= v[:, :, sets])


def test_mmca_value_formula_gamma_and_beta():
    base = MultiMindedCA(n_agents=4, gamma=1.0).sample(200, seed=9)
    squared = MultiMindedCA(n_agents=4, gamma=2.0).sample(200, seed=9)  # same draws
    assert np.array_equal(base.bundles, squared.bundles)
    np.testing.assert_allclose(squared.values, base.values**2, rtol=1e-12)
    common = MultiMindedCA(n_agents=4, beta=1.0, gamma=1.0).sample(200, seed=9)
    # pure common values: all agents value one bundle alike; bundle value = sum of its weights / m
    flat_b = common.bundles.reshape(200, -1)
    flat_v = common.values.reshape(200, -1)
    for k in range(20):
        seen: dict[int, float] = {}
        for mask, val in zip(flat_b[k], flat_v[k], strict=True):
            assert seen.setdefault(int(mask), val) == pytest.approx(val)
        # additivity over disjoint bundles when gamma = 1: v(A ∪ B) = v(A) + v(B)
        for a, va in seen.items():
            for b, vb in seen.items():
                if a & b == 0 and (a | b) in seen:
                    assert seen[a | b] == pytest.approx(va + vb)


def test_sampling_is_seeded_and_reproducible():
    d = MultiMindedCA(n_agents=3)
    a, b, c = d.sample(20, seed=5), d.sample(20, seed=5), d.sample(20, seed=6)
    assert np.array_equal(a.bundles, b.bundles) and np.array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    g = np.random.default_rng(5)
    assert np.array_equal(d.sample(20, g).values, a.values)


def test_assignment_profiles():
    x = AssignmentProblem(5).sample(100, seed=0)
    assert isinstance(x, AssignmentProfiles)
    assert x.values.shape == (100, 5, 5) and x.n_outcomes == 5
    assert x.values.min() >= 0 and x.values.max() <= 1
    o = x.without_agent(2)
    assert o.values.shape == (100, 4, 5)
    np.testing.assert_array_equal(o.values, x.values[:, [0, 1, 3, 4]])
    items = np.tile(np.arange(5), (100, 1))
    np.testing.assert_array_equal(x.value_of(items), x.values[:, np.arange(5), np.arange(5)])


def test_xor_profiles_roundtrip_through_auctions():
    x = MultiMindedCA(n_agents=3, n_items=4, n_bundles=2).sample(5, seed=4)
    auctions = [x.to_auction(k) for k in range(5)]
    back = XORProfiles.from_auctions(auctions)
    np.testing.assert_array_equal(back.bundles, x.bundles)
    np.testing.assert_array_equal(back.values, x.values)
    v = x.expand()
    for k, auction in enumerate(auctions):
        for i in range(3):
            for s in range(16):
                bundle = [str(g) for g in range(4) if s >> g & 1]
                assert auction.value(str(i), bundle) == v[k, i, s]
    others = x.without_agent(1)
    np.testing.assert_array_equal(others.bundles, x.bundles[:, [0, 2]])
    assert x.take(slice(1, 3)).n_instances == 2 and x.take(0).n_instances == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: make_domain("poker"), "unknown domain"),
        (lambda: make_domain("mmca", colour=1), "no setting 'colour'"),
        (lambda: make_domain("mmca", alpha=1.5), "alpha"),
        (lambda: make_domain("mmca", gamma=0), "gamma"),
        (lambda: make_domain("mmca", beta=float("nan")), "beta"),
        (lambda: make_domain("single-item", n_agents=1), "number of agents"),
        (lambda: make_domain("assignment", n_agents=2.5), "integer"),
        (lambda: MultiMindedCA().sample(0), "positive integer"),
        (lambda: MultiMindedCA().sample(3, seed=-1), "seed"),
        (lambda: XORProfiles(np.zeros((1, 2, 1), dtype=int), np.ones((1, 2, 1)), 2), "non-empty"),
        (lambda: XORProfiles(np.ones((1, 2, 1), dtype=int), np.full((1, 2, 1), np.nan), 2), "finite"),
        (lambda: XORProfiles(np.ones((1, 2, 1), dtype=int), np.full((1, 2, 1), -1.0), 2), "non-negative"),
        (lambda: XORProfiles(np.ones((1, 2, 1), dtype=int), np.ones((1, 2)), 2), "shape"),
        (lambda: AssignmentProfiles(np.ones((1, 3, 2))), "at least as many items"),
    ],
)
def test_bad_settings_raise_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
