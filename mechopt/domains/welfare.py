"""Exact welfare tables for small combinatorial auctions, by dynamic programming over item sets.

For a batch of XOR profiles (see :mod:`mechopt.domains.distributions`) and every item set ``T``
(a bitmask over the ``m`` items), :func:`welfare_table` computes the optimal welfare

    W(T) = max Σ_i v_i(S_i)  over disjoint S_1, …, S_n ⊆ T,

agent by agent:  W_0(T) = 0,  W_a(T) = max( W_{a−1}(T), max_{j: B_aj ⊆ T} b_aj + W_{a−1}(T ∖ B_aj) ).
Each agent takes at most one of its bids (XOR), and any bundle an optimal allocation gives
an agent may be shrunk to the bid it uses, so the recursion is exact.  The cost is
``O(N · n · b · 2^m)`` — trivial for the paper's ``m = 5`` — and no solver is involved: it is
both the fast path for pricing all ``2^m`` bundles (VCG prices) and an independent check of
the winner-determination MILP.

:func:`greedy_table` gives the welfare of the LOS greedy rule on every item set ``T``, which
is what the other agents get under the greedy rule when one agent holds ``M ∖ T``.
"""

from __future__ import annotations

import numpy as np

from mechopt.domains.distributions import MAX_EXPAND_ITEMS, XORProfiles, popcount
from mechopt.errors import InputError

__all__ = ["welfare_table", "greedy_outcomes", "greedy_table"]


def _check_expandable(profiles: XORProfiles) -> None:
    if profiles.n_items > MAX_EXPAND_ITEMS:
        raise InputError(
            f"welfare tables over 2^{profiles.n_items} item sets are too large (limit {MAX_EXPAND_ITEMS} items)"
        )


def welfare_table(profiles: XORProfiles) -> np.ndarray:
    """``(N, 2^m)``: optimal welfare ``W(T)`` of the agents in ``profiles`` on every item set ``T``."""
    _check_expandable(profiles)
    n_sets = profiles.n_outcomes
    sets = np.arange(n_sets, dtype=np.int64)
    table = np.zeros((profiles.n_instances, n_sets))
    for a in range(profiles.n_agents):
        best = table.copy()
        for j in range(profiles.n_bids):
            bundle = profiles.bundles[:, a, j, None]  # (N, 1)
            fits = (sets & bundle) == bundle  # (N, 2^m)
            rest = np.take_along_axis(table, sets & ~bundle, axis=1)
            candidate = np.where(fits, profiles.values[:, a, j, None] + rest, -np.inf)
            np.maximum(best, candidate, out=best)
        table = best
    return table


def greedy_outcomes(profiles: XORProfiles, available: np.ndarray | None = None) -> np.ndarray:
    """Bundles ``(N, n)`` (bitmasks, 0 = nothing) allocated by the LOS greedy rule.

    Lehmann, O'Callaghan, Shoham (JACM 2002), generalized to multi-minded bidders as in
    Dütting et al. (EC 2012, §6.3.2): bids sorted by ``b / |S|^(1/2)`` (ties by position:
    agent-major, then bid index — the order of :meth:`XORProfiles.to_auction`, hence
    identical to :func:`mechopt.greedy_allocation`); each bid is granted when its bundle is
    disjoint from the granted ones and its agent holds nothing yet.

    ``available`` (``(N,)`` bitmasks) restricts instance ``k`` to the items in
    ``available[k]``: bids naming any other item are ignored.
    """
    n_inst, n, b = profiles.bundles.shape
    bundles = profiles.bundles.reshape(n_inst, n * b)
    values = profiles.values.reshape(n_inst, n * b)
    score = values / np.sqrt(popcount(bundles))
    if available is not None:
        available = np.asarray(available, dtype=np.int64).reshape(n_inst, 1)
        usable = (bundles & available) == bundles
    else:
        usable = np.ones(bundles.shape, dtype=bool)
    order = np.argsort(-score, axis=1, kind="stable")
    rows = np.arange(n_inst)
    sold = np.zeros(n_inst, dtype=np.int64)
    outcomes = np.zeros((n_inst, n), dtype=np.int64)
    has = np.zeros((n_inst, n), dtype=bool)
    for pos in range(n * b):
        q = order[:, pos]
        agent = q // b
        bundle = bundles[rows, q]
        grant = usable[rows, q] & ((sold & bundle) == 0) & ~has[rows, agent]
        sold = np.where(grant, sold | bundle, sold)
        outcomes[rows[grant], agent[grant]] = bundle[grant]
        has[rows[grant], agent[grant]] = True
    return outcomes


def greedy_table(profiles: XORProfiles) -> np.ndarray:
    """``(N, 2^m)``: welfare of the greedy allocation of ``profiles`` restricted to each item set."""
    _check_expandable(profiles)
    n_inst, n_sets = profiles.n_instances, profiles.n_outcomes
    rep = XORProfiles(
        np.repeat(profiles.bundles, n_sets, axis=0),
        np.repeat(profiles.values, n_sets, axis=0),
        profiles.n_items,
    )
    sets = np.tile(np.arange(n_sets, dtype=np.int64), n_inst)
    outcomes = greedy_outcomes(rep, available=sets)
    return rep.value_of(outcomes).sum(axis=1).reshape(n_inst, n_sets)
