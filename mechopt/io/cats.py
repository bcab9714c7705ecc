"""The CATS ``.txt`` format (Leyton-Brown, Pearson, Shoham, "Towards a universal test suite
for combinatorial auction algorithms", EC 2000), as written by CATS v2.1.

::

    % comment lines start with '%'
    goods 16
    bids 40
    dummy 8
    0	266.225	12	#
    1	990.602	3	17	#

Goods ``0..N-1`` are real; goods ``N..N+D-1`` are dummy goods.  All bids that share a dummy
good belong to one XOR bidder (it can win at most one of them); a bid without a dummy good
is a bidder of its own.  Bidders are named ``b<first bid id>``; items are named by their
index (``"0"`` … ``"N-1"``).  Every malformed line is reported as ``file:line: reason``.
A body that holds a different number of bids than the header says is read as it is, with
a warning (docs/auctions.md#cats-file-format).

The writer gives a dummy good to every bidder with two or more bids (never OR semantics by
accident, unlike some Python imitations of CATS) and records item names in a comment.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections import defaultdict
from pathlib import Path

from mechopt.auction import AuctionError, Bid, Bidder, CombinatorialAuction
from mechopt.io.atomic import atomic_write_text
from mechopt.io.errors import InstanceFileError, InstanceFileWarning

__all__ = ["read_cats", "write_cats", "parse_cats", "cats_text"]

_HEADER_KEYS = ("goods", "bids", "dummy")

#: largest ``goods`` count read: every good becomes an item of the auction (CATS instances
#: have at most a few thousand; a billion would exhaust memory before any check could run)
MAX_GOODS = 100_000

#: an integer as CATS writes it: ASCII digits only (``int()`` and ``str.isdigit`` also
#: accept other Unicode digits such as ``²`` or ``٣``)
_INTEGER = re.compile(r"-?[0-9]+")


def read_cats(path: str | os.PathLike[str]) -> CombinatorialAuction:
    """Read a CATS file; any problem raises :class:`InstanceFileError` naming file:line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceFileError(f"{path}: cannot read: {exc}") from None
    return parse_cats(text, source=str(path), name=path.stem)


