"""Randomized menu elements that scale to many items: mixtures of a few bundles.

A lottery over independent items (``kind="lottery"``) has, for an XOR buyer, an expected
value that needs all 2^m bundles.  A **mixture element** is a lottery over ``C`` candidate
bundles ``S_1..S_C`` with probabilities ``q_1..q_C`` instead: the buyer receives ``S_c`` with
probability ``q_c``, so its expected value is exactly

    E[v] = Σ_c q_c v(S_c),      v(S) = max{p_j : S_j ⊆ S} for an XOR buyer,

``C`` bundle evaluations per element — exact and cheap for any m (docs/menus.md).

Parameters (all in one ``logits`` matrix ``(K, C·m + C)`` so that a mixture menu is stored
like any other menu): the first ``C·m`` columns are the candidate bundles' logits
(``sigmoid`` = relaxed bundle, ``≥ 0`` = rounded bundle), the last ``C`` the mixture logits
(``q = softmax``).  Training values the relaxed bundles (straight-through to the rounded ones,
as bundle menus do), test revenue values the rounded bundles with the exact ``q``.

:func:`initialize_from_buyers_` starts the candidate bundles at atoms of training buyers
(a random 50-item bundle almost never contains a buyer's atom, so the relaxed value
Π_{i∈S_j} x_i has no gradient worth following) and element 0 at the grand bundle priced at
the best grand-bundle price of the sample.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mechopt.errors import InputError
from mechopt.menus.config import MenuConfig
from mechopt.menus.menu import Menu, project_prices_
from mechopt.menus.priced import PricedMenu

__all__ = ["MixtureMenu", "make_menu", "menu_width", "mixture_values", "initialize_from_buyers_"]

#: logit magnitude of an initial candidate bundle's items (sigmoid(3) = 0.95)
INIT_LOGIT = 3.0



class MixtureMenu(nn.Module):
    """K elements, each a lottery over C candidate bundles of ``n_items`` items."""

    kind = "mixture"

    def __init__(self, n_items: int, size: int, n_bundles: int = 4,
                 straight_through: bool = True) -> None:
        super().__init__()
        if size < 1 or n_items < 1 or n_bundles < 1:
            raise InputError(f"mixture menu needs K, m, C >= 1, got K={size}, m={n_items}, C={n_bundles}")
        self.n_items = int(n_items)
        self.size = int(size)
        self.n_bundles = int(n_bundles)
        self.straight_through = bool(straight_through)
        self.logits = nn.Parameter(torch.zeros(size, n_bundles * n_items + n_bundles))
        self.prices = nn.Parameter(torch.zeros(size))

    # -- parts of the parameter matrix ------------------------------------------------
    def bundle_logits(self) -> Tensor:
        """``(K, C, m)``."""
        c, m = self.n_bundles, self.n_items
        return self.logits[:, : c * m].reshape(self.size, c, m)

    def weights(self) -> Tensor:
        """Mixture probabilities ``q`` ``(K, C)`` (rows sum to 1)."""
        return torch.softmax(self.logits[:, self.n_bundles * self.n_items:], dim=1)

    @torch.no_grad()
    def initialize_(self, generator: torch.Generator, max_init_price: float,
                    logit_scale: float = 2.0) -> MixtureMenu:
        shape, device, dtype = self.logits.shape, self.logits.device, self.logits.dtype
        self.logits.copy_(logit_scale * torch.randn(shape, generator=generator, device=device, dtype=dtype))
        self.logits[:, self.n_bundles * self.n_items:] = 0.0
        self.prices.copy_(max_init_price * torch.rand(self.size, generator=generator, device=device,
                                                      dtype=dtype))
        return self

    def forward(self, hard: bool = False) -> tuple[Tensor, Tensor]:
        """``(expected allocation (K, m), prices (K,))``: P(item i allocated) = Σ_c q_c x_ci
        (rounded bundles when ``hard``).  For display; values come from :func:`mixture_values`."""
        x = self.bundle_logits()
        x = (x >= 0).to(x.dtype) if hard else torch.sigmoid(x)
        return (self.weights().unsqueeze(2) * x).sum(dim=1), self.prices

    def expected_values(self, valuation, buyers, *, hard: bool, st_weight: float = 1.0) -> Tensor:
        """:func:`mixture_values` of this menu (what :func:`mechopt.menus.evaluate.menu_values` calls)."""
        return mixture_values(self, valuation, buyers, hard=hard, st_weight=st_weight)

    def project_(self, upper: Tensor | float | None = None) -> None:
        """Clamp prices to ``[0, upper]``, as :meth:`Menu.project_`."""
        project_prices_(self.prices, upper)

    def extra_repr(self) -> str:
        return f"n_items={self.n_items}, size={self.size}, bundles={self.n_bundles}"

    def describe(self, hard: bool = True, top: int | None = None) -> list[tuple[list[float], float]]:
        alloc, prices = self(hard=hard)
        rows = [(a.tolist(), float(p)) for a, p in zip(alloc.detach().cpu(), prices.detach().cpu(), strict=True)]
        return rows if top is None else rows[:top]


def mixture_values(menu: MixtureMenu, valuation, buyers, *, hard: bool, st_weight: float = 1.0) -> Tensor:
    """Expected values ``(N, K)``: Σ_c q_kc v(S_kc), exact for rounded bundles (``hard``).

    In training (``hard=False``) the bundles are relaxed (``valuation.relaxed_values``) and,
    with ``straight_through``, the forward pass moves to the rounded bundles' values with
    weight ``st_weight`` while the gradient stays the relaxed one."""
    k, c, m = menu.size, menu.n_bundles, menu.n_items
    logits = menu.bundle_logits().reshape(k * c, m)
    q = menu.weights()
    rounded_bundles = (logits >= 0).to(logits.dtype).detach()
    if hard:
        per_bundle = valuation.bundle_values(buyers, rounded_bundles)
    else:
        relaxed = valuation.relaxed_values(buyers, torch.sigmoid(logits))
        if menu.straight_through:
            rounded = valuation.bundle_values(buyers, rounded_bundles)
            per_bundle = relaxed + st_weight * (rounded - relaxed).detach()
        else:
            per_bundle = relaxed
    return (per_bundle.reshape(-1, k, c) * q.unsqueeze(0)).sum(dim=2)


def menu_width(config: MenuConfig) -> int:
    """Columns of the menu's ``logits`` matrix for ``config`` (m, or C·m + C for mixtures;
    a priced menu's offers have m)."""
    if config.kind == "mixture":
        return config.mixture_bundles * (config.n_items + 1)
    return config.n_items


