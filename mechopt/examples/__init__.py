"""The example auctions that ship with mechopt (package data, read through ``importlib.resources``).

``default``, ``shill_example``, ``false_name_*``: mechopt JSON (copies of the repository's
``data/*.json``); ``cats/L2_m0000`` …: CATS v2.1 files (copies of ``data/cats/*.txt``).  A test
checks that the copies equal the repository's files.  On the command line an example is named
``example:NAME`` (``mechopt solve example:default``; ``mechopt examples`` lists them).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["EXAMPLE_PREFIX", "list_examples", "example_path"]

#: ``example:NAME`` names a shipped example on the command line
EXAMPLE_PREFIX = "example:"


def _root():
    return files(__name__)


def list_examples() -> dict[str, Path]:
    """Example name → file (JSON examples first, then the CATS files, each sorted)."""
    root = _root()
    out: dict[str, Path] = {}
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            out[entry.name[: -len(".json")]] = Path(str(entry))
    for entry in sorted(root.joinpath("cats").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".txt"):
            out["cats/" + entry.name[: -len(".txt")]] = Path(str(entry))
    return out


def example_path(name: str) -> Path:
    """The file of example ``name`` (``default``, ``cats/L2_m0000`` or just ``L2_m0000``);
    :class:`~mechopt.io.errors.InstanceFileError` naming some known examples otherwise."""
    if name.startswith(EXAMPLE_PREFIX):
        name = name[len(EXAMPLE_PREFIX):]
    known = list_examples()
    if name in known:
        return known[name]
    if "cats/" + name in known:
        return known["cats/" + name]
    from mechopt.io.errors import InstanceFileError

    raise InstanceFileError(f"no example named {name!r} (mechopt examples lists them: {', '.join(list(known)[:4])}, ...)")
