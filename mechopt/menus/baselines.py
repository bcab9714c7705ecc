"""Baselines a trained menu must beat, each fitted by its own exact method or optimizer on a
fitting sample and then evaluated on the same held-out test buyers as the menu.

=====================  =====================================================================
``grand bundle``       one price for the bundle of all items.  Exact on the fitting sample:
                       revenue p · #{v ≥ p} is maximized at one of the sample's grand-bundle
                       values, so sort them and take the best (:func:`best_grand_price`).
``item pricing``       one posted price per item; an XOR buyer buys the atom of highest
                       utility v_j − Σ_{i∈S_j} p_i (buying exactly an atom's items is optimal:
                       extra items add cost, no value), an additive buyer every item with
                       v_i ≥ p_i.  Optimized by a line search over a common scale of
                       per-item value estimates, then coordinate search (every item in turn
                       over a multiplicative and an absolute grid of candidates, keeping a
                       change only if the sample revenue rises) — a local optimum, not proven
                       (:func:`fit_item_prices`).
``bundle menu (MILP)`` the best menu of at most K deterministic bundles drawn from the
                       candidate bundles "atoms of the MILP sample" plus the grand bundle, on
                       a small sample of buyers: the pricing MILP of
                       :mod:`mechopt.formulations.pricing` plus an offer binary per bundle
                       (choose ≤ offer, Σ offer ≤ K).  *Certified* only if HiGHS proves it
                       optimal (gap 0) within the time limit; otherwise the best solution
                       found is reported as NOT PROVEN.  Certified means: optimal for that
                       sample among menus built from those candidate bundles, not on the test
                       buyers and not among all 2^m bundles.
``welfare``            E[v(all items)]: the buyer's highest value, an upper bound on the
                       revenue of every menu (IR).
``size-only ceiling``  the exact best price-per-bundle-size on the *test* buyers themselves
                       (:func:`mechopt.menus.size_pricing.size_ceiling`; one-size XOR buyers
                       only): an upper bound, on those buyers, for every menu that sells
                       deterministic bundles at a price depending on their size alone.
                       In-sample, so it is optimistic for fresh buyers; not a baseline.
=====================  =====================================================================

Hard choices follow :mod:`mechopt.menus.evaluate`: ties go to the dearer option and a buyer at
utility exactly 0 buys.  Everything runs on the device of the buyers' tensors.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mechopt.errors import InputError
from mechopt.menus.evaluate import hard_choice
from mechopt.menus.size_pricing import size_ceiling
from mechopt.menus.valuations import Buyers, ItemValues, Valuation, XORAtoms

__all__ = [
    "Baseline",
    "Baselines",
    "best_grand_price",
    "grand_price_revenue",
    "item_pricing_paid",
    "item_pricing_revenue",
    "fit_item_prices",
    "certified_bundle_menu",
    "compute_baselines",
]


@dataclass(frozen=True)
class Baseline:
    """One baseline: revenue on the fitting sample and on the test buyers."""

    name: str
    test_revenue: float | None
    fit_revenue: float | None
    method: str
    certified: bool | None = None
    """``bundle menu``: True iff the MILP was proven optimal on its sample; None: not applicable."""
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Baselines:
    """All baselines of one trained menu (``welfare`` and ``size_ceiling`` are upper bounds on
    the test buyers, not mechanisms)."""

    entries: tuple[Baseline, ...]
    welfare: float
    n_test_buyers: int
    n_fit_buyers: int
    size_ceiling: float | None = None
    """The best size pricing fitted on the test buyers (see the module docstring); None when
    the buyers are not one-size XOR buyers."""

    @property
    def best(self) -> Baseline | None:
        ok = [b for b in self.entries if b.test_revenue is not None and math.isfinite(b.test_revenue)]
        return max(ok, key=lambda b: b.test_revenue or 0.0) if ok else None

    def ratio(self, revenue: float) -> float | None:
        """``revenue`` / the best baseline's test revenue (None when there is none or it is 0)."""
        best = self.best
        top = best.test_revenue if best is not None else None
        return revenue / top if top is not None and top > 0 else None

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {"entries": [b.to_dict() for b in self.entries], "welfare": self.welfare,
                "size_ceiling": self.size_ceiling,
                "best": best.name if best else None,
                "best_test_revenue": best.test_revenue if best else None,
                "n_test_buyers": self.n_test_buyers, "n_fit_buyers": self.n_fit_buyers}


