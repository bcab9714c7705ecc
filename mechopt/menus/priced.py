"""Priced menus: every bundle at a learned monotone price function, plus K explicit offers.

Item pricing (one posted price per item: "selling separately", Hart and Nisan, *Approximate
revenue maximization with multiple items*, JET 2017; with the grand bundle, Babaioff,
Immorlica, Lucier and Weinberg, FOCS 2014; both in docs/menus.md#references) is a menu with
one entry for every one of the 2^m bundles.  ``kind="priced"`` keeps that menu and
makes its price function richer, so item pricing is the initialization and a special case:

    P(S) = φ(Σ_{i∈S} p_i) + ψ(|S|)   for S ≠ ∅,  P(∅) = 0,

- ``p_i ≥ 0`` item prices (the :attr:`PricedMenu.prices` parameter, started at the item-pricing
  baseline's prices, :func:`~mechopt.menus.baselines.fit_item_prices`);
- ``φ`` a non-decreasing piecewise-linear function of the additive price, φ(0) = 0, with
  slopes ``s_b ≥ 0`` on ``B`` segments of width 1/B of the value range [0, 1] (the last
  segment extends to ∞).  Slopes 1 make φ the identity; slopes below / above 1 give volume
  discounts / surcharges on dear bundles (size-based bundle pricing, cf. Chu, Leslie and
  Sorensen, *Bundle-size pricing as an approximation to mixed bundling*, AER 2011);
- ``ψ(k) = Σ_{j<k} r_j`` a non-decreasing surcharge on the number of items, ``r_j ≥ 0``
  (``r_0`` is an entry fee on every purchase);

and ``K`` explicit **offers**: bundles T_k (logits ``(K, m)``, rounded at x ≥ ½, trained
straight-through as bundle menus are) at their own prices q_k ≥ 0 — mixed bundling on top of
the price function.  The training machinery (softmax over the options plus the null option,
menu parameters learned by gradient ascent) is RochetNet's (Dütting et al., ICML 2019) as
used by BundleFlow (Wang, Jiang and Parkes, NeurIPS 2025) for menus of bundles
(docs/menus.md#menus-at-the-scale-of-the-combinatorial-benchmark).

**Exact best response of an XOR buyer.** Every parameter of P (p, s, r) is kept ≥ 0
(projection after each step, :meth:`PricedMenu.project_`), so P is monotone in set inclusion (S ⊆ S' ⇒ P(S) ≤ P(S')).  An XOR buyer with atoms
(S_j, v_j) values a bundle S at v(S) = max{v_j : S_j ⊆ S}; if that maximum is reached at atom
j then v(S) − P(S) ≤ v_j − P(S_j).  So the buyer's best purchase from the price function is
one of its atoms (or nothing), and its best purchase overall is the best of its atoms at
P(S_j), the K offers at q_k and the null option: ``a + K`` columns per buyer instead of 2^m
(checked against enumerating all 2^m bundles in tests/test_menus_priced.py).  Ties go to the
dearer option and a buyer at utility 0 buys, as in :mod:`mechopt.menus.evaluate`.

Training uses the same soft relaxation as every menu (:mod:`mechopt.menus.relaxations`): a
softmax over the buyer's atoms, the offers and the null option, with per-buyer prices.
Padding atoms (value 0, empty bundle) are masked out.  Only XOR buyers (valuations ``xor``
and ``generated``) are supported: the atom argument needs them.

**Size-pricing starts** (``MenuConfig.priced_init = "size"``): a price per bundle size,
P(S) = F(|S|) (p = 0, φ the identity, ψ = F: the same price class, so the exact best response
above still holds; :func:`set_size_pricing_`), fitted on the training buyers by the
kernel-smoothed monopoly prices of :func:`mechopt.menus.size_pricing.fit_size_prices` (one per
width); the trainer starts from the best on the validation buyers of these and the
item-pricing start (docs/menus.md#menus-at-the-scale-of-the-combinatorial-benchmark).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mechopt.errors import InputError
from mechopt.menus.config import PRICED_INITS
from mechopt.menus.menu import project_prices_
from mechopt.menus.size_pricing import SIZE_PRICE_WIDTHS, fit_size_prices

__all__ = ["PricedMenu", "PRICE_SEGMENTS", "SIZE_PRICE_WIDTHS", "price_function", "initialize_priced_",
           "fit_size_prices", "set_size_pricing_", "PRICED_INITS"]

#: segments B of the piecewise-linear φ on the value range [0, 1]
PRICE_SEGMENTS = 8

#: utility of a masked (padding) atom in the relaxed choice: far below any real option
_MASKED = -1.0e4

#: logit magnitude of an initial offer's items (sigmoid(3) = 0.95)
INIT_LOGIT = 3.0


class PricedMenu(nn.Module):
    """A monotone price function on all bundles of ``n_items`` items plus ``size`` offers.

    Parameters: ``prices`` ``(m,)`` item prices p_i; ``slopes`` ``(B,)`` of φ;
    ``size_surcharge`` ``(m,)`` increments r_k of ψ; ``logits`` ``(K, m)`` and
    ``offer_prices`` ``(K,)`` of the offers.
    """

    kind = "priced"

    def __init__(self, n_items: int, size: int, segments: int = PRICE_SEGMENTS,
                 straight_through: bool = True) -> None:
        super().__init__()
        if size < 1 or n_items < 1 or segments < 1:
            raise InputError(f"priced menu needs m, K, B >= 1, got m={n_items}, K={size}, B={segments}")
        self.n_items = int(n_items)
        self.size = int(size)
        self.segments = int(segments)
        self.straight_through = bool(straight_through)
        self.prices = nn.Parameter(torch.zeros(n_items))
        self.slopes = nn.Parameter(torch.ones(segments))
        self.size_surcharge = nn.Parameter(torch.zeros(n_items))
        self.logits = nn.Parameter(torch.full((size, n_items), -INIT_LOGIT))
        self.offer_prices = nn.Parameter(torch.zeros(size))

    # -- the price function ----------------------------------------------------------
    def bundle_prices(self, bundles: Tensor) -> Tensor:
        """P(S) for 0/1 bundles ``(..., m)`` -> ``(...)`` (0 for the empty bundle)."""
        return price_function(bundles, self.prices, self.slopes, self.size_surcharge)

    @torch.no_grad()
    def initialize_(self, generator: torch.Generator, max_init_price: float,
                    logit_scale: float = 2.0) -> PricedMenu:
        """Start as plain item pricing at prices ~ U[0, max_init_price] with inert offers
        (every offer priced at P(T_k), so it adds nothing); see :func:`initialize_priced_`."""
        device, dtype = self.prices.device, self.prices.dtype
        self.prices.copy_(max_init_price * torch.rand(self.n_items, generator=generator, device=device,
                                                      dtype=dtype))
        self.slopes.fill_(1.0)
        self.size_surcharge.zero_()
        self.logits.copy_(logit_scale * torch.randn(self.logits.shape, generator=generator,
                                                    device=device, dtype=dtype))
        self.offer_prices.copy_(self.bundle_prices(self.offer_bundles()))
        return self

    def offer_bundles(self) -> Tensor:
        """The offers' rounded bundles ``(K, m)`` in {0, 1}."""
        return (self.logits >= 0).to(self.logits.dtype)

    def forward(self, hard: bool = False) -> tuple[Tensor, Tensor]:
        """``(offers (K, m), offer prices (K,))`` (rounded when ``hard``), for display."""
        x = self.offer_bundles() if hard else torch.sigmoid(self.logits)
        return x, self.offer_prices

    def options(self, valuation, buyers, *, hard: bool, st_weight: float = 1.0) -> tuple[Tensor, Tensor]:
        """Values and prices ``(N, a + K)`` of every buyer's options: its atoms at P(S_j),
        then the offers at q_k (see the module docstring; the null option is implicit).

        Padding atoms get value −10⁴ (never chosen).  ``hard=False``: the offers are valued
        as relaxed bundles, straight-through to the rounded ones with weight ``st_weight``
        (as :func:`mechopt.menus.mixture.mixture_values`)."""
        if not hasattr(buyers, "bundles"):
            raise InputError("priced menus need XOR buyers (valuation xor or generated)")
        bundles = buyers.bundles.to(self.prices.dtype)
        atom_prices = self.bundle_prices(bundles)  # (N, a)
        real = bundles.sum(dim=2) > 0
        atom_values = torch.where(real, buyers.values.to(self.prices.dtype),
                                  torch.full_like(atom_prices, _MASKED))
        rounded = self.offer_bundles().detach()
        if hard:
            offer_values = valuation.bundle_values(buyers, rounded)
        else:
            relaxed = valuation.relaxed_values(buyers, torch.sigmoid(self.logits))
            if self.straight_through:
                exact = valuation.bundle_values(buyers, rounded)
                offer_values = relaxed + st_weight * (exact - relaxed).detach()
            else:
                offer_values = relaxed
        n = atom_values.shape[0]
        values = torch.cat([atom_values, offer_values], dim=1)
        prices = torch.cat([atom_prices, self.offer_prices.unsqueeze(0).expand(n, -1)], dim=1)
        return values, prices

    def project_(self, upper: Tensor | float | None = None) -> None:
        """Keep every parameter of the price function ≥ 0 (so P stays monotone) and the
        item and offer prices ≤ ``upper`` when it is a number."""
        scalar = upper if isinstance(upper, (int, float)) else None
        project_prices_(self.prices, scalar)
        project_prices_(self.offer_prices, scalar)
        project_prices_(self.slopes)
        project_prices_(self.size_surcharge)

    def extra_repr(self) -> str:
        return f"n_items={self.n_items}, offers={self.size}, segments={self.segments}"

    def describe(self, hard: bool = True, top: int | None = None) -> list[tuple[list[float], float]]:
        """The offers as ``(bundle, price)`` pairs."""
        alloc, prices = self(hard=hard)
        rows = [(a.tolist(), float(p)) for a, p in zip(alloc.detach().cpu(), prices.detach().cpu(), strict=True)]
        return rows if top is None else rows[:top]

    def function_state(self) -> dict[str, list[float]]:
        """The price function's parameters as lists (for the menu store)."""
        return {"item_prices": self.prices.detach().cpu().double().tolist(),
                "slopes": self.slopes.detach().cpu().double().tolist(),
                "size_surcharge": self.size_surcharge.detach().cpu().double().tolist()}


