"""Bundle-size pricing: every bundle sold at a price that depends on its number of items only.

For an XOR buyer with atoms (S_j, v_j) facing prices P(S) = F(|S|), a bundle of size k can
be had at the cheapest price of any size ≥ k (buy a superset), so only the running minimum
from above matters and F can be taken non-decreasing.  With F non-decreasing, the buyer's
best purchase is one of its atoms (a superset costs as much or more and adds no value).
Bundle-size pricing is Chu, Leslie and Sorensen's *Bundle-size pricing as an approximation
to mixed bundling* (AER 2011; docs/menus.md#references).

The CATS-style generators (:mod:`mechopt.generators`) give every buyer atoms of one size k
(the substitutable bundles are grown to the size of the first).  For such a buyer, F sells
iff its most valuable atom is worth ≥ F(k) and it pays F(k); revenue then depends on each
buyer only through (k, v_max).  Two fits:

- :func:`best_size_prices` — the exact revenue-maximizing non-decreasing F on a sample of
  one-size buyers, by dynamic programming over the sizes (an optimal F(k) can be taken among
  0 and the sample's values: between two consecutive sample values, raising every F(k) in
  the gap to its upper end keeps every purchase and the order, and raises the revenue);
- :func:`fit_size_prices` — a kernel-smoothed heuristic that pools neighbouring sizes (less
  variance on small samples, no optimality claim).

:func:`size_ceiling` applies the exact fit to the buyers it is evaluated on: no menu that
prices deterministic bundles by size alone earns more on those buyers — an upper bound for
that menu class on that sample (in-sample, so optimistic for a fresh sample), next to the
welfare bound of every menu.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from mechopt.errors import InputError
from mechopt.menus.evaluate import hard_choice

__all__ = ["SizePricing", "single_size", "best_size_prices", "size_pricing_paid", "size_ceiling",
           "fit_size_prices", "SIZE_PRICE_WIDTHS"]

#: neighbourhood widths w of the kernel-smoothed fits (:func:`fit_size_prices`)
SIZE_PRICE_WIDTHS: tuple[int, ...] = (1, 2, 3, 5, 8)


@dataclass(frozen=True)
class SizePricing:
    """A non-decreasing price per bundle size and its revenue on the sample it was fitted on.

    ``prices``: ``(m + 1,)`` float64, F(0) = 0; ``revenue``: mean payment over all buyers of
    the sample (buyers without a valued atom count, paying 0)."""

    prices: Tensor
    revenue: float


def _require_xor(buyers) -> None:
    if not hasattr(buyers, "bundles"):
        raise InputError("size pricing needs XOR buyers (valuation xor or generated)")


def _atom_sizes(buyers) -> Tensor:
    """Sizes ``(N, a)`` of the buyers' atoms (0 for padding)."""
    return buyers.bundles.detach().sum(dim=2).round().long()


def single_size(buyers) -> bool:
    """True iff every buyer's valued atoms all have one size (as CATS-style buyers)."""
    _require_xor(buyers)
    sizes = _atom_sizes(buyers)
    real = (buyers.values.detach() > 0) & (sizes > 0)
    low = torch.where(real, sizes, torch.full_like(sizes, 1 << 30)).amin(dim=1)
    high = torch.where(real, sizes, torch.full_like(sizes, -1)).amax(dim=1)
    return bool(((high < 0) | (low == high)).all())


def _best_atoms(buyers) -> tuple[Tensor, Tensor]:
    """(size, value) ``(N,)`` of each buyer's most valuable atom: int64 and float64 tensors on
    the buyers' device (both fits summarize a buyer by it)."""
    values = buyers.values.detach().to(torch.float64)
    best = values.argmax(dim=1, keepdim=True)
    return _atom_sizes(buyers).gather(1, best).squeeze(1), values.gather(1, best).squeeze(1)


@torch.no_grad()
def best_size_prices(buyers) -> SizePricing:
    """The exact revenue-maximizing non-decreasing size prices F on ``buyers`` (one-size XOR
    buyers; :class:`~mechopt.errors.InputError` otherwise).

    Dynamic programming over k = 1..m with the candidate prices c_0 = 0 < c_1 < … (the
    sample's distinct values; see the module docstring): best_k(c) = R_k(c) + max_{c' ≤ c}
    best_{k−1}(c'), where R_k(c) = c · #{n : k_n = k, v_n ≥ c} / N (a buyer at utility 0 buys).
    O(m · G) time and memory for G candidates."""
    _require_xor(buyers)
    if not single_size(buyers):
        raise InputError("exact size pricing needs buyers whose atoms all have one size "
                         "(as the CATS-style generators draw them)")
    if int(buyers.values.shape[0]) == 0:
        raise InputError("cannot fit size prices on an empty sample")
    return _best_size_prices(buyers)


