"""Save and load trained menus: one JSON file with its manifest.

New menus go to ``runs/menus/`` (git-ignored) unless a path is given: ``models/`` holds the
committed reference menus, which a training run must not overwrite.

The file holds the menu itself (logits and prices as JSON numbers, exact for float32 and
float64 parameters) and the manifest: the full :class:`~mechopt.menus.config.MenuConfig`
(settings and seed), test and validation metrics, the training log, wall-clock seconds,
the device, and the versions of mechopt, torch, numpy and Python.  A SHA-256 over every
field (:mod:`mechopt.io.checksum`) is stored with it: an edited valuation, atom count or
inverse temperature changes results as much as an edited price, so any edit is refused.
Loading refuses a file that is not valid JSON, has another format or version, fails its
checksum, lacks a field, whose menu does not match its settings (K, m, kind), or holds
non-finite or negative numbers — with one line naming the file and the problem (and the
field).  Format-1 files (checksum over the menu only) are converted by :func:`upgrade_menu`
(``mechopt menus upgrade``), which also rewrites the settings' deprecated spellings (relaxation
``seed``, ``seed_lambda``, ...: :func:`~mechopt.menus.config.upgrade_settings`); loading reads
them as their new names.  Files are written atomically
(:func:`mechopt.io.atomic.atomic_write_text`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mechopt import __version__
from mechopt.errors import InputError
from mechopt.io.atomic import atomic_write_text
from mechopt.io.checksum import CHECKSUM_FIELD, document_sha256
from mechopt.menus.config import MenuConfig, upgrade_settings
from mechopt.menus.menu import Menu
from mechopt.menus.mixture import MixtureMenu, make_menu, menu_width
from mechopt.menus.priced import PricedMenu
from mechopt.menus.trainer import TrainedMenu

__all__ = ["FORMAT", "FORMAT_VERSION", "MenuFileError", "StoredMenu", "save_menu", "load_menu",
           "default_menu_path", "upgrade_menu"]

FORMAT = "mechopt-menu"
FORMAT_VERSION = 2
DEFAULT_DIRECTORY = Path("runs") / "menus"


#: settings added with mixture menus: they change nothing for other kinds, so files written
#: before them (which lack them) still load
MIXTURE_ONLY = frozenset({"mixture_bundles", "mixture_init_fill"})


#: settings added later whose default is what every file saved before them used (priced menus
#: started at item pricing before ``priced_init``), so files lacking them still load
ADDED_WITH_OLD_DEFAULT = frozenset({"priced_init"})


class MenuFileError(InputError):
    """A menu file is missing, corrupt, or does not match its own manifest."""


@dataclass(frozen=True)
class StoredMenu:
    """A menu read back from disk with its settings and manifest."""

    path: Path
    config: MenuConfig
    menu: Menu | MixtureMenu | PricedMenu
    inverse_temperature: float
    manifest: dict[str, Any]

    @property
    def test_metrics(self) -> dict[str, Any]:
        return dict(self.manifest.get("metrics", {}).get("test", {}))


def default_menu_path(config: MenuConfig, directory: str | os.PathLike = DEFAULT_DIRECTORY) -> Path:
    """``runs/menus/<name>.json``; the name defaults to the valuation, m, a, K, kind,
    relaxation and seed."""
    if config.name:
        name = config.name
    else:
        atoms = f"-a{config.n_atoms}" if config.valuation == "xor" else ""
        dist = f"-{config.distribution}" if config.valuation == "generated" else ""
        name = (f"menu-{config.valuation}{dist}-m{config.n_items}{atoms}-K{config.menu_size}-"
                f"{config.kind}-{config.relaxation}-s{config.seed}")
    return Path(directory) / f"{name}.json"


def _menu_payload(menu: Menu | MixtureMenu | PricedMenu) -> dict[str, Any]:
    priced = isinstance(menu, PricedMenu)  # prices: the offers'; the price function on its own
    prices = menu.offer_prices if isinstance(menu, PricedMenu) else menu.prices
    payload = {
        "kind": menu.kind,
        "n_items": menu.n_items,
        "size": menu.size,
        "dtype": str(menu.prices.dtype).removeprefix("torch."),
        "logits": menu.logits.detach().cpu().double().tolist(),
        "prices": prices.detach().cpu().double().tolist(),
    }
    if priced:
        assert isinstance(menu, PricedMenu)
        payload["price_function"] = menu.function_state()
    return payload


def _checksum(payload: dict[str, Any]) -> str:
    """Format 1's checksum, over the menu payload only (checked by :func:`upgrade_menu`)."""
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
    _write(target, doc)
    return target


def _write(target: Path, doc: dict[str, Any]) -> None:
    """Sign ``doc`` (after a JSON round trip: the checksum is over what a reader sees), write it."""
    doc = json.loads(json.dumps(doc, allow_nan=False))
    doc[CHECKSUM_FIELD] = document_sha256(doc)
    atomic_write_text(target, json.dumps(doc, indent=1, allow_nan=False) + "\n")


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


