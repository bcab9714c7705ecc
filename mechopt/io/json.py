"""The mechopt JSON instance format.

::

    {
      "name": "optional name",
      "items": ["A", "B"],
      "bidders": [
        {"id": "1", "bids": [{"id": "1a", "items": ["A"], "value": 8},
                             {"items": ["A", "B"], "value": 17}]},
        ...
      ]
    }

``items`` lists every item for sale (strings or integers; read as strings).  Each bidder
has a unique ``id`` and a non-empty list of XOR ``bids``: it wins at most one of them.  A
bid has a non-empty list of ``items``, a finite non-negative number ``value`` and an
optional ``id`` (default ``<bidder>/<k>``, k counting from 0), unique across the auction.
Optional top-level keys: ``name``, ``description``, ``metadata`` and ``reserves`` (``{item:
price}``: the seller's reserve prices, docs/auctions.md#reserve-prices).  A bidder may say
``"language": "OR"`` (it may win any set of its bids with disjoint bundles,
docs/auctions.md#or-bids); ``"XOR"`` is the default.  Any other key is an error, so a typo
cannot silently drop data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mechopt.auction import AuctionError, Bid, Bidder, CombinatorialAuction
from mechopt.io.atomic import atomic_write_text
from mechopt.io.errors import InstanceFileError

__all__ = ["read_json", "parse_json", "write_json", "auction_from_dict", "auction_to_dict"]

_TOP_KEYS = {"name", "description", "metadata", "items", "bidders", "format", "reserves"}
_BIDDER_KEYS = {"id", "bids", "name", "description", "language"}
_BID_KEYS = {"id", "items", "value"}


class _DuplicateKey(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook``: a key given twice would silently drop the first value."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _DuplicateKey(f"duplicate key {key!r} in a JSON object (the first value would be lost)")
        data[key] = value
    return data


def auction_from_dict(data: Any, source: str = "<dict>") -> CombinatorialAuction:
    """Build a validated auction from the parsed JSON structure described above."""

    def fail(msg: str) -> InstanceFileError:
        return InstanceFileError(f"{source}: {msg}")

    if not isinstance(data, dict):
        raise fail("the top level must be a JSON object with 'items' and 'bidders'")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (expected {', '.join(sorted(_TOP_KEYS))})")
    for key in ("items", "bidders"):
        if key not in data:
            raise fail(f"missing key {key!r}")
        if not isinstance(data[key], list):
            raise fail(f"{key!r} must be a list")
    items = data["items"]
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise fail(f"item {item!r} must be a string or an integer")
    bidders = []
    try:
        for pos, entry in enumerate(data["bidders"]):
            where = f"bidder #{pos}"
            if not isinstance(entry, dict):
                raise fail(f"{where} must be an object with 'id' and 'bids'")
            unknown = sorted(set(entry) - _BIDDER_KEYS)
            if unknown:
                raise fail(f"{where}: unknown key {unknown[0]!r}")
            if "id" not in entry:
                raise fail(f"{where} has no 'id'")
            bidder_id = entry["id"]
            where = f"bidder {bidder_id!r}"
            if not isinstance(entry.get("bids"), list):
                raise fail(f"{where} has no 'bids' list")
            bids = []
            for k, raw in enumerate(entry["bids"]):
                if not isinstance(raw, dict):
                    raise fail(f"{where}, bid #{k} must be an object with 'items' and 'value'")
                unknown = sorted(set(raw) - _BID_KEYS)
                if unknown:
                    raise fail(f"{where}, bid #{k}: unknown key {unknown[0]!r}")
                for key in ("items", "value"):
                    if key not in raw:
                        raise fail(f"{where}, bid #{k} has no {key!r}")
                if not isinstance(raw["items"], list):
                    raise fail(f"{where}, bid #{k}: 'items' must be a list")
                value = raw["value"]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise fail(f"{where}, bid #{k}: value {value!r} is not a number")
                bids.append(Bid(raw.get("id", f"{bidder_id}/{k}"), tuple(raw["items"]), value))  # type: ignore[arg-type]  # Bid makes it a frozenset
            if not bids:
                raise fail(f"{where} has no bids")
            language = entry.get("language", "XOR")
            if not isinstance(language, str):
                raise fail(f"{where}: language {language!r} must be \"XOR\" or \"OR\"")
            bidders.append(Bidder(bidder_id, tuple(bids), language))
        name = data.get("name")
        reserves = data.get("reserves", {})
        if not isinstance(reserves, dict):
            raise fail("'reserves' must be an object {item: price}")
        for item, price in reserves.items():
            if isinstance(price, bool) or not isinstance(price, (int, float)):
                raise fail(f"reserve price of item {item!r} is not a number: {price!r}")
        return CombinatorialAuction(
            tuple(items), tuple(bidders), name=None if name is None else str(name),
            reserves=tuple(reserves.items()),
        )
    except InstanceFileError:
        raise
    except AuctionError as exc:
        raise fail(str(exc)) from None


def auction_to_dict(auction: CombinatorialAuction) -> dict[str, Any]:
    """The JSON structure of ``auction`` (inverse of :func:`auction_from_dict`)."""
    data: dict[str, Any] = {}
    if auction.name is not None:
        data["name"] = auction.name
    data["items"] = list(auction.items)
    if auction.reserves:
        data["reserves"] = auction.reserve_prices
    data["bidders"] = [
        {
            "id": bidder.id,
            **({"language": bidder.language} if bidder.is_or else {}),
            "bids": [
                {"id": bid.id, "items": auction.ordered(bid.items), "value": bid.value}
                for bid in bidder.bids
            ],
        }
        for bidder in auction.bidders
    ]
    return data


def read_json(path: str | os.PathLike[str]) -> CombinatorialAuction:
    """Read a mechopt JSON instance; any problem raises :class:`InstanceFileError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceFileError(f"{path}: cannot read: {exc}") from None
    return parse_json(text, source=str(path), name=path.stem)


def parse_json(text: str, source: str = "<json>", name: str | None = None) -> CombinatorialAuction:
    """Parse the text of a mechopt JSON instance (``name``: used when the file has none)."""
    try:
        data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise InstanceFileError(f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise InstanceFileError(f"{source}: invalid instance: JSON nested too deeply") from None
    except _DuplicateKey as exc:
        raise InstanceFileError(f"{source}: invalid JSON: {exc}") from None
    except ValueError as exc:  # NaN / Infinity literals
        raise InstanceFileError(f"{source}: invalid JSON: {exc}") from None
    auction = auction_from_dict(data, source=source)
    if auction.name is None and name is not None:
        auction = CombinatorialAuction(auction.items, auction.bidders, name=name, reserves=auction.reserves)
    return auction


def write_json(auction: CombinatorialAuction, path: str | os.PathLike[str]) -> None:
    """Write ``auction`` as mechopt JSON (atomically: a temporary file is renamed)."""
    try:
        atomic_write_text(path, json.dumps(auction_to_dict(auction), indent=2) + "\n")
    except OSError as exc:
        raise InstanceFileError(f"{path}: cannot write: {exc}") from None
