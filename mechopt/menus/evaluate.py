"""What a menu really earns: hard-choice revenue next to the relaxed ("soft") revenue.

Hard choice (the revenue a buyer really pays, docs/menus.md#menus-and-hard-revenue): each buyer takes an element
of highest utility u_k = v(x_k) − β_k and pays β_k if u_k ≥ 0, else takes the null option
and pays nothing.  **Tie rule**: among elements of equal best utility the buyer takes the
most expensive one (seller-favourable, as in the MILP reference of
:mod:`mechopt.formulations.pricing`), and a buyer whose best utility is exactly 0 buys.
With continuous value distributions ties have probability 0 except between identical
elements.  Bundle menus are rounded (x ≥ ½) before evaluation.

Soft revenue: Σ_k Z_k β_k with Z the softmax choice at the run's final inverse temperature
(:func:`mechopt.menus.relaxations.choice_probabilities`).  Their gap shows how much of the
relaxed objective is phantom revenue from buyers who would not buy; ``ir_violation_rate`` is
the soft probability mass on elements of negative utility (the hard choice is IR by
construction, so its own violation rate is always 0).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, cast

import torch
from torch import Tensor

from mechopt.errors import InputError
from mechopt.menus.menu import Menu

if TYPE_CHECKING:  # mixture and priced import baselines, which imports this module
    from mechopt.menus.mixture import MixtureMenu
    from mechopt.menus.priced import PricedMenu
from mechopt.menus.relaxations import choice_probabilities, soft_revenue
from mechopt.menus.valuations import Buyers, Valuation

__all__ = ["MenuMetrics", "hard_choice", "menu_values", "menu_options", "evaluate_menu", "RevenueGapWarning"]

#: buyers per evaluation chunk (bounds memory for large K or 2^m)
CHUNK = 8192


class RevenueGapWarning(UserWarning):
    """Soft (relaxed) revenue runs far above the hard revenue buyers really pay."""


@dataclass(frozen=True)
class MenuMetrics:
    """Metrics of one menu on one sample of buyers (values in [0, 1] units)."""

    hard_revenue: float
    hard_revenue_se: float
    """Standard error of ``hard_revenue`` (sample standard deviation / √N)."""
    soft_revenue: float
    gap: float
    """``soft_revenue − hard_revenue``."""
    relative_gap: float
    """``gap / max(soft, hard)`` (0 when both are 0)."""
    buy_rate: float
    """Share of buyers who buy a paid element under the hard choice."""
    ir_violation_rate: float
    """Soft choice probability on elements with negative utility (phantom purchases)."""
    phantom_revenue: float
    """Soft revenue from elements with negative utility: Σ_k Z_k β_k 1{u_k < 0}."""
    n_buyers: int
    inverse_temperature: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def hard_choice(values: Tensor, prices: Tensor) -> tuple[Tensor, Tensor]:
    """The choice of buyers who maximize utility: ``(choice (N,), paid (N,))``.

    ``choice`` is an element index, or K for the null option.  Ties go to the higher price;
    a buyer at utility exactly 0 buys (see the module docstring).  ``prices`` is ``(K,)``, or
    ``(N, K)`` when every buyer faces its own options (:mod:`mechopt.menus.priced`).
    """
    utilities = values - prices
    n, k = utilities.shape
    per_buyer = prices.expand(n, k)
    best, _ = utilities.max(dim=1)
    tied = utilities >= best.unsqueeze(1)
    price_if_tied = torch.where(tied, per_buyer, torch.full_like(utilities, -math.inf))
    pick = price_if_tied.argmax(dim=1)
    buys = best >= 0
    choice = torch.where(buys, pick, torch.full_like(pick, k))
    paid = torch.where(buys, per_buyer.gather(1, pick.unsqueeze(1)).squeeze(1), torch.zeros_like(best))
    return choice, paid


def menu_values(menu: Menu | MixtureMenu, valuation: Valuation, buyers: Buyers, *, hard: bool,
                st_weight: float = 1.0) -> Tensor:
    """Values ``(N, K)`` of the menu's elements: rounded bundles / exact lotteries when
    ``hard``, else what training sees: exact lotteries, relaxed bundles, or — for a bundle
    menu with ``straight_through`` — the rounded bundles' values in the forward pass and the
    relaxed bundles' gradient in the backward pass.  ``st_weight`` w < 1 forwards
    (1 − w) · relaxed + w · rounded instead (the trainer ramps w from 0 to 1)."""
    if menu.kind == "mixture":  # a MixtureMenu
        assert not isinstance(menu, Menu)
        return menu.expected_values(valuation, buyers, hard=hard, st_weight=st_weight)
    if menu.kind == "lottery":
        alloc, _ = menu(hard=False)
        return valuation.lottery_values(buyers, alloc)
    if hard:
        return valuation.bundle_values(buyers, menu(hard=True)[0])
    relaxed = valuation.relaxed_values(buyers, menu(hard=False)[0])
    if not menu.straight_through:
        return relaxed
    rounded = valuation.bundle_values(buyers, menu(hard=True)[0].detach())
    return relaxed + st_weight * (rounded - relaxed).detach()


def menu_options(menu: Menu | MixtureMenu | PricedMenu, valuation: Valuation, buyers: Buyers, *,
                 hard: bool, st_weight: float = 1.0) -> tuple[Tensor, Tensor]:
    """``(values (N, K'), prices)`` of what each buyer can choose besides the null option:
    the K elements at prices ``(K,)`` (:func:`menu_values`), or for a priced menu its atoms
    and offers at per-buyer prices ``(N, K')`` (:meth:`mechopt.menus.priced.PricedMenu.options`)."""
    if menu.kind == "priced":
        return cast("PricedMenu", menu).options(valuation, buyers, hard=hard, st_weight=st_weight)
    return menu_values(cast("Menu | MixtureMenu", menu), valuation, buyers, hard=hard, st_weight=st_weight), menu.prices


@torch.no_grad()
def evaluate_menu(menu: Menu | MixtureMenu | PricedMenu, valuation: Valuation, buyers: Buyers,
                  inverse_temperature: float) -> MenuMetrics:
    """Hard and soft revenue and the diagnostics of :class:`MenuMetrics` on ``buyers``."""
    sums = dict(hard=0.0, hard_sq=0.0, soft=0.0, buy=0.0, viol=0.0, phantom=0.0)
    n = buyers.n
    if n == 0:
        raise InputError("cannot evaluate a menu on an empty sample")
    device = menu.prices.device
    for start in range(0, n, CHUNK):
        chunk = buyers.take(torch.arange(start, min(n, start + CHUNK), device=device))
        hard_values, prices = menu_options(menu, valuation, chunk, hard=True)
        choice, paid = hard_choice(hard_values, prices)
        sums["hard"] += float(paid.sum())
        sums["hard_sq"] += float(paid.double().square().sum())
        sums["buy"] += float((choice < hard_values.shape[1]).sum())
        soft_values = (hard_values if menu.kind == "lottery"
                       else menu_options(menu, valuation, chunk, hard=False)[0])
        utilities = soft_values - prices
        probs = choice_probabilities(utilities, inverse_temperature)
        sums["soft"] += float(soft_revenue(probs, prices).sum())
        negative = (utilities < 0).to(probs.dtype)
        sums["viol"] += float((probs[:, :-1] * negative).sum())
        sums["phantom"] += float(soft_revenue(torch.cat([probs[:, :-1] * negative, probs[:, -1:]], dim=1),
                                              prices).sum())
    hard = sums["hard"] / n
    soft = sums["soft"] / n
    var = max(sums["hard_sq"] / n - hard * hard, 0.0)
    top = max(abs(soft), abs(hard))
    return MenuMetrics(
        hard_revenue=hard,
        hard_revenue_se=math.sqrt(var / max(n - 1, 1)),
        soft_revenue=soft,
        gap=soft - hard,
        relative_gap=(soft - hard) / top if top > 0 else 0.0,
        buy_rate=sums["buy"] / n,
        ir_violation_rate=sums["viol"] / n,
        phantom_revenue=sums["phantom"] / n,
        n_buyers=n,
        inverse_temperature=float(inverse_temperature),
    )