def price_function(bundles: Tensor, item_prices: Tensor, slopes: Tensor, increments: Tensor) -> Tensor:
    """P(S) = φ(Σ_{i∈S} p_i) + ψ(|S|) of the module docstring for 0/1 ``bundles`` ``(..., m)``.

    φ(c) = Σ_b s_b · clamp(c − b/B, 0, 1/B) (the last segment unbounded); ψ(k) = Σ_{j<k} r_j."""
    b = slopes.numel()
    cost = bundles @ item_prices  # (...)
    knots = torch.arange(b, device=cost.device, dtype=cost.dtype) / b
    widths = torch.full((b,), 1.0 / b, device=cost.device, dtype=cost.dtype)
    widths[-1] = torch.inf
    seg = torch.minimum((cost.unsqueeze(-1) - knots).clamp_min(0.0), widths)
    phi = seg @ slopes
    table = torch.cat([increments.new_zeros(1), torch.cumsum(increments, dim=0)])
    k = bundles.sum(dim=-1).round().long().clamp(0, increments.numel())
    return phi + table[k]


@torch.no_grad()
def initialize_priced_(menu: PricedMenu, buyers, generator: torch.Generator, *, fill: float = 0.0,
                       max_fit: int = 8192, passes: int = 4) -> PricedMenu:
    """Start at the item-pricing baseline: item prices fitted on (the first ``max_fit`` of)
    ``buyers`` exactly as :func:`mechopt.menus.baselines.compute_baselines` fits them, φ the
    identity, ψ = 0, and each offer the atom of a random training buyer (plus every other
    item with probability ρ ~ U[0, ``fill``]) priced at P(T_k) — inert, since the buyer can
    already buy T_k at that price.  The initial menu's hard revenue on any buyers is
    therefore exactly that of item pricing."""
    from mechopt.menus.baselines import fit_item_prices

    if not hasattr(buyers, "bundles"):
        raise InputError("priced menus need XOR buyers (valuation xor or generated)")
    device, dtype = menu.prices.device, menu.prices.dtype
    n, a, m = buyers.bundles.shape
    sub = buyers.take(torch.arange(min(n, max_fit), device=buyers.values.device)) if n > max_fit else buyers
    item_prices, _, _ = fit_item_prices(sub, passes=passes)
    menu.prices.copy_(item_prices.to(device=device, dtype=dtype))
    menu.slopes.fill_(1.0)
    menu.size_surcharge.zero_()
    real = (buyers.values > 0).reshape(-1)
    if bool(real.any()):
        flat = torch.nonzero(real).squeeze(1)
        pick = flat[torch.randint(0, flat.numel(), (menu.size,), generator=generator, device=device)]
        offers = buyers.bundles.reshape(n * a, m)[pick].to(dtype)
        if fill > 0:
            rho = fill * torch.rand(menu.size, 1, generator=generator, device=device, dtype=dtype)
            extra = torch.rand(menu.size, m, generator=generator, device=device, dtype=dtype) < rho
            offers = torch.maximum(offers, extra.to(dtype))
        menu.logits.copy_((2 * offers - 1) * INIT_LOGIT)
    menu.offer_prices.copy_(menu.bundle_prices(menu.offer_bundles()))
    return menu


@torch.no_grad()
def set_size_pricing_(menu: PricedMenu, size_prices: Tensor) -> PricedMenu:
    """Make ``menu``'s price function the size pricing F (``(m + 1,)``, non-decreasing,
    F(0) = 0, as :func:`fit_size_prices` returns): p = 0, φ the identity, ψ(k) = F(k); the
    offers are re-priced at P(T_k), so they stay inert."""
    f = size_prices.to(device=menu.prices.device, dtype=menu.prices.dtype)
    if f.numel() != menu.n_items + 1:
        raise InputError(f"size prices need {menu.n_items + 1} entries (sizes 0..m), got {f.numel()}")
    menu.prices.zero_()
    menu.slopes.fill_(1.0)
    menu.size_surcharge.copy_((f[1:] - f[:-1]).clamp_min(0.0))
    menu.offer_prices.copy_(menu.bundle_prices(menu.offer_bundles()))
    return menu