# -------------------------------------------------------------------------------- grand
def best_grand_price(grand_values: Tensor) -> tuple[float, float]:
    """Exact best single price for the grand bundle on a sample: ``(price, revenue)``.

    revenue(p) = p · #{n : v_n ≥ p} / N is maximized at a sample value (between two sample
    values it rises with p); for sorted values the count at v_(j) is the number of values
    ≥ v_(j), ties included (a buyer at utility 0 buys)."""
    v = grand_values.detach().reshape(-1).to(torch.float64)
    n = v.numel()
    if n == 0:
        raise InputError("cannot price the grand bundle on an empty sample")
    s, _ = v.sort()
    first = torch.searchsorted(s, s, right=False)  # index of the first value equal to s_j
    revenue = s * (n - first).to(s.dtype) / n
    j = int(revenue.argmax())
    return float(s[j]), float(revenue[j])


def grand_price_revenue(grand_values: Tensor, price: float) -> float:
    """Mean revenue of the grand bundle at ``price`` (buys iff v ≥ p)."""
    v = grand_values.detach().to(torch.float64)
    return float((price * (v >= price).to(v.dtype)).mean())


# -------------------------------------------------------------------------------- items
def _atom_paid(values: Tensor, costs: Tensor) -> Tensor:
    """What XOR buyers pay under additive item prices: values ``(N, a)``, atom costs
    ``(..., N, a)`` -> ``(..., N)``; best atom by utility, ties to the dearer, pays iff u ≥ 0."""
    u = values - costs
    best = u.amax(dim=-1, keepdim=True)
    dearest = torch.where(u >= best, costs, torch.full_like(costs, -math.inf)).amax(dim=-1)
    return torch.where(best.squeeze(-1) >= 0, dearest, torch.zeros_like(dearest))


def item_pricing_paid(buyers: Buyers, prices: Tensor) -> Tensor:
    """Payment ``(N,)`` of each buyer facing item prices ``(m,)``."""
    prices = prices.to(buyers.values.dtype)
    if isinstance(buyers, XORAtoms):
        return _atom_paid(buyers.values, buyers.bundles @ prices)
    if isinstance(buyers, ItemValues):  # additive: buy every item worth its price
        return ((buyers.values >= prices) * prices).sum(dim=1)
    raise TypeError(f"item pricing needs XOR or additive buyers, got {type(buyers).__name__}")


def item_pricing_revenue(buyers: Buyers, prices: Tensor) -> float:
    return float(item_pricing_paid(buyers, prices).double().mean())


def _value_per_item(buyers: Buyers) -> Tensor:
    """A per-item value estimate ``(m,)``: the mean of v_j / |S_j| over atoms holding the item."""
    if isinstance(buyers, ItemValues):
        return buyers.values.mean(dim=0)
    sizes = buyers.bundles.sum(dim=2)
    share = torch.where(sizes > 0, buyers.values / sizes.clamp_min(1), torch.zeros_like(sizes))
    total = torch.einsum("na,nam->m", share, buyers.bundles)
    count = buyers.bundles.sum(dim=(0, 1))
    est = total / count.clamp_min(1)
    fallback = est[count > 0].mean() if bool((count > 0).any()) else est.new_tensor(1.0)
    return torch.where(count > 0, est, fallback)


_FACTORS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.05, 1.1, 1.2, 1.35, 1.6, 2.0, 3.0)