def parse_cats(text: str, source: str = "<cats>", name: str | None = None) -> CombinatorialAuction:
    """Parse the text of a CATS file (see the module docstring)."""
    header: dict[str, int] = {}
    rows: list[tuple[int, str, float, list[int]]] = []  # line, bid id, price, goods
    seen_ids: dict[str, int] = {}

    def fail(lineno: int, msg: str) -> InstanceFileError:
        return InstanceFileError(f"{source}:{lineno}: {msg}")

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        tokens = line.split()
        key = tokens[0].lower()
        if key == "maximums":
            raise fail(lineno, "multi-unit CATS files ('maximums' line) are not supported")
        if key in _HEADER_KEYS:
            if rows:
                raise fail(lineno, f"header line {key!r} after the first bid")
            if key in header:
                raise fail(lineno, f"header line {key!r} appears twice")
            if len(tokens) != 2:
                raise fail(lineno, f"expected '{key} <count>', got {line!r}")
            if not _INTEGER.fullmatch(tokens[1]):
                raise fail(lineno, f"{key} count {tokens[1]!r} is not an integer")
            count = int(tokens[1])
            if count < 0:
                raise fail(lineno, f"{key} count must be >= 0, got {count}")
            if key == "goods" and count > MAX_GOODS:
                raise fail(lineno, f"goods count {count} exceeds the supported maximum of {MAX_GOODS:,}")
            header[key] = count
            continue
        if not _INTEGER.fullmatch(key):
            raise fail(lineno, f"unexpected line {line[:60]!r} (expected a header or a bid)")
        if "goods" not in header:
            raise fail(lineno, "bid before the 'goods' header line")
        if tokens[-1] != "#":
            raise fail(lineno, "bid line does not end with '#'")
        if len(tokens) < 3:
            raise fail(lineno, "bid line has no price")
        bid_id = tokens[0]
        if int(bid_id) < 0:
            raise fail(lineno, f"bid id {bid_id} is negative")
        if bid_id in seen_ids:
            raise fail(lineno, f"bid id {bid_id} already used on line {seen_ids[bid_id]}")
        seen_ids[bid_id] = lineno
        try:
            if not tokens[1].isascii():
                raise ValueError
            price = float(tokens[1])
        except ValueError:
            raise fail(lineno, f"price {tokens[1]!r} is not a number") from None
        if not math.isfinite(price):
            raise fail(lineno, f"price {tokens[1]!r} is not finite")
        if price < 0:
            raise fail(lineno, f"price {price:g} is negative")
        goods: list[int] = []
        if "#" in tokens[2:-1]:
            raise fail(lineno, "more than one '#' on a bid line")
        for tok in tokens[2:-1]:
            if not _INTEGER.fullmatch(tok):
                raise fail(lineno, f"good {tok!r} is not an integer")
            goods.append(int(tok))
        rows.append((lineno, bid_id, price, goods))

    for key in _HEADER_KEYS[::2]:  # goods and dummy are required, bids is advisory
        if key not in header:
            raise InstanceFileError(f"{source}: missing header line '{key} <count>'")
    n_goods, n_dummy = header["goods"], header["dummy"]
    if n_goods == 0:
        raise InstanceFileError(f"{source}: 'goods 0': the auction has no items")
    if not rows:
        raise InstanceFileError(f"{source}: the file holds no bids")
    if "bids" in header and header["bids"] != len(rows):
        warnings.warn(
            f"{source}: header says {header['bids']} bids, the body holds {len(rows)}; "
            "reading the body",
            InstanceFileWarning,
            stacklevel=2,
        )

    groups: dict[int, list[Bid]] = defaultdict(list)  # dummy good -> bids
    bidders: list[tuple[str, int | None, list[Bid]]] = []  # (id, dummy, bids) in file order
    for lineno, bid_id, price, goods in rows:
        real: list[str] = []
        dummy: int | None = None
        for g in goods:
            if g < 0 or g >= n_goods + n_dummy:
                raise InstanceFileError(
                    f"{source}:{lineno}: good {g} out of range (goods 0..{n_goods - 1}, "
                    f"dummy goods {n_goods}..{n_goods + n_dummy - 1})"
                )
            if g >= n_goods:
                if dummy is not None:
                    raise InstanceFileError(f"{source}:{lineno}: bid names two dummy goods ({dummy}, {g})")
                dummy = g
            else:
                real.append(str(g))
        if not real:
            raise InstanceFileError(f"{source}:{lineno}: bid {bid_id} names no real good")
        try:
            bid = Bid(bid_id, tuple(real), price)  # type: ignore[arg-type]  # Bid makes it a frozenset
        except AuctionError as exc:
            raise InstanceFileError(f"{source}:{lineno}: {exc}") from None
        if dummy is None:
            bidders.append((f"b{bid_id}", None, [bid]))
        else:
            if dummy not in groups:
                bidders.append((f"b{bid_id}", dummy, groups[dummy]))
            groups[dummy].append(bid)
    try:
        return CombinatorialAuction(
            tuple(str(g) for g in range(n_goods)),
            tuple(Bidder(bidder_id, tuple(bids)) for bidder_id, _, bids in bidders),
            name=name,
        )
    except AuctionError as exc:
        raise InstanceFileError(f"{source}: {exc}") from None


def write_cats(auction: CombinatorialAuction, path: str | os.PathLike[str]) -> None:
    """Write ``auction`` in CATS format; bids are numbered 0..M-1 in bidder order."""
    try:
        atomic_write_text(path, cats_text(auction))
    except OSError as exc:
        raise InstanceFileError(f"{path}: cannot write: {exc}") from None


def cats_text(auction: CombinatorialAuction) -> str:
    """``auction`` as the text of a CATS file (see :func:`write_cats`)."""
    index = {item: k for k, item in enumerate(auction.items)}
    multi = [b for b in auction.bidders if len(b.bids) > 1]
    dummy_of = {b.id: len(auction.items) + k for k, b in enumerate(multi)}
    lines = [
        "% written by mechopt (CATS v2.1 format)",
        f"% auction: {auction.name or ''}",
        "% items: " + " ".join(f"{k}={item}" for item, k in index.items()),
        "",
        f"goods {len(auction.items)}",
        f"bids {auction.n_bids}",
        f"dummy {len(multi)}",
        "",
    ]
    k = 0
    for bidder in auction.bidders:
        for bid in bidder.bids:
            goods = sorted(index[g] for g in bid.items)
            if bidder.id in dummy_of:
                goods.append(dummy_of[bidder.id])
            lines.append("\t".join([str(k), repr(bid.value), *map(str, goods), "#"]))
            k += 1
    return "\n".join(lines) + "\n"
