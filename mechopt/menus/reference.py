"""Compare a trained menu with the best deterministic menu from the exact pricing MILP.

For small m the best deterministic menu on a sample of N buyers — one price for each of the
2^m − 1 bundles — is found exactly by :func:`mechopt.mechanisms.pricing.solve_bundle_pricing`
(Pyomo MILP, HiGHS, gap 0).  :func:`compare_with_reference` reports two comparisons:

- **in sample**: the MILP optimum on the reference sample is an upper bound for every
  deterministic menu *on that sample*; the trained menu is evaluated on the same buyers.
  When the menu was trained on a fixed pool (``train_pool``) the reference sample is that
  pool, so the ratio measures how well gradient training optimizes (bundle menus can reach
  at most 1; lottery menus may exceed it);
- **out of sample**: the MILP's prices and the trained menu on the same fresh test buyers.

:func:`exact_reference` is the MILP alone (no trained menu): the best deterministic menu on a
sample of buyers and the revenue its prices earn on fresh buyers (``mechopt menus reference``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from mechopt.errors import InputError
from mechopt.mechanisms.pricing import BundlePricing, pricing_revenue, solve_bundle_pricing
from mechopt.menus.config import MenuConfig
from mechopt.menus.evaluate import evaluate_menu
from mechopt.menus.menu import Menu
from mechopt.menus.trainer import make_generators, resolve_device
from mechopt.menus.valuations import Buyers, Valuation, all_bundles, make_valuation
from mechopt.solve import SolveStatus

__all__ = ["MAX_REFERENCE_ITEMS", "ReferenceComparison", "ExactReference", "bundle_value_matrix", "bundle_names",
           "reference_sample", "compare_with_reference", "exact_reference"]

#: 2^m − 1 prices and N (2^m − 1) binaries: beyond a few items the MILP is out of reach
MAX_REFERENCE_ITEMS = 4


@dataclass(frozen=True)
class ReferenceComparison:
    """Trained menu vs the MILP's best deterministic menu (revenues per buyer)."""

    n_reference_buyers: int
    reference_is_training_pool: bool
    milp_status: str
    milp_seconds: float
    milp_prices: dict[str, float]
    milp_in_sample: float
    """MILP objective on the reference sample (proven optimal iff milp_status is optimal)."""
    menu_in_sample: float
    n_test_buyers: int
    milp_test: float
    menu_test: float
    solve_status: SolveStatus = SolveStatus.OPTIMAL
    """The MILP's status (``milp_status`` is its text); decides the CLI's exit code."""

    @property
    def ratio_in_sample(self) -> float:
        return self.menu_in_sample / self.milp_in_sample if self.milp_in_sample > 0 else float("nan")

    @property
    def ratio_test(self) -> float:
        return self.menu_test / self.milp_test if self.milp_test > 0 else float("nan")

    def to_dict(self) -> dict:
        d = asdict(self)
        del d["solve_status"]
        d["ratio_in_sample"] = self.ratio_in_sample
        d["ratio_test"] = self.ratio_test
        return d


@dataclass(frozen=True)
class ExactReference:
    """The best deterministic menu on a sample of buyers (pricing MILP) and its test revenue."""

    status: str
    is_optimal: bool
    in_sample_revenue: float | None
    """MILP objective on the sample (proven optimal iff :attr:`is_optimal`)."""
    test_revenue: float | None
    """Revenue per fresh buyer of the MILP's prices (None when the MILP found no solution)."""
    prices: dict[str, float]
    n_buyers: int
    n_test_buyers: int
    seconds: float
    buyers: str
    """What the buyers are (:meth:`Valuation.describe`)."""
    solve_status: SolveStatus = SolveStatus.OPTIMAL
    """The MILP's status (``status`` is its text); decides the CLI's exit code."""

    def to_dict(self) -> dict:
        d = asdict(self)
        del d["buyers"], d["solve_status"]
        return d


def bundle_names(n_items: int) -> list[str]:
    """Names of the non-empty bundles in :func:`all_bundles` order: ``{0}``, ``{1}``, ``{0,1}``…"""
    rows = all_bundles(n_items)[1:]
    return ["{" + ",".join(str(i) for i in torch.nonzero(r).flatten().tolist()) + "}" for r in rows]


def bundle_value_matrix(valuation: Valuation, buyers: Buyers) -> np.ndarray:
    """Values ``(N, 2^m − 1)`` of every non-empty bundle, as float64 numpy."""
    bundles = all_bundles(valuation.n_items, device=valuation.device, dtype=valuation.dtype)[1:]
    return valuation.bundle_values(buyers, bundles).detach().cpu().double().numpy()