def fit_item_prices(buyers: Buyers, *, passes: int = 4, grid: int = 48) -> tuple[Tensor, float, int]:
    """Item prices that (locally) maximize revenue on ``buyers``: ``(prices, revenue, evals)``.

    1. line search: prices t · ê (ê = per-item value estimates), t on a grid of ``grid``
       points in [0, 2.5];
    2. ``passes`` rounds of coordinate search: each item's price in turn tries the current
       price times :data:`_FACTORS` and ``grid`` absolute prices in [0, max atom value]; the
       best is kept if it raises the sample revenue (so revenue never decreases).
    """
    est = _value_per_item(buyers).to(torch.float64)
    values = buyers.values.to(torch.float64)
    bundles = buyers.bundles.to(torch.float64) if isinstance(buyers, XORAtoms) else None
    m = est.numel()

    def revenue_of(prices_batch: Tensor) -> Tensor:  # (G, m) -> (G,)
        if bundles is None:
            return ((values.unsqueeze(0) >= prices_batch.unsqueeze(1)) * prices_batch.unsqueeze(1)).sum(2).mean(1)
        costs = torch.einsum("nam,gm->gna", bundles, prices_batch)
        return _atom_paid(values, costs).mean(dim=1)

    ts = torch.linspace(0, 2.5, grid, dtype=torch.float64, device=est.device)
    revs = revenue_of(ts.unsqueeze(1) * est.unsqueeze(0))
    evals = grid
    prices = ts[int(revs.argmax())] * est
    best = float(revs.max())
    top = float(values.max()) if values.numel() else 1.0
    absolute = torch.linspace(0, top, grid, dtype=torch.float64, device=est.device)
    factors = torch.tensor(_FACTORS, dtype=torch.float64, device=est.device)
    for _ in range(passes):
        improved = False
        for i in range(m):
            cand = torch.cat([prices[i] * factors, absolute])
            if bundles is None:
                trial = prices.unsqueeze(0).repeat(cand.numel(), 1)
                trial[:, i] = cand
                r = revenue_of(trial)
            else:  # only item i's price changes: shift the atom costs of atoms holding i
                base = bundles @ prices  # (N, a)
                costs = base.unsqueeze(0) + (cand - prices[i]).view(-1, 1, 1) * bundles[:, :, i].unsqueeze(0)
                r = _atom_paid(values, costs).mean(dim=1)
            evals += cand.numel()
            j = int(r.argmax())
            if float(r[j]) > best + 1e-12:
                best = float(r[j])
                prices = prices.clone()
                prices[i] = cand[j]
                improved = True
        if not improved:
            break
    return prices, best, evals


# -------------------------------------------------------------------------------- MILP
def _candidate_bundles(buyers: XORAtoms) -> Tensor:
    """Distinct non-empty atoms of ``buyers`` with positive value, plus the grand bundle."""
    m = buyers.bundles.shape[2]
    atoms = buyers.bundles.reshape(-1, m)[(buyers.values > 0).reshape(-1)]
    grand = torch.ones(1, m, dtype=atoms.dtype, device=atoms.device)
    return torch.unique(torch.cat([atoms, grand]), dim=0)


