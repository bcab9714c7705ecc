"""Reading and writing auction instances: mechopt JSON and CATS ``.txt``."""

from __future__ import annotations

import os
from pathlib import Path

from mechopt.auction import CombinatorialAuction
from mechopt.io.cats import parse_cats, read_cats, write_cats
from mechopt.io.errors import InstanceFileError, InstanceFileWarning
from mechopt.io.json import auction_from_dict, auction_to_dict, read_json, write_json

__all__ = [
    "load_auction",
    "save_auction",
    "read_json",
    "write_json",
    "read_cats",
    "write_cats",
    "parse_cats",
    "auction_from_dict",
    "auction_to_dict",
    "InstanceFileError",
    "InstanceFileWarning",
]

FORMATS = ("json", "cats")


def detect_format(path: str | os.PathLike[str]) -> str:
    """``json`` for ``.json`` files, ``cats`` for ``.txt``/``.cats``; otherwise sniff."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".txt", ".cats"):
        return "cats"
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4096].lstrip()
    except OSError as exc:
        raise InstanceFileError(f"{path}: cannot read: {exc}") from None
    return "json" if head.startswith("{") else "cats"


def load_auction(path: str | os.PathLike[str], format: str | None = None) -> CombinatorialAuction:
    """Read an auction from a JSON or CATS file (format from the suffix unless given)."""
    path = Path(path)
    if not path.exists():
        raise InstanceFileError(f"{path}: no such file")
    if path.is_dir():
        raise InstanceFileError(f"{path}: is a directory, not an instance file")
    fmt = format or detect_format(path)
    if fmt == "json":
        return read_json(path)
    if fmt == "cats":
        return read_cats(path)
    raise InstanceFileError(f"unknown instance format {fmt!r} (choose from {', '.join(FORMATS)})")


def save_auction(auction: CombinatorialAuction, path: str | os.PathLike[str], format: str | None = None) -> None:
    """Write an auction as JSON or CATS (format from the suffix unless given)."""
    fmt = format or ("json" if Path(path).suffix.lower() == ".json" else "cats")
    if fmt == "json":
        write_json(auction, path)
    elif fmt == "cats":
        write_cats(auction, path)
    else:
        raise InstanceFileError(f"unknown instance format {fmt!r} (choose from {', '.join(FORMATS)})")
