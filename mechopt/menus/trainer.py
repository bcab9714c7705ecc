"""Train a menu by gradient ascent on a relaxed revenue; judge it by the hard revenue.

:func:`train_menu` runs one :class:`~mechopt.menus.config.MenuConfig`:

1. three independent random streams (``numpy.random.SeedSequence(seed).spawn``): training
   buyers, validation buyers and test buyers, plus one for the menu's initial parameters;
2. a validation sample (fixed) that sets the value scale (mean value of the grand bundle,
   the unit of the softmax temperature) and is used for logging and model selection;
3. Adam with a cosine learning-rate decay maximizes the relaxed objective of
   :func:`mechopt.menus.relaxations.relaxed_objective` on a fresh batch every step (or on
   batches resampled from a fixed pool); prices are projected onto [0, max_price] and, with
   ``price_cap``, onto [0, the highest value a training buyer has for the element]; bundle
   menus with ``straight_through`` move from relaxed to rounded bundles in the forward pass
   over the first half of the run (relaxed bundles explore, rounded ones are what buyers
   get);
4. every ``eval_every`` steps the validation hard and soft revenue are logged; the menu with
   the best validation hard revenue is kept (``keep="best"``) or the last one.  A priced
   menu (:mod:`mechopt.menus.priced`) is also evaluated before the first step (logged as
   step −1), so the kept menu is never below its start on validation: item pricing, or with
   ``priced_init="size"`` the best on validation of item pricing and the size-pricing starts
   of :func:`mechopt.menus.size_pricing.fit_size_prices`;
5. the kept menu is evaluated once on a fresh test sample that nothing else has seen.

A :class:`~mechopt.menus.evaluate.RevenueGapWarning` is issued when the relative gap
between soft and hard revenue exceeds ``gap_warning`` (first time on validation, and on the
final test sample).
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from mechopt.errors import InputError
from mechopt.menus.config import MenuConfig
from mechopt.menus.evaluate import MenuMetrics, RevenueGapWarning, evaluate_menu, menu_options
from mechopt.menus.menu import Menu
from mechopt.menus.mixture import MixtureMenu, initialize_from_buyers_, make_menu
from mechopt.menus.priced import PricedMenu, initialize_priced_, set_size_pricing_
from mechopt.menus.relaxations import inverse_temperature, relaxed_objective
from mechopt.menus.size_pricing import SIZE_PRICE_WIDTHS, fit_size_prices
from mechopt.menus.valuations import make_valuation

__all__ = [
    "NonFiniteTrainingError",
    "HistoryPoint",
    "TrainedMenu",
    "resolve_device",
    "train_menu",
    "make_generators",
    "Samples",
    "evaluate_on_fresh_sample",
]


@dataclass(frozen=True)
class HistoryPoint:
    """Validation metrics logged at one training step."""

    step: int
    seconds: float
    objective: float
    """The relaxed training objective on the step's batch (step −1, the initial priced menu:
    the validation soft revenue)."""
    hard_revenue: float
    soft_revenue: float
    ir_violation_rate: float
    inverse_temperature: float
    min_price: float
    max_price: float

    @property
    def gap(self) -> float:
        return self.soft_revenue - self.hard_revenue

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class TrainedMenu:
    """The result of :func:`train_menu`: the kept menu, its test metrics and the log."""

    config: MenuConfig
    menu: Menu | MixtureMenu | PricedMenu
    metrics: MenuMetrics
    """On the fresh test sample (never used for training or selection)."""
    validation: MenuMetrics
    """Of the kept menu on the validation sample."""
    history: list[HistoryPoint]
    kept_step: int
    seconds: float
    """Wall-clock seconds of training and validation (test evaluation excluded)."""
    value_scale: float
    inverse_temperature: float
    device: str
    reached_target_at: float | None = None
    """Seconds until the validation hard revenue first reached ``config.target_revenue``."""
    warnings: list[str] = field(default_factory=list)
    test_buyers: Any = field(default=None, repr=False)
    """The test sample of :attr:`metrics` (for baselines on the same buyers; not stored)."""
    fit_buyers: Any = field(default=None, repr=False)
    """The training pool, else the validation sample (where baselines are fitted)."""
    samples: Any = field(default=None, repr=False)
    """The :class:`Samples` drawn for this run (pass them to another :func:`train_menu` with
    the same valuation, seed and sizes to train on the very same buyers; not stored)."""


@dataclass(frozen=True)
class Samples:
    """The buyers of one run: ``validation``, ``pool`` (None: fresh batches) and ``test``."""

    validation: Any
    pool: Any
    test: Any


class NonFiniteTrainingError(InputError):
    """Training produced NaN or an infinity (in the objective, a parameter, the IR weight or
    a validation metric); the run stops at once instead of reporting a meaningless menu."""


def _require_finite(step: int, what: str, value: float | torch.Tensor) -> None:
    finite = bool(torch.isfinite(value).all()) if isinstance(value, torch.Tensor) else math.isfinite(value)
    if not finite:
        shown = value if not isinstance(value, torch.Tensor) else "not finite"
        raise NonFiniteTrainingError(
            f"menu training diverged at step {step}: {what} is {shown} (settings too extreme for "
            f"the float precision: lower init_price, ir_penalty or lr, or raise the temperature)")


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cuda`` without CUDA is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was requested but CUDA is not available on this machine "
                         "(torch reports no GPU); use --device cpu or auto")
    if name not in ("cpu", "cuda"):
        raise InputError(f"unknown device {name!r} (choose from auto, cpu, cuda)")
    return torch.device(name)


def make_generators(seed: int, device: torch.device) -> dict[str, torch.Generator]:
    """Independent generators for ``train``, ``validation``, ``test`` and ``init``."""
    names = ("train", "validation", "test", "init")
    children = np.random.SeedSequence(seed).spawn(len(names))
    gens = {}
    for name, child in zip(names, children, strict=True):
        g = torch.Generator(device=device)
        g.manual_seed(int(child.generate_state(1, dtype=np.uint64)[0] % (2**63 - 1)))
        gens[name] = g
    return gens


ProgressFn = Callable[[int, int, "HistoryPoint | None"], None]


def train_menu(config: MenuConfig, *, progress: ProgressFn | None = None,
               samples: Samples | None = None) -> TrainedMenu:
    """Train one menu as ``config`` says (see the module docstring).

    ``progress(step, total, point)`` is called after every step; ``point`` is the newest
    validation log entry (None before the first).  ``samples`` (another run's
    :attr:`TrainedMenu.samples`) reuses its validation, pool and test buyers instead of
    drawing them: e.g. two menu kinds on the same buyers without drawing them twice.
    """
    device = resolve_device(config.device)
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    # softmax tails at low temperature are denormal floats, which are slow on CPUs
    torch.set_flush_denormal(True)
    try:
        return _train(config, device, progress, samples)
    finally:
        torch.set_num_threads(threads)
        torch.set_flush_denormal(False)


def _train(config: MenuConfig, device: torch.device, progress: ProgressFn | None,
           samples: Samples | None) -> TrainedMenu:
    dtype = torch.float64 if config.dtype == "float64" else torch.float32
    gens = make_generators(config.seed, device)
    valuation = make_valuation(config, device)
    start = time.perf_counter()

    val_buyers = samples.validation if samples is not None else valuation.sample(config.val_size, gens["validation"])
    scale = float(valuation.grand_values(val_buyers).mean())
    if not (scale > 0):
        raise InputError("the validation buyers value the grand bundle at 0 on average")
    pool = None
    pool_size = config.effective_train_pool
    if samples is not None:
        pool = samples.pool
    elif pool_size:
        pool = valuation.sample(pool_size, gens["train"])

    menu = make_menu(config).to(device=device, dtype=dtype)
    menu.initialize_(gens["init"], config.init_price)
    if isinstance(menu, MixtureMenu):  # candidate bundles start at training buyers' atoms
        initialize_from_buyers_(menu, pool if pool is not None else val_buyers, valuation, gens["init"],
                                fill=config.mixture_init_fill)
    if isinstance(menu, PricedMenu):  # item pricing fitted on the training buyers, inert offers
        initialize_priced_(menu, pool if pool is not None else val_buyers, gens["init"],
                           fill=config.mixture_init_fill)
    menu.project_(config.max_price)
    _require_finite(0, "an initial price", menu.prices.detach())
    optimizer = torch.optim.Adam(menu.parameters(), lr=config.lr)
    total = config.steps

    def lr_at(step: int) -> float:
        frac = step / max(total - 1, 1)
        return config.lr_end + 0.5 * (config.lr - config.lr_end) * (1 + math.cos(math.pi * frac))

    history: list[HistoryPoint] = []
    messages: list[str] = []
    warned = False
    best: tuple[float, int, dict[str, Any] | None] = (-math.inf, -1, None)  # (validation hard revenue, step, state)
    reached_at: float | None = None
    ir_weight = float(config.ir_penalty)
    objective_value = float("nan")
    kappa = inverse_temperature(config, 0, scale)
    last_point: HistoryPoint | None = None

    def log(step: int) -> HistoryPoint:
        nonlocal warned, best, reached_at
        metrics = evaluate_menu(menu, valuation, val_buyers, kappa)
        _require_finite(step, "the validation soft revenue", metrics.soft_revenue)
        prices = menu.prices.detach()
        point = HistoryPoint(
            step=step,
            seconds=time.perf_counter() - start,
            objective=objective_value if math.isfinite(objective_value) else metrics.soft_revenue,
            hard_revenue=metrics.hard_revenue,
            soft_revenue=metrics.soft_revenue,
            ir_violation_rate=metrics.ir_violation_rate,
            inverse_temperature=kappa,
            min_price=float(prices.min()),
            max_price=float(prices.max()),
        )
        history.append(point)
        if config.keep == "last" or metrics.hard_revenue > best[0]:
            best = (metrics.hard_revenue, step, copy.deepcopy(menu.state_dict()))
        if not warned and metrics.relative_gap > config.gap_warning:
            warned = True
            text = _gap_message("validation", step, metrics)
            messages.append(text)
            warnings.warn(text, RevenueGapWarning, stacklevel=3)
        if (config.target_revenue is not None and reached_at is None
                and metrics.hard_revenue >= config.target_revenue):
            reached_at = point.seconds
        return point

    if isinstance(menu, PricedMenu) and config.priced_init == "size":
        _best_priced_start_(menu, valuation, pool if pool is not None else val_buyers, val_buyers, kappa)
    if isinstance(menu, PricedMenu):  # the start (item pricing or size pricing) competes for "best" too
        last_point = log(-1)
    for step in range(total):
        kappa = inverse_temperature(config, step, scale)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        if pool is None:
            batch = valuation.sample(config.batch_size, gens["train"])
        else:
            index = torch.randint(0, pool.n, (config.batch_size,), generator=gens["train"],
                                  device=device)
            batch = pool.take(index)
        values, prices = menu_options(menu, valuation, batch, hard=False,
                                      st_weight=min(1.0, 2.0 * step / max(total - 1, 1)))
        relaxed = relaxed_objective(config.relaxation, values, prices, kappa,
                                    ir_weight=ir_weight, generator=gens["train"])
        _require_finite(step, "the relaxed objective", float(relaxed.objective.detach()))
        optimizer.zero_grad(set_to_none=True)
        (-relaxed.objective).backward()
        optimizer.step()
        upper: torch.Tensor | float | None = config.max_price
        if config.price_cap and prices.dim() == 1:
            seen = values.detach().amax(dim=0)
            upper = seen if upper is None else seen.clamp(max=upper)
        menu.project_(upper)
        for name, param in menu.named_parameters():
            _require_finite(step, f"menu parameter {name!r}", param.detach())
        if config.ir_dual_lr > 0:
            ir_weight += config.ir_dual_lr * float(relaxed.penalty.detach())
            _require_finite(step, "the IR weight", ir_weight)
        objective_value = float(relaxed.objective.detach())
        if step % config.eval_every == 0 or step == total - 1:
            last_point = log(step)
        if progress is not None:
            progress(step + 1, total, last_point)
        if reached_at is not None:
            break
    if total == 0:
        last_point = log(0)
    seconds = time.perf_counter() - start

    _, kept_step, state = best
    assert state is not None  # log() ran at least once and kept its menu
    menu.load_state_dict(state)
    validation = evaluate_menu(menu, valuation, val_buyers, kappa)
    test_buyers = samples.test if samples is not None else valuation.sample(config.test_size, gens["test"])
    metrics = evaluate_menu(menu, valuation, test_buyers, kappa)
    if metrics.relative_gap > config.gap_warning:
        text = _gap_message("test", kept_step, metrics)
        messages.append(text)
        warnings.warn(text, RevenueGapWarning, stacklevel=2)
    return TrainedMenu(
        config=config,
        menu=menu,
        metrics=metrics,
        validation=validation,
        history=history,
        kept_step=kept_step,
        seconds=seconds,
        value_scale=scale,
        inverse_temperature=kappa,
        device=str(device),
        reached_target_at=reached_at,
        warnings=messages,
        test_buyers=test_buyers,
        fit_buyers=pool if pool is not None else val_buyers,
        samples=Samples(val_buyers, pool, test_buyers),
    )


@torch.no_grad()
def _best_priced_start_(menu: PricedMenu, valuation, fit_buyers, val_buyers, kappa: float) -> None:
    """``priced_init="size"``: of the item-pricing start already in ``menu`` and the
    kernel-smoothed size-pricing starts fitted on ``fit_buyers``
    (:func:`~mechopt.menus.size_pricing.fit_size_prices`, one per width of
    :data:`~mechopt.menus.size_pricing.SIZE_PRICE_WIDTHS`), load the one of highest hard
    revenue on the validation buyers (ties keep the earlier: item pricing first).

    The exact fit (:func:`~mechopt.menus.size_pricing.best_size_prices`) is not a candidate: it
    is optimal on the training buyers, not on fresh ones — fitted on 8192 CATS-style buyers
    (m = 50) and evaluated on 24000–40000 others it earned 0.1 % of item pricing less than
    the width-3 kernel fit on both distributions, and at m = 150, where a size has only a few
    buyers, it won the validation comparison on ``arbitrary`` (seed 0) and its test soft revenue
    was 4.2 % below the hard one (``mechopt bench menus-cats --items 150``)."""
    best = (evaluate_menu(menu, valuation, val_buyers, kappa).hard_revenue, copy.deepcopy(menu.state_dict()))
    for width in SIZE_PRICE_WIDTHS:
        set_size_pricing_(menu, fit_size_prices(fit_buyers, width))
        revenue = evaluate_menu(menu, valuation, val_buyers, kappa).hard_revenue
        if revenue > best[0]:
            best = (revenue, copy.deepcopy(menu.state_dict()))
    menu.load_state_dict(best[1])


def evaluate_on_fresh_sample(menu: Menu, config: MenuConfig, *, n: int, seed: int,
                             inverse_temp: float, device: str = "auto") -> MenuMetrics:
    """Metrics of ``menu`` on ``n`` fresh buyers of the config's valuation (``seed``)."""
    dev = resolve_device(device)
    menu = menu.to(dev)
    valuation = make_valuation(config, dev)
    gen = torch.Generator(device=dev)
    gen.manual_seed(int(seed))
    buyers = valuation.sample(n, gen)
    return evaluate_menu(menu, valuation, buyers, inverse_temp)


def _gap_message(where: str, step: int, m: MenuMetrics) -> str:
    return (
        f"soft revenue {m.soft_revenue:.4f} runs {m.relative_gap:.0%} above the hard revenue "
        f"{m.hard_revenue:.4f} on the {where} sample (step {step}): the relaxation credits "
        f"purchases a utility-maximizing buyer would not make (IR violation rate "
        f"{m.ir_violation_rate:.2f})"
    )
