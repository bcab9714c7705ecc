"""Reading and writing auction instances: mechopt JSON and CATS ``.txt``."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from mechopt.auction import CombinatorialAuction
from mechopt.io.cats import cats_text, parse_cats, read_cats, write_cats
from mechopt.io.errors import InstanceFileError, InstanceFileWarning
from mechopt.io.json import auction_from_dict, auction_to_dict, parse_json, read_json, write_json

__all__ = [
    "load_auction",
    "parse_auction",
    "sniff_format",
    "auction_text",
    "STDIN",
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

#: the file name that means standard input (``mechopt solve -``)
STDIN = "-"


def sniff_format(text: str) -> str:
    """``json`` when the text starts with ``{`` (after white space), ``cats`` otherwise."""
    return "json" if text.lstrip()[:1] == "{" else "cats"


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
    return sniff_format(head)


def parse_auction(text: str, format: str | None = None, source: str = "<stdin>",
                  name: str | None = None) -> CombinatorialAuction:
    """An auction from the text of an instance file (format sniffed unless given)."""
    fmt = format or sniff_format(text)
    if fmt == "json":
        return parse_json(text, source=source, name=name)
    if fmt == "cats":
        return parse_cats(text, source=source, name=name)
    raise InstanceFileError(f"unknown instance format {fmt!r} (choose from {', '.join(FORMATS)})")


def load_auction(path: str | os.PathLike[str], format: str | None = None) -> CombinatorialAuction:
    """Read an auction from a JSON or CATS file (format from the suffix unless given).

    ``-`` reads standard input; a pipe or other non-regular file (``/dev/stdin``, a FIFO) is
    read once and its format sniffed from the content (JSON starts with ``{``)."""
    if str(path) == STDIN:
        try:
            text = sys.stdin.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise InstanceFileError(f"<stdin>: cannot read: {exc}") from None
        return parse_auction(text, format, source="<stdin>", name="stdin")
    path = Path(path)
    if not path.exists():
        raise InstanceFileError(f"{path}: no such file")
    if path.is_dir():
        raise InstanceFileError(f"{path}: is a directory, not an instance file")
    try:
        regular = stat.S_ISREG(path.stat().st_mode)
    except OSError as exc:
        raise InstanceFileError(f"{path}: cannot read: {exc}") from None
    if not regular:  # a pipe can be read only once: read it, then sniff the content
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InstanceFileError(f"{path}: cannot read: {exc}") from None
        return parse_auction(text, format, source=str(path), name=path.stem)
    fmt = format or detect_format(path)
    if fmt == "json":
        return read_json(path)
    if fmt == "cats":
        return read_cats(path)
    raise InstanceFileError(f"unknown instance format {fmt!r} (choose from {', '.join(FORMATS)})")


def auction_text(auction: CombinatorialAuction, format: str = "json") -> str:
    """``auction`` as the text of a ``json`` or ``cats`` instance file."""
    if format == "json":
        import json

        return json.dumps(auction_to_dict(auction), indent=2) + "\n"
    if format == "cats":
        return cats_text(auction)
    raise InstanceFileError(f"unknown instance format {format!r} (choose from {', '.join(FORMATS)})")


def save_auction(auction: CombinatorialAuction, path: str | os.PathLike[str], format: str | None = None) -> None:
    """Write an auction as JSON or CATS (format from the suffix unless given)."""
    fmt = format or ("json" if Path(path).suffix.lower() == ".json" else "cats")
    if fmt == "json":
        write_json(auction, path)
    elif fmt == "cats":
        write_cats(auction, path)
    else:
        raise InstanceFileError(f"unknown instance format {fmt!r} (choose from {', '.join(FORMATS)})")
