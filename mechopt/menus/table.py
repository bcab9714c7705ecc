"""A menu as a table people can read: each element's bundle or lottery, its price, the share of
test buyers who choose it and its share of the revenue (hard choice, :func:`hard_choice`).

Bundle elements are shown as their rounded bundles (the items a buyer gets, x ≥ ½), never as
logits; lottery elements as the probability of each item.  A priced menu
(:mod:`mechopt.menus.priced`) shows its offers as bundles and one row ``price function`` for
every buyer who buys one of its own atoms at P(S) (``price``: the mean price they pay).
"""

from __future__ import annotations

from typing import Any

import torch

from mechopt.menus.evaluate import CHUNK, hard_choice, menu_values
from mechopt.menus.menu import Menu
from mechopt.menus.priced import PricedMenu
from mechopt.menus.valuations import Buyers, Valuation

__all__ = ["menu_rows", "element_text"]


@torch.no_grad()
def menu_rows(menu: Menu | PricedMenu, valuation: Valuation, buyers: Buyers) -> list[dict[str, Any]]:
    """One row per element (in menu order) and a last row for the null option (``element``
    None): ``bundle`` (items, bundle menus) or ``lottery`` (item probabilities), ``price``,
    ``buyers`` (share choosing it), ``revenue`` (share of the hard revenue)."""
    if isinstance(menu, PricedMenu):
        return _priced_rows(menu, valuation, buyers)
    alloc, prices = menu(hard=True)
    k = menu.size
    counts = torch.zeros(k + 1, dtype=torch.float64)
    paid = torch.zeros(k + 1, dtype=torch.float64)
    n = buyers.n
    for start in range(0, n, CHUNK):
        chunk = buyers.take(torch.arange(start, min(n, start + CHUNK), device=prices.device))
        choice, pay = hard_choice(menu_values(menu, valuation, chunk, hard=True), prices)
        counts += torch.bincount(choice.cpu(), minlength=k + 1).double()
        paid.index_add_(0, choice.cpu(), pay.detach().cpu().double())
    total = float(paid.sum())
    rows: list[dict[str, Any]] = []
    alloc = alloc.detach().cpu()
    for e in range(k):
        row: dict[str, Any] = {"element": e}
        if menu.kind == "bundle":
            row["bundle"] = [i for i in range(menu.n_items) if alloc[e, i] >= 0.5]
        else:
            row["lottery"] = [float(p) for p in alloc[e]]
        row.update(price=float(prices[e]), buyers=float(counts[e]) / n,
                   revenue=float(paid[e]) / total if total > 0 else 0.0)
        rows.append(row)
    rows.append({"element": None, "bundle" if menu.kind == "bundle" else "lottery": None, "price": 0.0,
                 "buyers": float(counts[k]) / n, "revenue": 0.0})
    return rows


def _priced_rows(menu: PricedMenu, valuation: Valuation, buyers: Buyers) -> list[dict[str, Any]]:
    """:func:`menu_rows` of a priced menu: the offers, then ``price function``, then null."""
    k = menu.size
    counts = torch.zeros(k + 2, dtype=torch.float64)  # offers, price function, null
    paid = torch.zeros(k + 2, dtype=torch.float64)
    n = buyers.n
    for start in range(0, n, CHUNK):
        chunk = buyers.take(torch.arange(start, min(n, start + CHUNK), device=menu.prices.device))
        values, prices = menu.options(valuation, chunk, hard=True)
        choice, pay = hard_choice(values, prices)
        atoms = values.shape[1] - k
        slot = torch.where(choice == values.shape[1], k + 1,
                           torch.where(choice < atoms, k, choice - atoms)).cpu()
        counts += torch.bincount(slot, minlength=k + 2).double()
        paid.index_add_(0, slot, pay.detach().cpu().double())
    total = float(paid.sum())
    bundles = menu.offer_bundles().detach().cpu()
    offer_prices = menu.offer_prices.detach().cpu()

    def share(e: int) -> dict[str, float]:
        return dict(buyers=float(counts[e]) / n, revenue=float(paid[e]) / total if total > 0 else 0.0)

    rows: list[dict[str, Any]] = [
        {"element": e, "bundle": [i for i in range(menu.n_items) if bundles[e, i] >= 0.5],
         "price": float(offer_prices[e]), **share(e)} for e in range(k)]
    rows.append({"element": "price function", "price_function": menu.function_state(),
                 "price": float(paid[k] / counts[k]) if counts[k] > 0 else 0.0, **share(k)})
    rows.append({"element": None, "bundle": None, "price": 0.0, **share(k + 1)})
    return rows


def element_text(row: dict[str, Any]) -> str:
    """``{0, 2}`` for a bundle, ``0: 0.73  1: 0.12`` for a lottery, ``nothing`` for the null option."""
    if row["element"] is None:
        return "nothing (null option)"
    if "price_function" in row:
        return "any bundle S at P(S) (the buyer's own atoms; price: mean paid)"
    if "bundle" in row:
        return "{" + ", ".join(map(str, row["bundle"])) + "}" if row["bundle"] else "{} (empty)"
    return "  ".join(f"{i}: {p:.2f}" for i, p in enumerate(row["lottery"]))
