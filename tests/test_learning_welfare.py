"""Exact welfare tables and the vectorized greedy rule against brute force and the core code."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mechopt import greedy_allocation, solve_wdp
from mechopt.domains.distributions import MultiMindedCA, XORProfiles
from mechopt.domains.welfare import greedy_outcomes, greedy_table, welfare_table


def brute_force_welfare(profiles: XORProfiles, k: int, items: int) -> float:
    """Max over every choice of one bid (or none) per agent with disjoint bundles ⊆ items."""
    best = 0.0
    n, b = profiles.n_agents, profiles.n_bids
    for choice in itertools.product(range(-1, b), repeat=n):
        used, total, ok = 0, 0.0, True
        for i, j in enumerate(choice):
            if j < 0:
                continue
            bundle = int(profiles.bundles[k, i, j])
            if bundle & used or bundle & ~items:
                ok = False
                break
            used |= bundle
            total += profiles.values[k, i, j]
        if ok:
            best = max(best, total)
    return best


@st.composite
def small_profiles(draw, integer_values=False):
    n = draw(st.integers(1, 3))
    m = draw(st.integers(1, 4))
    b = draw(st.integers(1, 3))
    bundles = draw(st.lists(st.integers(1, 2**m - 1), min_size=n * b, max_size=n * b))
    if integer_values:
        vals = draw(st.lists(st.integers(0, 4), min_size=n * b, max_size=n * b))
    else:
        vals = draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=n * b, max_size=n * b))
    return XORProfiles(
        np.array(bundles, dtype=np.int64).reshape(1, n, b), np.array(vals, dtype=float).reshape(1, n, b), m
    )


@settings(max_examples=40, deadline=None)
@given(small_profiles())
def test_welfare_table_matches_brute_force_on_every_item_set(profiles):
    table = welfare_table(profiles)
    for items in range(profiles.n_outcomes):
        assert abs(table[0, items] - brute_force_welfare(profiles, 0, items)) < 1e-12


def test_welfare_table_matches_the_wdp_milp():
    x = MultiMindedCA(n_agents=4, n_items=5, n_bundles=3).sample(8, seed=11)
    full = welfare_table(x)[:, x.full_mask]
    for k in range(8):
        allocation = solve_wdp(x.to_auction(k))
        assert allocation.is_optimal
        assert abs(allocation.welfare - full[k]) < 1e-9


@settings(max_examples=60, deadline=None)
@given(small_profiles(integer_values=True))
def test_vectorized_greedy_equals_core_greedy_including_ties(profiles):
    ours = greedy_outcomes(profiles)[0]
    core = greedy_allocation(profiles.to_auction(0))
    expected = np.zeros(profiles.n_agents, dtype=np.int64)
    for bidder, bid in core.bids.items():
        expected[int(bidder)] = XORProfiles.bundle_mask(bid.items)
    np.testing.assert_array_equal(ours, expected)


def test_greedy_equals_core_on_sampled_instances():
    x = MultiMindedCA(n_agents=5, gamma=0.5).sample(40, seed=12)
    ours = greedy_outcomes(x)
    for k in range(40):
        core = greedy_allocation(x.to_auction(k))
        got = {str(i): int(ours[k, i]) for i in range(5) if ours[k, i]}
        assert got == {b: XORProfiles.bundle_mask(bid.items) for b, bid in core.bids.items()}


def test_greedy_table_is_core_greedy_on_the_bids_inside_each_item_set():
    from mechopt import CombinatorialAuction

    x = MultiMindedCA(n_agents=3, n_items=4).sample(6, seed=13)
    table = greedy_table(x)
    for k in range(6):
        for items in range(16):
            bids = {
                str(i): [
                    ([str(g) for g in range(4) if int(x.bundles[k, i, j]) >> g & 1], float(x.values[k, i, j]))
                    for j in range(x.n_bids)
                    if int(x.bundles[k, i, j]) & ~items == 0
                ]
                for i in range(3)
            }
            bids = {i: b for i, b in bids.items() if b}
            expected = 0.0
            if bids:
                auction = CombinatorialAuction.from_bids([str(g) for g in range(4)], bids)
                expected = greedy_allocation(auction).welfare
            assert abs(table[k, items] - expected) < 1e-12