def make_menu(config: MenuConfig) -> Menu | MixtureMenu | PricedMenu:
    """The (untrained, zero) menu module ``config`` names (``menu_size`` offers for a priced menu)."""
    if config.kind == "priced":
        return PricedMenu(config.n_items, config.menu_size, straight_through=config.straight_through)
    if config.kind == "mixture":
        return MixtureMenu(config.n_items, config.menu_size, config.mixture_bundles,
                           config.straight_through)
    return Menu(config.n_items, config.menu_size, config.kind, config.straight_through)


@torch.no_grad()
def initialize_from_buyers_(menu: MixtureMenu, buyers, valuation, generator: torch.Generator,
                            fill: float = 0.0) -> MixtureMenu:
    """Data-driven start for XOR buyers: every candidate bundle is the atom of a random
    training buyer (items ±``INIT_LOGIT``), its element priced at what its bundles cost under
    item prices fitted on (up to 1024 of) ``buyers`` (:func:`~mechopt.menus.baselines.fit_item_prices`,
    one coordinate pass); element 0 is the grand bundle at the best grand-bundle
    price of ``buyers`` (:func:`mechopt.menus.baselines.best_grand_price`), so training starts
    at least from the grand-bundle baseline.  Buyers without atoms (additive …) keep the
    random start.  With ``fill`` > 0 each candidate bundle also gets every other item with
    probability ρ ~ U[0, fill] (drawn per bundle): larger bundles contain the atoms of more
    buyers, so the menu starts with elements many buyers can use."""
    from mechopt.menus.baselines import best_grand_price

    if not hasattr(buyers, "bundles"):
        return menu
    k, c, m = menu.size, menu.n_bundles, menu.n_items
    device, dtype = menu.logits.device, menu.logits.dtype
    values = buyers.values
    n, a = values.shape
    real = values > 0
    if not bool(real.any()):
        return menu
    flat = torch.nonzero(real.reshape(-1)).squeeze(1)
    pick = flat[torch.randint(0, flat.numel(), (k * c,), generator=generator, device=device)]
    atoms = buyers.bundles.reshape(n * a, m)[pick].to(dtype)  # (K*C, m)
    if fill > 0:
        rho = fill * torch.rand(k * c, 1, generator=generator, device=device, dtype=dtype)
        extra = torch.rand(k * c, m, generator=generator, device=device, dtype=dtype) < rho
        atoms_cost = atoms.clone()
        atoms = torch.maximum(atoms, extra.to(dtype))
    else:
        atoms_cost = atoms
    logits = (2 * atoms - 1) * INIT_LOGIT
    menu.logits[:, : c * m] = logits.reshape(k, c * m)
    menu.logits[:, c * m:] = 0.0
    from mechopt.menus.baselines import fit_item_prices

    sub = buyers.take(torch.arange(min(n, 1024), device=device))
    item_prices, _, _ = fit_item_prices(sub, passes=1, grid=24)
    cost = (atoms_cost @ item_prices.to(dtype)).reshape(k, c)
    menu.prices.copy_(cost.mean(dim=1))
    price, _ = best_grand_price(valuation.grand_values(buyers))
    menu.logits[0, : c * m] = INIT_LOGIT
    menu.prices[0] = price
    return menu