def certified_bundle_menu(valuation: Valuation, milp_buyers: XORAtoms, test_buyers: Buyers,
                          menu_size: int, *, time_limit: float = 60.0) -> Baseline:
    """Best menu of ≤ ``menu_size`` deterministic bundles on ``milp_buyers`` (see the module
    docstring), evaluated on ``test_buyers``."""
    import pyomo.environ as pyo

    from mechopt.formulations.pricing import build_bundle_pricing_model, read_bundle_prices
    from mechopt.mechanisms.pricing import pricing_revenue
    from mechopt.solve import solve_model

    start = time.perf_counter()
    cands = _candidate_bundles(milp_buyers)
    values = valuation.bundle_values(milp_buyers, cands).detach().cpu().double().numpy()
    model = build_bundle_pricing_model(values)
    n_cands = cands.shape[0]
    if n_cands > menu_size:
        model.offer = pyo.Var(model.BUNDLES, domain=pyo.Binary)
        model.offer_if_chosen = pyo.Constraint(
            model.PAIRS, rule=lambda mm, n, b: mm.choose[n, b] <= mm.offer[b])
        model.menu_size = pyo.Constraint(expr=sum(model.offer[b] for b in model.BUNDLES) <= menu_size)
    method = (f"pricing MILP (HiGHS, gap 0, {time_limit:g} s limit) on {milp_buyers.n} buyers, "
              f"≤ {menu_size} of {n_cands} candidate bundles (the sample's atoms + grand bundle)")
    result = solve_model(model, time_limit=time_limit, mip_gap=0.0)
    seconds = time.perf_counter() - start
    detail = {"n_milp_buyers": milp_buyers.n, "n_candidates": int(n_cands), "status": result.status.value,
              "menu_size": menu_size}
    if not result.status.has_solution:
        return Baseline("bundle menu (MILP)", None, None, method, False, seconds, detail)
    prices = read_bundle_prices(model)
    if n_cands > menu_size:
        offered = np.array([(model.offer[b].value or 0) > 0.5 for b in model.BUNDLES])
    else:
        offered = np.ones(n_cands, dtype=bool)
    scale = model.value_scale.value
    fit = pricing_revenue(values[:, offered], prices[offered], tol=1e-7 * scale) if offered.any() else 0.0
    idx = torch.as_tensor(np.flatnonzero(offered), device=cands.device)
    test = 0.0
    if idx.numel():
        tv = valuation.bundle_values(test_buyers, cands[idx])
        _, paid = hard_choice(tv, torch.as_tensor(prices[offered], dtype=tv.dtype, device=tv.device))
        test = float(paid.double().mean())
    detail.update(offered=int(offered.sum()), milp_objective=float(result.objective) * scale
                  if result.objective is not None else None)
    return Baseline("bundle menu (MILP)", test, fit, method, bool(result.status.is_optimal), seconds, detail)


# -------------------------------------------------------------------------------- all
def compute_baselines(valuation: Valuation, fit_buyers: Buyers, test_buyers: Buyers, *,
                      menu_size: int, milp_buyers: int = 64, milp_time_limit: float = 30.0,
                      item_passes: int = 4, max_fit: int = 8192) -> Baselines:
    """Every baseline that applies to the valuation, fitted on (the first ``max_fit`` of)
    ``fit_buyers`` (the MILP on the first ``milp_buyers`` of them; 0 skips it) and evaluated
    on ``test_buyers``."""
    entries: list[Baseline] = []
    if fit_buyers.n > max_fit:
        fit_buyers = fit_buyers.take(torch.arange(max_fit, device=fit_buyers.values.device))
    t = time.perf_counter()
    price, fit = best_grand_price(valuation.grand_values(fit_buyers))
    test_grand = valuation.grand_values(test_buyers)
    entries.append(Baseline("grand bundle", grand_price_revenue(test_grand, price), fit,
                            "exact best price on the fitting sample (sorted values)", None,
                            time.perf_counter() - t, {"price": price}))
    if isinstance(fit_buyers, XORAtoms) or valuation.name in ("additive", "triangle"):
        t = time.perf_counter()
        prices, fit, evals = fit_item_prices(fit_buyers, passes=item_passes)
        entries.append(Baseline("item pricing", item_pricing_revenue(test_buyers, prices), fit,
                                f"line search + {item_passes} coordinate-search passes "
                                f"({evals} price evaluations); local optimum, not proven", None,
                                time.perf_counter() - t,
                                {"mean_price": float(prices.mean()), "max_price": float(prices.max())}))
    if isinstance(fit_buyers, XORAtoms) and milp_buyers > 0:
        sample = fit_buyers.take(torch.arange(min(milp_buyers, fit_buyers.n), device=fit_buyers.values.device))
        entries.append(certified_bundle_menu(valuation, sample, test_buyers, menu_size,
                                             time_limit=milp_time_limit))
    return Baselines(tuple(entries), welfare=float(test_grand.double().mean()),
                     n_test_buyers=test_buyers.n, n_fit_buyers=fit_buyers.n,
                     size_ceiling=size_ceiling(test_buyers))
