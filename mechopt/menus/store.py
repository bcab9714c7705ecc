"""Save and load trained menus: one JSON file under ``models/`` with its manifest.

The file holds the menu itself (logits and prices as JSON numbers, exact for float32 and
float64 parameters) and the manifest: the full :class:`~mechopt.menus.config.MenuConfig`
(settings and seed), test and validation metrics, the training log, wall-clock seconds,
the device, and the versions of mechopt, torch, numpy and Python.  A SHA-256 of the menu
payload is stored beside it; loading refuses a file that is not valid JSON, has another
format or version, whose menu does not match its settings (K, m, kind) or its checksum, or
holds non-finite or negative numbers — with one line naming the file and the problem.
Files are written atomically (:func:`mechopt.io.atomic.atomic_write_text`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mechopt import __version__
from mechopt.io.atomic import atomic_write_text
from mechopt.menus.config import MenuConfig
from mechopt.menus.menu import Menu
from mechopt.menus.trainer import TrainedMenu

__all__ = ["FORMAT", "FORMAT_VERSION", "MenuFileError", "StoredMenu", "save_menu", "load_menu",
           "default_menu_path"]

FORMAT = "mechopt-menu"
FORMAT_VERSION = 1
DEFAULT_DIRECTORY = Path("models")


class MenuFileError(ValueError):
    """A menu file is missing, corrupt, or does not match its own manifest."""


@dataclass(frozen=True)
class StoredMenu:
    """A menu read back from disk with its settings and manifest."""

    path: Path
    config: MenuConfig
    menu: Menu
    inverse_temperature: float
    manifest: dict[str, Any]

    @property
    def test_metrics(self) -> dict[str, Any]:
        return dict(self.manifest.get("metrics", {}).get("test", {}))


def default_menu_path(config: MenuConfig, directory: str | os.PathLike = DEFAULT_DIRECTORY) -> Path:
    """``models/<name>.json``; the name defaults to the valuation, m, a, K, kind,
    relaxation and seed."""
    if config.name:
        name = config.name
    else:
        atoms = f"-a{config.n_atoms}" if config.valuation == "xor" else ""
        dist = f"-{config.distribution}" if config.valuation == "generated" else ""
        name = (f"menu-{config.valuation}{dist}-m{config.n_items}{atoms}-K{config.menu_size}-"
                f"{config.kind}-{config.relaxation}-s{config.seed}")
    return Path(directory) / f"{name}.json"


def _menu_payload(menu: Menu) -> dict[str, Any]:
    return {
        "kind": menu.kind,
        "n_items": menu.n_items,
        "size": menu.size,
        "dtype": str(menu.prices.dtype).removeprefix("torch."),
        "logits": menu.logits.detach().cpu().double().tolist(),
        "prices": menu.prices.detach().cpu().double().tolist(),
    }


def _checksum(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _versions() -> dict[str, str]:
    return {
        "mechopt": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def save_menu(trained: TrainedMenu, path: str | os.PathLike | None = None) -> Path:
    """Write ``trained`` (menu + manifest) atomically; returns the path written."""
    target = Path(path) if path is not None else default_menu_path(trained.config)
    payload = _menu_payload(trained.menu)
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": trained.config.to_dict(),
        "menu": payload,
        "menu_sha256": _checksum(payload),
        "training": {
            "seed": trained.config.seed,
            "seconds": trained.seconds,
            "kept_step": trained.kept_step,
            "steps_run": trained.history[-1].step + 1 if trained.history else 0,
            "value_scale": trained.value_scale,
            "inverse_temperature": trained.inverse_temperature,
            "device": trained.device,
            "reached_target_at": trained.reached_target_at,
        },
        "metrics": {"test": trained.metrics.to_dict(), "validation": trained.validation.to_dict()},
        "history": [p.to_dict() for p in trained.history],
        "warnings": list(trained.warnings),
        "versions": _versions(),
    }
    atomic_write_text(target, json.dumps(doc, indent=1, allow_nan=False) + "\n")
    return target


def _fail(path: Path, problem: str) -> MenuFileError:
    return MenuFileError(f"{path}: {problem}")


def _matrix(path: Path, value: Any, rows: int, cols: int, what: str) -> list[list[float]]:
    if not (isinstance(value, list) and len(value) == rows
            and all(isinstance(r, list) and len(r) == cols for r in value)):
        raise _fail(path, f"menu {what} must be a {rows} x {cols} array of numbers")
    out = []
    for r in value:
        row = []
        for x in r:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise _fail(path, f"menu {what} holds a non-finite or non-numeric entry {x!r}")
            row.append(float(x))
        out.append(row)
    return out


def load_menu(path: str | os.PathLike) -> StoredMenu:
    """Read a menu written by :func:`save_menu`; raises :class:`MenuFileError` if the file
    is corrupt or does not match its manifest."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(p, "no such menu file") from None
    except UnicodeDecodeError:
        raise _fail(p, "not a text file (expected a mechopt menu JSON)") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(p, f"corrupt menu file (invalid JSON at line {exc.lineno}: {exc.msg})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _fail(p, f"not a mechopt menu file (format is not {FORMAT!r})")
    if doc.get("format_version") != FORMAT_VERSION:
        raise _fail(p, f"menu format version {doc.get('format_version')!r} is not supported "
                       f"(this mechopt reads version {FORMAT_VERSION})")
    try:
        config = MenuConfig.from_dict(doc.get("config"))
    except ValueError as exc:
        raise _fail(p, f"bad settings in manifest: {exc}") from None
    payload = doc.get("menu")
    if not isinstance(payload, dict):
        raise _fail(p, "the menu is missing")
    if _checksum(payload) != doc.get("menu_sha256"):
        raise _fail(p, "the menu does not match its checksum (file edited or corrupt)")
    if (payload.get("kind"), payload.get("n_items"), payload.get("size")) != (
        config.kind, config.n_items, config.menu_size
    ):
        raise _fail(p, f"menu (kind {payload.get('kind')!r}, m = {payload.get('n_items')!r}, "
                       f"K = {payload.get('size')!r}) does not match its settings (kind "
                       f"{config.kind!r}, m = {config.n_items}, K = {config.menu_size})")
    logits = _matrix(p, payload.get("logits"), config.menu_size, config.n_items, "logits")
    prices = _matrix(p, [payload.get("prices")], 1, config.menu_size, "prices")[0]
    if min(prices) < 0:
        raise _fail(p, "menu holds a negative price")
    training = doc.get("training")
    kappa = training.get("inverse_temperature") if isinstance(training, dict) else None
    if isinstance(kappa, bool) or not isinstance(kappa, (int, float)) or not kappa > 0:
        raise _fail(p, "manifest lacks a positive training.inverse_temperature")
    dtype = torch.float64 if payload.get("dtype") == "float64" else torch.float32
    menu = Menu(config.n_items, config.menu_size, config.kind, config.straight_through).to(dtype)
    with torch.no_grad():
        menu.logits.copy_(torch.tensor(logits, dtype=dtype))
        menu.prices.copy_(torch.tensor(prices, dtype=dtype))
    return StoredMenu(path=p, config=config, menu=menu, inverse_temperature=float(kappa), manifest=doc)