def _best_size_prices(buyers) -> SizePricing:
    """:func:`best_size_prices` on buyers already checked (one-size XOR buyers, N ≥ 1)."""
    m = int(buyers.bundles.shape[2])
    n = int(buyers.values.shape[0])
    k_t, v_t = _best_atoms(buyers)
    k, v = k_t.cpu().numpy(), v_t.cpu().numpy()
    keep = (v > 0) & (k > 0)
    k, v = k[keep], v[keep]
    cand = np.unique(np.concatenate([[0.0], v]))
    g = cand.size
    best = np.zeros(g)
    back = np.empty((m, g), dtype=np.int64)
    index = np.arange(g)
    for size in range(1, m + 1):
        prefix = np.maximum.accumulate(best)
        new_max = best >= np.concatenate([[-np.inf], prefix[:-1]])
        back[size - 1] = np.maximum.accumulate(np.where(new_max, index, 0))
        vk = np.sort(v[k == size])
        buying = vk.size - np.searchsorted(vk, cand, side="left")
        best = cand * buying / n + prefix
    j = int(best.argmax())
    revenue = float(best[j])
    prices = np.zeros(m + 1)
    for size in range(m, 0, -1):
        prices[size] = cand[j]
        j = int(back[size - 1][j])
    return SizePricing(torch.as_tensor(prices), revenue)


def size_pricing_paid(buyers, size_prices: Tensor) -> Tensor:
    """What each XOR buyer pays ``(N,)`` when every bundle S costs F(|S|) (``size_prices``
    ``(m + 1,)``, non-decreasing; :class:`~mechopt.errors.InputError` otherwise): the best atom
    by utility v_j − F(|S_j|), ties to the dearer, bought iff its utility is ≥ 0 — exact for
    any XOR buyer when F is non-decreasing (module docstring)."""
    _require_xor(buyers)
    f = size_prices.detach().to(device=buyers.values.device, dtype=torch.float64)
    if f.numel() != buyers.bundles.shape[2] + 1:
        raise InputError(f"size prices need {buyers.bundles.shape[2] + 1} entries (sizes 0..m), got {f.numel()}")
    if bool((f[1:] < f[:-1]).any()) or float(f[0]) != 0.0:
        raise InputError("size prices must start at F(0) = 0 and never decrease")
    _, paid = hard_choice(buyers.values.detach().to(torch.float64), f[_atom_sizes(buyers)])
    return paid


def size_ceiling(buyers) -> float | None:
    """The exact best size-pricing revenue on ``buyers`` themselves (:func:`best_size_prices`):
    an upper bound, on these buyers, for every menu that sells deterministic bundles at a
    price depending on their size alone.  None when the buyers are not one-size XOR buyers."""
    if not hasattr(buyers, "bundles") or buyers.values.shape[0] == 0 or not single_size(buyers):
        return None
    return _best_size_prices(buyers).revenue


@torch.no_grad()
def fit_size_prices(buyers, width: int, *, grid: int = 1001) -> Tensor:
    """Kernel-smoothed size pricing fitted on ``buyers``: a non-decreasing price F(k) for
    every bundle size k = 0..m, F(0) = 0, returned as ``(m + 1,)`` (float64).

    Each buyer is summarized by its most valuable atom (size k_n, value v_n).  F(k) is the
    monopoly (Myerson) price of a kernel estimate of the distribution of v given size k: the
    buyers of size k' with |k' − k| ≤ ``width``, weighted 1 / (1 + |k' − k|), their values
    rescaled to size k (v_n · k / k_n: value roughly grows with size, which pools the data of
    neighbouring sizes) and clipped at the largest value seen; the price maximizes
    p · Σ weights{v ≥ p} over ``grid`` prices in [0, that largest value].  F is then made
    non-decreasing (running maximum).  A heuristic, not an optimum (:func:`best_size_prices`
    is the exact fit): pooling trades bias for less variance on small samples."""
    _require_xor(buyers)
    if width < 0:
        raise InputError(f"size-pricing width must be >= 0, got {width}")
    m = int(buyers.bundles.shape[2])
    k_of, v = _best_atoms(buyers)
    keep = (v > 0) & (k_of > 0)
    v, k_of = v[keep], k_of[keep]
    top = float(v.max()) if v.numel() else 1.0
    prices = torch.linspace(0.0, top, grid, dtype=torch.float64, device=v.device)
    out = torch.full((m + 1,), top, dtype=torch.float64, device=v.device)
    out[0] = 0.0
    for k in range(1, m + 1):
        near = (k_of - k).abs() <= width
        if not bool(near.any()):
            continue
        kn = k_of[near].to(torch.float64)
        scaled = (v[near] * k / kn).clamp(max=top)
        weight = 1.0 / (1.0 + (kn - k).abs())
        revenue = prices * ((scaled.unsqueeze(0) >= prices.unsqueeze(1)).to(torch.float64) @ weight)
        out[k] = prices[int(revenue.argmax())]
    return torch.cummax(out, dim=0).values
