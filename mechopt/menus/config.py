"""Settings of one menu-training run (a nanoGPT-style config dataclass; no torch here).

Everything a run depends on lives in :class:`MenuConfig`: the buyer's valuation, the menu,
the relaxation of the buyer's choice, the optimizer, the sample sizes and the seed.  The
config is validated on construction, so a bad setting fails before any tensor is made, and
it round-trips through JSON for the model manifest (``dataclasses.asdict`` /
:meth:`MenuConfig.from_dict`).

This module does not import torch, so the CLI can validate settings and print help without
the ``menus`` extra.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from mechopt.errors import InputError

__all__ = [
    "VALUATIONS",
    "KINDS",
    "PRICED_INITS",
    "RELAXATIONS",
    "DEVICES",
    "SCHEDULES",
    "PRESETS",
    "DEPRECATED_CHOICES",
    "RENAMED_SETTINGS",
    "KNOWN_OPTIMA",
    "MAX_LOTTERY_XOR_ITEMS",
    "MIN_TEMPERATURE",
    "MenuConfig",
    "bundleflow_failure_config",
    "seed_config",
    "upgrade_settings",
    "known_optimum",
]

#: buyer valuation families (docs/menus.md#buyers; ``generated`` draws XOR bidders from
#: :func:`mechopt.generators.generate_auction`)
VALUATIONS: tuple[str, ...] = ("additive", "unit-demand", "triangle", "xor", "generated")

#: menu element kinds: a deterministic bundle (relaxed in training, rounded at test), a
#: lottery (independent allocation probability per item), or a mixture of a few bundles
#: (``mechopt.menus.mixture``: exact expected value for any m), or every bundle at a learned
#: monotone price function (item prices, volume discount/surcharge, size surcharge) plus
#: explicit offers (``mechopt.menus.priced``: XOR buyers; item pricing is its starting point)
KINDS: tuple[str, ...] = ("bundle", "lottery", "mixture", "priced")

#: starts of a priced menu (``MenuConfig.priced_init``): ``items`` the item-pricing baseline's
#: prices; ``size`` the best on the validation buyers of that start and the size-pricing starts
#: of ``mechopt.menus.size_pricing.fit_size_prices`` (one kernel fit per width)
PRICED_INITS: tuple[str, ...] = ("items", "size")

#: how the buyer's discrete choice is relaxed in training (see ``mechopt.menus.relaxations``);
#: ``bundleflow`` is ``softmax`` under BundleFlow's temperature convention (the ``bundleflow``
#: schedule, docs/menus.md#the-softmax-failure)
RELAXATIONS: tuple[str, ...] = ("softmax", "bundleflow", "rochetnet", "gumbel", "reinforce")

#: softmax temperature conventions: ``relative`` (to the value scale, annealed) or
#: ``bundleflow`` (lambda multiplies utilities, x1.05 every 200 steps, capped at 0.2)
SCHEDULES: tuple[str, ...] = ("relative", "bundleflow")

#: configurations ``mechopt menus train --preset`` starts from: the defaults, or the setting
#: of the BundleFlow failure (:func:`bundleflow_failure_config`)
PRESETS: tuple[str, ...] = ("default", "bundleflow-failure")

#: deprecated spellings still accepted (models saved before the rename store them): the
#: relaxation and schedule ``seed`` and the preset ``seed`` named the BundleFlow failure
DEPRECATED_CHOICES: dict[str, dict[str, str]] = {
    "relaxation": {"seed": "bundleflow"},
    "schedule": {"seed": "bundleflow"},
    "preset": {"seed": "bundleflow-failure"},
}

#: settings renamed since models were first saved (old name -> new name)
RENAMED_SETTINGS: dict[str, str] = {
    "seed_lambda": "bundleflow_lambda",
    "seed_lambda_growth": "bundleflow_lambda_growth",
    "seed_lambda_every": "bundleflow_lambda_every",
    "seed_lambda_max": "bundleflow_lambda_max",
}

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")

#: smallest temperature accepted (relative to the value scale): utilities that differ by
#: less than 1e-9 of the scale are below float resolution, and 1/T overflows float32 long
#: before T reaches the smallest doubles
MIN_TEMPERATURE = 1e-9

#: the largest float32: settings that become float32 tensors or scalars must not exceed it
FLOAT32_MAX = 3.4028234663852886e38

#: the exact expected value of a lottery for an XOR buyer enumerates the 2^m bundles
MAX_LOTTERY_XOR_ITEMS = 12

#: known optimal revenues for one buyer (docs/menus.md#known-optima), keyed by (valuation, items)
KNOWN_OPTIMA: dict[tuple[str, int], float] = {
    ("additive", 1): 0.25,
    ("unit-demand", 1): 0.25,
    ("additive", 2): 4 / 9 + 2 * math.sqrt(2) / 27,  # Manelli-Vincent: 0.549201
    ("unit-demand", 2): 2 / (3 * math.sqrt(3)),  # 0.384900, price 1/sqrt(3) each
    ("triangle", 2): 2 / (3 * math.sqrt(3)),  # bundle at 1/sqrt(3)
}


def known_optimum(valuation: str, n_items: int) -> float | None:
    """The optimal revenue for one buyer when it is known (docs/menus.md#known-optima), else None."""
    return KNOWN_OPTIMA.get((valuation, n_items))


@dataclass(frozen=True)
class MenuConfig:
    """All settings of a training run.  Defaults train a lottery menu with the RochetNet
    surrogate at a temperature relative to the value scale.

    Temperatures: with ``schedule="relative"`` the relaxed choice is
    ``softmax(u / (T * scale))`` where ``scale`` is the mean value of the grand bundle on the
    validation sample and ``T`` anneals geometrically from ``temperature`` to
    ``temperature_end`` over the run.  ``schedule="bundleflow"`` (forced by relaxation
    ``bundleflow``) reproduces BundleFlow's convention: ``softmax(lam * u)`` with ``lam``
    starting at ``bundleflow_lambda``, multiplied by ``bundleflow_lambda_growth`` every
    ``bundleflow_lambda_every`` steps and capped at ``bundleflow_lambda_max``.
    """

    # buyers
    valuation: str = "additive"
    n_items: int = 2
    n_atoms: int = 2
    """XOR atoms per buyer (``xor`` only)."""
    distribution: str = "L4"
    """Instance distribution of :func:`mechopt.generators.generate_auction` (``generated``)."""
    bids_per_instance: int = 50
    """Bids per generated instance; values are rescaled by each instance's highest bid."""
    # menu
    menu_size: int = 32
    kind: str = "lottery"
    straight_through: bool = True
    """Bundle menus: forward the rounded bundles, backward the relaxed ones, phased in over
    the first half of the run (False: train on relaxed bundles throughout, which can drift
    into lotteries that rounding destroys)."""
    mixture_bundles: int = 4
    """``kind="mixture"``: candidate bundles per element (the element is a lottery over them)."""
    mixture_init_fill: float = 0.9
    """``kind="mixture"``, XOR buyers: initial candidate bundles are a training buyer's atom
    plus every other item with probability ρ ~ U[0, this] (``mechopt.menus.mixture``);
    ``kind="priced"``: the same for the initial offers (``mechopt.menus.priced``)."""
    priced_init: str = "items"
    """``kind="priced"``: start at the item-pricing baseline (``items``), or at the best on the
    validation buyers of that start and the size-pricing starts (``size``: a price per bundle
    size, ``mechopt.menus.size_pricing.fit_size_prices``)."""
    init_price: float = 0.5
    """Initial prices are drawn uniformly from [0, init_price] (values lie in [0, 1])."""
    max_price: float | None = None
    """Upper bound on every price (the BundleFlow failure used 10); None: unbounded."""
    price_cap: bool = False
    """Remedy: cap each element's price at the highest value any training buyer so far has
    for it (projection after each step)."""
    # relaxation
    relaxation: str = "rochetnet"
    schedule: str = "relative"
    """Temperature convention; relaxation ``bundleflow`` always uses the ``bundleflow`` schedule."""
    temperature: float = 0.05
    temperature_end: float = 0.002
    bundleflow_lambda: float = 0.1
    bundleflow_lambda_growth: float = 1.05
    bundleflow_lambda_every: int = 200
    bundleflow_lambda_max: float = 0.2
    ir_penalty: float = 0.0
    """Remedy: weight alpha of E[sum_k Z_k max(0, -u_k)^2] subtracted from the objective."""
    ir_dual_lr: float = 0.0
    """Lagrangian on IR: when > 0 the IR weight grows by ir_dual_lr * violation each step."""
    # optimisation
    steps: int = 3000
    batch_size: int = 4096
    lr: float = 0.01
    lr_end: float = 0.001
    """Learning rate at the last step (cosine decay from ``lr``)."""
    train_pool: int = 0
    """0: a fresh batch of buyers every step; N > 0: batches resampled from N fixed buyers
    (the default for ``generated``, whose buyers are slow to draw)."""
    # evaluation
    val_size: int = 32768
    test_size: int = 131072
    eval_every: int = 100
    gap_warning: float = 0.1
    """Warn when (soft - hard) / max(soft, hard) on the validation sample exceeds this."""
    keep: str = "best"
    """Which menu to keep: ``best`` validation hard revenue, or the ``last`` one."""
    target_revenue: float | None = None
    """Stop as soon as the validation hard revenue reaches this (benchmarks)."""
    # run
    seed: int = 0
    device: str = "auto"
    dtype: str = "float32"
    threads: int = 1
    """CPU threads for torch (0: torch's default).  Menus are small tensors: on a shared
    2-core machine one thread is fastest (two threads spin against other processes)."""
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form notes stored in the manifest (not used by training)."""

    def __post_init__(self) -> None:
        for name in ("relaxation", "schedule"):
            old = getattr(self, name)
            new = DEPRECATED_CHOICES[name].get(old) if isinstance(old, str) else None
            if new is not None:
                warnings.warn(f"{name} {old!r} is deprecated; use {new!r}", DeprecationWarning, stacklevel=3)
                object.__setattr__(self, name, new)
        _check_choice("valuation", self.valuation, VALUATIONS)
        _check_choice("kind", self.kind, KINDS)
        _check_choice("relaxation", self.relaxation, RELAXATIONS)
        _check_choice("schedule", self.schedule, SCHEDULES)
        _check_choice("device", self.device, DEVICES)
        _check_choice("dtype", self.dtype, ("float32", "float64"))
        _check_choice("keep", self.keep, ("best", "last"))
        _check_choice("priced_init", self.priced_init, PRICED_INITS)
        _check_int("number of items", self.n_items, 1)
        _check_int("number of atoms", self.n_atoms, 1)
        _check_int("bids per instance", self.bids_per_instance, 1)
        _check_int("menu size K", self.menu_size, 1)
        _check_int("bundles per mixture element", self.mixture_bundles, 1)
        _check_int("steps", self.steps, 0)
        _check_int("batch size", self.batch_size, 1)
        _check_int("training pool", self.train_pool, 0)
        _check_int("validation size", self.val_size, 1)
        _check_int("test size", self.test_size, 1)
        _check_int("eval_every", self.eval_every, 1)
        _check_int("bundleflow_lambda_every", self.bundleflow_lambda_every, 1)
        _check_int("seed", self.seed, 0)
        _check_int("threads", self.threads, 0)
        for name in ("temperature", "temperature_end", "bundleflow_lambda", "bundleflow_lambda_max", "lr"):
            _check_positive(name, getattr(self, name))
        for name in ("temperature", "temperature_end"):
            if getattr(self, name) < MIN_TEMPERATURE:
                raise InputError(f"{name} must be at least {MIN_TEMPERATURE:g} (relative to the value "
                                 f"scale), got {getattr(self, name)!r}")
        _check_positive("bundleflow_lambda_growth", self.bundleflow_lambda_growth)
        if not 0 <= self.mixture_init_fill <= 1:
            raise InputError(f"mixture_init_fill must lie in [0, 1], got {self.mixture_init_fill!r}")
        for name in ("init_price", "ir_penalty", "ir_dual_lr", "lr_end", "gap_warning"):
            _check_nonnegative(name, getattr(self, name))
        if self.max_price is not None:
            _check_positive("max_price", self.max_price)
        if self.dtype == "float32":
            for name in ("init_price", "max_price", "ir_penalty", "ir_dual_lr", "lr", "lr_end"):
                value = getattr(self, name)
                if value is not None and value > FLOAT32_MAX:
                    raise InputError(f"{name} {value!r} exceeds the largest float32 ({FLOAT32_MAX:.3g}); "
                                     "training would overflow")
        if self.target_revenue is not None:
            _check_positive("target_revenue", self.target_revenue)
        if self.valuation == "triangle" and self.n_items < 1:
            raise InputError("triangle valuation needs at least one item")
        if (
            self.kind == "lottery"
            and self.valuation in ("xor", "generated")
            and self.n_items > MAX_LOTTERY_XOR_ITEMS
        ):
            raise InputError(
                f"lottery menus for XOR buyers enumerate 2^m bundles and need m <= "
                f"{MAX_LOTTERY_XOR_ITEMS} items (got {self.n_items}); use --kind mixture (lotteries "
                f"over a few bundles, any m) or --kind bundle"
            )
        if self.kind == "priced" and self.valuation not in ("xor", "generated"):
            raise InputError(f"priced menus need XOR buyers (valuation xor or generated), got "
                             f"valuation {self.valuation!r}")
        if self.kind == "priced" and self.price_cap:
            raise InputError("price_cap caps one price per menu element; a priced menu's prices "
                             "differ per buyer (use max_price)")
        if self.kind == "priced" and self.relaxation == "reinforce":
            raise InputError("priced menus train with softmax, bundleflow, rochetnet or gumbel, "
                             "not reinforce (their prices differ per buyer)")
        if self.valuation == "generated":
            from mechopt.generators import DISTRIBUTIONS

            _check_choice("distribution", self.distribution, DISTRIBUTIONS)

    # ----------------------------------------------------------------------------------
    @property
    def uses_bundleflow_schedule(self) -> bool:
        """True when the softmax uses BundleFlow's lambda (multiplying utilities)."""
        return self.relaxation == "bundleflow" or self.schedule == "bundleflow"

    @property
    def effective_train_pool(self) -> int:
        """Training pool size actually used (``generated`` defaults to 32768 buyers)."""
        if self.train_pool:
            return self.train_pool
        return 32768 if self.valuation == "generated" else 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MenuConfig:
        """Rebuild a config from :meth:`to_dict`; unknown keys are an error, deprecated
        spellings are read as their new names (:func:`upgrade_settings`)."""
        if not isinstance(data, dict):
            raise InputError("menu config must be a JSON object")
        data = upgrade_settings(data)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown menu setting(s): {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise InputError(f"bad menu settings: {exc}") from None

    def replace(self, **changes: Any) -> MenuConfig:
        return replace(self, **changes)


def upgrade_settings(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (settings as :meth:`MenuConfig.to_dict` writes them) with deprecated
    spellings replaced: renamed settings (:data:`RENAMED_SETTINGS`) and the relaxation and
    schedule ``seed`` (now ``bundleflow``).  A new dict; ``data`` is left as it is."""
    out = {RENAMED_SETTINGS.get(k, k): v for k, v in data.items()}
    for name in ("relaxation", "schedule"):
        value = out.get(name)
        if isinstance(value, str) and value in DEPRECATED_CHOICES[name]:
            out[name] = DEPRECATED_CHOICES[name][value]
    return out


def bundleflow_failure_config(**changes: Any) -> MenuConfig:
    """The configuration of the documented softmax failure of BundleFlow's price training
    (preset ``bundleflow-failure``): m = 2 items, a = 2 XOR atoms, K = 4 deterministic
    bundles, 1000 steps, prices bounded by 10, and a softmax whose utilities are
    *multiplied* by lambda = 0.1, annealed x1.05 every 200 steps, capped at 0.2
    (docs/menus.md#the-softmax-failure)."""
    base: dict[str, Any] = dict(
        valuation="xor",
        n_items=2,
        n_atoms=2,
        menu_size=4,
        kind="bundle",
        straight_through=False,
        relaxation="bundleflow",
        init_price=0.3,
        max_price=10.0,
        steps=1000,
        lr=0.02,
        lr_end=0.02,
        batch_size=1024,
        keep="last",
    )
    base.update(changes)
    return MenuConfig(**base)


#: deprecated name of :func:`bundleflow_failure_config`
seed_config = bundleflow_failure_config


def _check_choice(what: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(f"unknown {what} {value!r} (choose from {', '.join(choices)})")


def _check_int(what: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{what} must be an integer >= {minimum}, got {value!r}")


def _check_number(what: str, value: Any, *, zero_ok: bool) -> None:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and (value >= 0 if zero_ok else value > 0))
    if not ok:
        kind = "non-negative" if zero_ok else "positive"
        raise InputError(f"{what} must be a {kind} number, got {value!r}")


def _check_positive(what: str, value: Any) -> None:
    _check_number(what, value, zero_ok=False)


def _check_nonnegative(what: str, value: Any) -> None:
    _check_number(what, value, zero_ok=True)