def _read(p: Path) -> dict[str, Any]:
    """The parsed menu document at ``p`` (JSON and format checked, version not)."""
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(p, "no such menu file") from None
    except UnicodeDecodeError:
        raise _fail(p, "not a text file (expected a mechopt menu JSON)") from None
    except OSError as exc:
        raise _fail(p, f"cannot read: {exc.strerror or exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(p, f"corrupt menu file (invalid JSON at line {exc.lineno}: {exc.msg})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _fail(p, f"not a mechopt menu file (format is not {FORMAT!r})")
    return doc


def _lacks(p: Path, field: str) -> MenuFileError:
    return _fail(p, f"the manifest lacks the field {field!r}")


def load_menu(path: str | os.PathLike) -> StoredMenu:
    """Read a menu written by :func:`save_menu`; raises :class:`MenuFileError` if the file
    is corrupt, edited, incomplete or does not match its manifest."""
    p = Path(path)
    doc = _read(p)
    if doc.get("format_version") == 1:
        raise _fail(p, "menu format version 1 (checksum over the menu only); convert it with: "
                       f"mechopt menus upgrade {p}")
    if doc.get("format_version") != FORMAT_VERSION:
        raise _fail(p, f"menu format version {doc.get('format_version')!r} is not supported "
                       f"(this mechopt reads version {FORMAT_VERSION})")
    if CHECKSUM_FIELD not in doc:
        raise _lacks(p, CHECKSUM_FIELD)
    if document_sha256(doc) != doc[CHECKSUM_FIELD]:
        raise _fail(p, "checksum mismatch (file edited or corrupt)")
    return _menu_from_doc(p, doc)


def _menu_from_doc(p: Path, doc: dict[str, Any]) -> StoredMenu:
    settings = doc.get("config")
    if not isinstance(settings, dict):
        raise _lacks(p, "config")
    settings = upgrade_settings(settings)  # files saved before a rename
    for name in (f.name for f in fields(MenuConfig)):  # a default must not stand in for a setting
        if name not in settings and not (name in MIXTURE_ONLY and settings.get("kind") != "mixture") \
                and name not in ADDED_WITH_OLD_DEFAULT:
            raise _lacks(p, f"config.{name}")
    try:
        config = MenuConfig.from_dict(settings)
    except ValueError as exc:
        raise _fail(p, f"bad settings in manifest: {exc}") from None
    payload = doc.get("menu")
    if not isinstance(payload, dict):
        raise _lacks(p, "menu")
    for name in ("kind", "n_items", "size", "dtype", "logits", "prices"):
        if name not in payload:
            raise _lacks(p, f"menu.{name}")
    if (payload["kind"], payload["n_items"], payload["size"]) != (
        config.kind, config.n_items, config.menu_size
    ):
        raise _fail(p, f"menu (kind {payload['kind']!r}, m = {payload['n_items']!r}, "
                       f"K = {payload['size']!r}) does not match its settings (kind "
                       f"{config.kind!r}, m = {config.n_items}, K = {config.menu_size})")
    logits = _matrix(p, payload["logits"], config.menu_size, menu_width(config), "logits")
    prices = _matrix(p, [payload["prices"]], 1, config.menu_size, "prices")[0]
    if min(prices) < 0:
        raise _fail(p, "menu holds a negative price")
    training = doc.get("training")
    if not isinstance(training, dict) or "inverse_temperature" not in training:
        raise _lacks(p, "training.inverse_temperature")
    kappa = training["inverse_temperature"]
    if isinstance(kappa, bool) or not isinstance(kappa, (int, float)) or not kappa > 0:
        raise _fail(p, "manifest lacks a positive training.inverse_temperature")
    dtype = torch.float64 if payload["dtype"] == "float64" else torch.float32
    menu = make_menu(config).to(dtype)
    with torch.no_grad():
        menu.logits.copy_(torch.tensor(logits, dtype=dtype))
        if isinstance(menu, PricedMenu):
            menu.offer_prices.copy_(torch.tensor(prices, dtype=dtype))
            function = payload.get("price_function")
            if not isinstance(function, dict):
                raise _lacks(p, "menu.price_function")
            for name, param, width in (("item_prices", menu.prices, config.n_items),
                                       ("slopes", menu.slopes, menu.segments),
                                       ("size_surcharge", menu.size_surcharge, config.n_items)):
                if name not in function:
                    raise _lacks(p, f"menu.price_function.{name}")
                row = _matrix(p, [function[name]], 1, width, f"price_function.{name}")[0]
                if min(row) < 0:
                    raise _fail(p, f"menu price_function.{name} holds a negative number")
                param.copy_(torch.tensor(row, dtype=dtype))
        else:
            menu.prices.copy_(torch.tensor(prices, dtype=dtype))
    return StoredMenu(path=p, config=config, menu=menu, inverse_temperature=float(kappa), manifest=doc)


def upgrade_menu(path: str | os.PathLike) -> bool:
    """Convert a format-1 menu file (checksum over the menu only) to the current format,
    and deprecated spellings in its settings to their new names (:func:`upgrade_settings`).

    The menu must match the checksum format 1 recorded (a current file, its checksum); the
    settings are kept as they are, but for their names, and from now on covered by the
    checksum.  Returns False for a file already current.
    """
    p = Path(path)
    doc = _read(p)
    if doc.get("format_version") == FORMAT_VERSION:
        load_menu(p)  # refuses an edited or corrupt file
        if upgrade_settings(doc["config"]) == doc["config"]:
            return False
        doc = {k: v for k, v in doc.items() if k != CHECKSUM_FIELD}
        doc["config"] = upgrade_settings(doc["config"])
        _write(p, doc)
        return True
    if doc.get("format_version") != 1:
        raise _fail(p, f"menu format version {doc.get('format_version')!r} cannot be upgraded")
    payload = doc.get("menu")
    if not isinstance(payload, dict) or _checksum(payload) != doc.get("menu_sha256"):
        raise _fail(p, "the menu does not match its checksum (file edited or corrupt)")
    doc = {k: v for k, v in doc.items() if k != "menu_sha256"}
    doc["format_version"] = FORMAT_VERSION
    if isinstance(doc.get("config"), dict):
        doc["config"] = upgrade_settings(doc["config"])
    _menu_from_doc(p, doc)  # the converted menu must load before it is written
    _write(p, doc)
    return True
