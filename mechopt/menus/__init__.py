"""Differentiable menus for one buyer (torch; ``pip install 'mechopt[menus]'``).

Train a menu of (bundle or lottery, price) elements by gradient ascent on a relaxed revenue
and judge it by the revenue a utility-maximizing buyer really pays (docs/menus.md).
Modules: :mod:`~mechopt.menus.config` (settings, no torch),
:mod:`~mechopt.menus.valuations`, :mod:`~mechopt.menus.menu`,
:mod:`~mechopt.menus.relaxations`, :mod:`~mechopt.menus.trainer`,
:mod:`~mechopt.menus.evaluate`, :mod:`~mechopt.menus.store` (save/load, new menus under ``runs/menus/``),
:mod:`~mechopt.menus.reference` (the exact MILP comparison),
:mod:`~mechopt.menus.mixture` (elements that are lotteries over a few bundles, any m),
:mod:`~mechopt.menus.priced` (every bundle at a learned monotone price function plus offers;
item pricing is its start),
:mod:`~mechopt.menus.baselines` (grand bundle, item pricing, MILP bundle menu, welfare).

Importing this package does not import torch; the torch-based names below are loaded on
first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from mechopt.menus.config import (
    KNOWN_OPTIMA,
    MenuConfig,
    bundleflow_failure_config,
    known_optimum,
    seed_config,
)

_LAZY = {
    "Menu": "mechopt.menus.menu",
    "PricedMenu": "mechopt.menus.priced",
    "MenuMetrics": "mechopt.menus.evaluate",
    "evaluate_menu": "mechopt.menus.evaluate",
    "hard_choice": "mechopt.menus.evaluate",
    "RevenueGapWarning": "mechopt.menus.evaluate",
    "TrainedMenu": "mechopt.menus.trainer",
    "train_menu": "mechopt.menus.trainer",
    "make_valuation": "mechopt.menus.valuations",
    "save_menu": "mechopt.menus.store",
    "load_menu": "mechopt.menus.store",
}

__all__ = [
    "MenuConfig", "KNOWN_OPTIMA", "known_optimum", "bundleflow_failure_config",
    "seed_config",  # deprecated name of bundleflow_failure_config
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
