"""Seeded random combinatorial auctions from classic distributions.

Legacy distributions (Sandholm, "Algorithm for optimal winner determination in combinatorial
auctions", AIJ 135, 2002; as parameterized by CATS v2.1, Leyton-Brown, Pearson, Shoham,
EC 2000).  Each bid is a single-minded bidder; a bundle size n is drawn, n distinct items
are drawn uniformly, and a price is drawn:

=====  ===========================================  ==========================================
name   number of items n                            price
=====  ===========================================  ==========================================
L1     random: uniform on 1..m                      fixed random: U[0, 1000]
L2     random: uniform on 1..m                      linear random: U[n, 1000 n]
L3     constant: n = 3                              fixed random: U[0, 1000]
L4     decay (α = 0.55): start at 1, add one more   linear random: U[n, 1000 n]
       item with probability α, repeatedly
L6     exponential (q = 5): P(n) ∝ exp(−n / q)      linear random: U[n, 1000 n]
L7     binomial (p = 0.2): n ~ Bin(m, p), n ≥ 1     linear random: U[n, 1000 n]
=====  ===========================================  ==========================================

``arbitrary`` follows the "arbitrary relationships" distribution of CATS (EC 2000, §4.3),
in the structure popularised by Gasse et al. (NeurIPS 2019): items have common values
U[1, 100] and pairwise compatibilities; each bidder has private interests, builds a bundle
item by item (continue with probability 0.9, next item drawn by interest × compatibility),
prices it at Σ private values + |S|^(1+0.2), and adds up to 5 substitutable bundles of the
same size that respect the budget (1.5 × price) and resale (0.5 × common value) factors.
Unlike Gasse et al.'s code, every bidder's bids are XOR (their 2-bid bidders silently get OR
semantics; docs/auctions.md#cats-file-format), and the compatibility average uses the bundle's own rows.
It is CATS-*style*: the same economics, not CATS' bit stream.

``regions`` is the same bidder model on a spatial item graph, after CATS' "regions"
distribution (EC 2000, §4.2): the items are the cells of a near-square grid, the
compatibility of two items is 1 for grid neighbours (plus, with probability 0.2 per cell, one
random extra edge to a diagonal neighbour, CATS' "additional neighbour") and 0 otherwise,
so bundles grow as connected regions.  CATS-*style* as well (no CATS bit stream, no
item-location jitter).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mechopt.auction import Bid, Bidder, CombinatorialAuction
from mechopt.errors import InputError

__all__ = ["DISTRIBUTIONS", "generate_auction", "LEGACY"]

MAX_BUNDLE_DRAWS = 1000


def _n_random(rng: np.random.Generator, m: int, **_: float) -> int:
    return int(rng.integers(1, m + 1))


def _n_constant(rng: np.random.Generator, m: int, const_goods: int = 3, **_: float) -> int:
    return min(int(const_goods), m)


def _n_decay(rng: np.random.Generator, m: int, alpha: float = 0.55, **_: float) -> int:
    n = 1
    while n < m and rng.random() < alpha:
        n += 1
    return n


def _n_exponential(rng: np.random.Generator, m: int, q: float = 5.0, **_: float) -> int:
    sizes = np.arange(1, m + 1)
    weights = np.exp(-sizes / q)
    return int(rng.choice(sizes, p=weights / weights.sum()))


def _n_binomial(rng: np.random.Generator, m: int, p: float = 0.2, **_: float) -> int:
    for _ in range(MAX_BUNDLE_DRAWS):  # type: ignore[assignment]  # `_` is also the unused **_
        n = int(rng.binomial(m, p))
        if n >= 1:
            return n
    return 1


def _price_fixed(rng: np.random.Generator, n: int, low: float = 0.0, high: float = 1000.0) -> float:
    return float(rng.uniform(low, high))


def _price_linear(rng: np.random.Generator, n: int, low: float = 1.0, high: float = 1000.0) -> float:
    return float(rng.uniform(low * n, high * n))


#: legacy name -> (bundle-size sampler, price sampler)
LEGACY: dict[str, tuple[Callable[..., int], Callable[..., float]]] = {
    "L1": (_n_random, _price_fixed),
    "L2": (_n_random, _price_linear),
    "L3": (_n_constant, _price_fixed),
    "L4": (_n_decay, _price_linear),
    "L6": (_n_exponential, _price_linear),
    "L7": (_n_binomial, _price_linear),
}

DISTRIBUTIONS: tuple[str, ...] = (*LEGACY, "arbitrary", "regions")

#: parameters each distribution accepts, with the interval each must lie in
PARAMETERS: dict[str, dict[str, tuple[float, float]]] = {
    "L1": {},
    "L2": {},
    "L3": {"const_goods": (1, float("inf"))},
    "L4": {"alpha": (0.0, 0.999)},
    "L6": {"q": (1e-9, float("inf"))},
    "L7": {"p": (1e-9, 1.0)},
    "arbitrary": {
        "min_value": (0.0, float("inf")),
        "max_value": (0.0, float("inf")),
        "value_deviation": (0.0, float("inf")),
        "add_item_prob": (0.0, 0.999),
        "max_sub_bids": (0, float("inf")),
        "additivity": (-1.0, float("inf")),
        "budget_factor": (0.0, float("inf")),
        "resale_factor": (0.0, float("inf")),
    },
}
PARAMETERS["regions"] = dict(PARAMETERS["arbitrary"])


def _check(distribution: str, n_items: int, n_bids: int) -> None:
    if distribution not in DISTRIBUTIONS:
        raise InputError(
            f"unknown distribution {distribution!r} (choose from {', '.join(DISTRIBUTIONS)})"
        )
    if not isinstance(n_items, (int, np.integer)) or n_items < 1:
        raise InputError(f"number of items must be a positive integer, got {n_items!r}")
    if not isinstance(n_bids, (int, np.integer)) or n_bids < 1:
        raise InputError(f"number of bids must be a positive integer, got {n_bids!r}")


def _check_params(distribution: str, params: dict[str, float]) -> None:
    allowed = PARAMETERS[distribution]
    for name, value in params.items():
        if name not in allowed:
            known = ", ".join(allowed) or "none"
            raise InputError(f"{distribution} has no parameter {name!r} (parameters: {known})")
        low, high = allowed[name]
        if not isinstance(value, (int, float)) or not (low <= value <= high):
            raise InputError(f"{distribution} parameter {name} = {value!r} is outside [{low}, {high}]")


def generate_auction(
    distribution: str,
    *,
    n_items: int,
    n_bids: int,
    seed: int,
    **params: float,
) -> CombinatorialAuction:
    """A random auction with ``n_items`` items and ``n_bids`` bids (same seed, same auction).

    ``params`` override the distribution's parameters (``alpha`` for L4, ``q`` for L6,
    ``p`` for L7, ``const_goods`` for L3; for ``arbitrary``: ``add_item_prob``,
    ``max_sub_bids``, ``additivity``, ``budget_factor``, ``resale_factor``,
    ``value_deviation``).  Items are named ``"0"`` … ``"m-1"``.
    """
    _check(distribution, n_items, n_bids)
    _check_params(distribution, params)
    rng = np.random.default_rng(seed)
    items = tuple(str(g) for g in range(n_items))
    extra: dict[str, Any] = dict(params)  # the distribution's float parameters
    if distribution == "arbitrary":
        bidders = _arbitrary(rng, n_items, n_bids, **extra)
    elif distribution == "regions":
        bidders = _arbitrary(rng, n_items, n_bids, compat=_grid_compatibility(rng, n_items), **extra)
    else:
        size_of, price_of = LEGACY[distribution]
        bidders = []
        for k in range(n_bids):
            n = size_of(rng, n_items, **params)
            bundle = rng.choice(n_items, size=n, replace=False)
            price = price_of(rng, n)
            bidders.append(Bidder(f"b{k}", (Bid(str(k), tuple(str(g) for g in sorted(bundle)), price),)))  # type: ignore[arg-type]  # Bid makes it a frozenset
    return CombinatorialAuction(items, tuple(bidders), name=f"{distribution}-m{n_items}-b{n_bids}-s{seed}")


def _grid_compatibility(rng: np.random.Generator, m: int, extra_edge_prob: float = 0.2) -> np.ndarray:
    """Symmetric 0/1 compatibilities of the ``regions`` distribution: the m items fill a
    grid of ceil(sqrt(m)) columns row by row; neighbours share an edge, and each cell gets one
    extra edge to a random diagonal neighbour with probability ``extra_edge_prob``."""
    cols = max(1, int(np.ceil(np.sqrt(m))))
    adj = np.zeros((m, m))
    for i in range(m):
        r, c = divmod(i, cols)
        for j in (i + 1 if c + 1 < cols else -1, i + cols):
            if 0 <= j < m:
                adj[i, j] = adj[j, i] = 1.0
        if rng.random() < extra_edge_prob:
            diag = [(r + dr) * cols + (c + dc) for dr in (-1, 1) for dc in (-1, 1)
                    if 0 <= c + dc < cols and 0 <= (r + dr) * cols + (c + dc) < m]
            if diag:
                j = diag[int(rng.integers(len(diag)))]
                adj[i, j] = adj[j, i] = 1.0
    return adj


def _arbitrary(
    rng: np.random.Generator,
    m: int,
    n_bids: int,
    *,
    min_value: float = 1.0,
    max_value: float = 100.0,
    value_deviation: float = 0.5,
    add_item_prob: float = 0.9,
    max_sub_bids: float = 5,
    additivity: float = 0.2,
    budget_factor: float = 1.5,
    resale_factor: float = 0.5,
    compat: np.ndarray | None = None,
) -> list[Bidder]:
    common = min_value + (max_value - min_value) * rng.random(m)
    if compat is None:
        compat = np.triu(rng.random((m, m)), k=1)
        compat = compat + compat.T
    row_sums = compat.sum(axis=1, keepdims=True)
    compat = np.divide(compat, row_sums, out=np.zeros_like(compat), where=row_sums > 0)

    def next_item(mask: np.ndarray, interests: np.ndarray) -> int:
        weight = (~mask) * interests * compat[mask].mean(axis=0)
        if weight.sum() <= 0:  # m == 1 or degenerate compatibilities
            weight = (~mask).astype(float)
        return int(rng.choice(m, p=weight / weight.sum()))

    def price_of(bundle: np.ndarray, private: np.ndarray) -> float:
        return float(private[bundle].sum() + len(bundle) ** (1 + additivity))

    bidders: list[Bidder] = []
    n_made = 0
    attempts = 0
    while n_made < n_bids:
        attempts += 1
        if attempts > 100 * n_bids:
            raise InputError("arbitrary: could not draw enough bids with positive prices")
        interests = rng.random(m)
        private = common + max_value * value_deviation * (2 * interests - 1)
        mask = np.zeros(m, dtype=bool)
        mask[rng.choice(m, p=interests / interests.sum())] = True
        while mask.sum() < m and rng.random() < add_item_prob:
            mask[next_item(mask, interests)] = True
        bundle = np.flatnonzero(mask)
        price = price_of(bundle, private)
        if price <= 0:
            continue
        bids: dict[frozenset[int], float] = {frozenset(bundle.tolist()): price}
        candidates = []
        for first in bundle:
            sub = np.zeros(m, dtype=bool)
            sub[first] = True
            while sub.sum() < len(bundle):
                sub[next_item(sub, interests)] = True
            sub_bundle = np.flatnonzero(sub)
            candidates.append((sub_bundle, price_of(sub_bundle, private)))
        budget = budget_factor * price
        min_resale = resale_factor * common[bundle].sum()
        for sub_bundle, sub_price in sorted(candidates, key=lambda c: -c[1]):
            if len(bids) >= max_sub_bids + 1 or n_made + len(bids) >= n_bids:
                break
            key = frozenset(sub_bundle.tolist())
            if sub_price <= 0 or sub_price > budget or common[sub_bundle].sum() < min_resale or key in bids:
                continue
            bids[key] = sub_price
        bidder_id = f"b{len(bidders)}"
        bidders.append(
            Bidder(
                bidder_id,
                tuple(
                    Bid(str(n_made + k), tuple(str(g) for g in sorted(bundle_)), value)  # type: ignore[arg-type]  # Bid makes it a frozenset
                    for k, (bundle_, value) in enumerate(bids.items())
                ),
            )
        )
        n_made += len(bids)
    return bidders