def reference_sample(config: MenuConfig, n_buyers: int, device: torch.device) -> tuple[Buyers, bool]:
    """The buyers the MILP prices: the training pool when the config trains on one (same
    generator, same buyers), else ``n_buyers`` fresh buyers from a stream of their own."""
    valuation = make_valuation(config, device)
    if config.effective_train_pool:
        gens = make_generators(config.seed, device)
        return valuation.sample(config.effective_train_pool, gens["train"]), True
    gen = torch.Generator(device=device)
    gen.manual_seed(int(np.random.SeedSequence([config.seed, 7]).generate_state(1)[0]))
    return valuation.sample(n_buyers, gen), False


def compare_with_reference(
    menu: Menu,
    config: MenuConfig,
    *,
    n_buyers: int = 150,
    test_size: int | None = None,
    device: str = "cpu",
    time_limit: float | None = None,
    solver: str = "highs",
) -> ReferenceComparison:
    """Solve the pricing MILP on a reference sample and compare (see module docstring)."""
    if config.n_items > MAX_REFERENCE_ITEMS:
        raise InputError(f"the exact pricing reference enumerates 2^m − 1 bundle prices and is "
                         f"limited to m <= {MAX_REFERENCE_ITEMS} items (got {config.n_items})")
    dev = resolve_device(device)
    menu = menu.to(dev)
    valuation = make_valuation(config, dev)
    ref_buyers, is_pool = reference_sample(config, n_buyers, dev)
    values = bundle_value_matrix(valuation, ref_buyers)
    names = bundle_names(config.n_items)
    pricing: BundlePricing = solve_bundle_pricing(values, names, solver=solver, time_limit=time_limit)
    kappa = 1.0  # soft metrics are not reported here
    menu_in = evaluate_menu(menu, valuation, ref_buyers, kappa).hard_revenue
    gens = make_generators(config.seed, dev)
    test_buyers = valuation.sample(test_size or config.test_size, gens["test"])
    milp_test = pricing_revenue(bundle_value_matrix(valuation, test_buyers), pricing.prices) \
        if pricing.status.has_solution else float("nan")
    menu_test = evaluate_menu(menu, valuation, test_buyers, kappa).hard_revenue
    return ReferenceComparison(
        n_reference_buyers=ref_buyers.n,
        reference_is_training_pool=is_pool,
        milp_status=pricing.status.value,
        milp_seconds=pricing.solve.seconds if pricing.solve else 0.0,
        milp_prices={n: float(p) for n, p in zip(names, pricing.prices, strict=True)},
        milp_in_sample=pricing.revenue,
        menu_in_sample=menu_in,
        n_test_buyers=test_buyers.n,
        milp_test=milp_test,
        menu_test=menu_test,
        solve_status=pricing.status,
    )


def exact_reference(config: MenuConfig, n_buyers: int, *, test_size: int | None = None,
                    time_limit: float | None = None, solver: str = "highs") -> ExactReference:
    """Solve the pricing MILP on :func:`reference_sample` (``n_buyers`` buyers of ``config``)
    and evaluate its prices on ``test_size`` fresh buyers (the config's test stream), on CPU."""
    if config.n_items > MAX_REFERENCE_ITEMS:
        raise InputError(f"the exact reference is limited to m <= {MAX_REFERENCE_ITEMS} items")
    dev = torch.device("cpu")
    valuation = make_valuation(config, dev)
    buyers, _ = reference_sample(config, n_buyers, dev)
    names = bundle_names(config.n_items)
    pricing = solve_bundle_pricing(bundle_value_matrix(valuation, buyers), names, solver=solver,
                                   time_limit=time_limit)
    test = valuation.sample(test_size or config.test_size, make_generators(config.seed, dev)["test"])
    test_rev = (pricing_revenue(bundle_value_matrix(valuation, test), pricing.prices)
                if pricing.status.has_solution else None)
    return ExactReference(
        status=pricing.status.value,
        is_optimal=pricing.is_optimal,
        in_sample_revenue=pricing.revenue,
        test_revenue=test_rev,
        prices={n: float(p) for n, p in zip(names, pricing.prices, strict=True)},
        n_buyers=buyers.n,
        n_test_buyers=test.n,
        seconds=pricing.solve.seconds if pricing.solve else 0.0,
        buyers=valuation.describe(),
        solve_status=pricing.status,
    )
