"""Combinatorial auction instances with XOR (default) or OR bids and optional reserve prices.

A bidder submits bids ``(S_k, b_k)``; under the XOR bidding language it may win at most one
of them, and its reported valuation is ``v(S) = max{b_k : S_k ⊆ S}`` with ``v(∅) = 0``
(free disposal; docs/auctions.md#xor-bids).  Under the OR language (``Bidder.language =
"OR"``) it may win any set of its bids with pairwise disjoint bundles, and ``v(S)`` is the
best sum over such sets inside ``S`` (docs/auctions.md#or-bids).  Reserve prices
(``CombinatorialAuction.reserves``) are the seller's own OR bids on single items: an item
is sold only to bids worth at least the reserves of their bundle, and the seller's value of
the items it keeps counts in the welfare (docs/auctions.md#reserve-prices).

All classes are frozen dataclasses validated on construction: an invalid instance cannot be
built, and the error names the bidder or bid and what is wrong.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from mechopt.errors import InputError

__all__ = [
    "AuctionError",
    "ValueRangeError",
    "Bid",
    "Bidder",
    "CombinatorialAuction",
    "MAX_VALUE_RATIO",
    "check_value_range",
    "id_list",
    "combine_bids",
    "LANGUAGES",
]

#: Bidding languages: XOR (win at most one bid) and OR (any set of disjoint bids).
LANGUAGES = ("XOR", "OR")

#: Largest ratio between the largest bid value and the smallest nonzero one that mechopt's
#: MILPs are guaranteed to resolve (see :func:`check_value_range`).
MAX_VALUE_RATIO = 1e6


class AuctionError(InputError):
    """An auction instance (or a file describing one) is invalid."""


class ValueRangeError(AuctionError):
    """The bid values span more orders of magnitude than the solver can tell apart."""


def _check_id(kind: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise AuctionError(f"{kind} id {value!r} must be a string or an integer")
    text = str(value)
    if not text.strip():
        raise AuctionError(f"{kind} id must not be empty")
    return text


def id_list(what: str, ids: Iterable[object]) -> list[str]:
    """``ids`` (a collection of ids) as a list of strings; a lone string is a TypeError,
    because iterating it would silently yield its characters."""
    if isinstance(ids, (str, bytes)):
        raise TypeError(f"{what} must be a collection of ids, not the string {ids!r} "
                        f"(pass [{ids!r}] for a single one)")
    try:
        return [str(i) for i in ids]
    except TypeError:
        raise TypeError(f"{what} must be a collection of ids, got {type(ids).__name__}") from None


@dataclass(frozen=True)
class Bid:
    """One XOR bid: a bundle of items and the value reported for it.

    ``items`` may be given as any iterable of item names; it is stored as a frozenset.
    A duplicate item, an empty bundle, or a negative / NaN / infinite value is an error.
    """

    id: str
    items: frozenset[str]
    value: float
    parts: tuple[Bid, ...] = field(default=(), compare=False, repr=False)
    """For the accepted bids of an OR bidder combined into one (:func:`combine_bids`): the
    bids it is made of; empty for a bid as submitted."""

    def __post_init__(self) -> None:
        bid_id = _check_id("bid", self.id)
        object.__setattr__(self, "id", bid_id)
        if isinstance(self.items, (str, bytes)):
            raise AuctionError(f"bid {bid_id!r}: items must be a list of item names, not a string")
        try:
            listed = [str(item) for item in self.items]
        except TypeError:
            raise AuctionError(f"bid {bid_id!r}: items must be a list of item names") from None
        if not listed:
            raise AuctionError(f"bid {bid_id!r} has an empty bundle")
        bundle = frozenset(listed)
        if len(bundle) != len(listed):
            seen: set[str] = set()
            dup = next(item for item in listed if item in seen or seen.add(item))  # type: ignore[func-returns-value]
            raise AuctionError(f"bid {bid_id!r} names item {dup!r} twice")
        object.__setattr__(self, "items", bundle)
        value = self.value
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise AuctionError(f"bid {bid_id!r} has a non-numeric value {value!r}")
        try:
            value = float(value)
        except OverflowError:  # an int beyond the largest double (~1.8e308)
            raise AuctionError(f"bid {bid_id!r} has a value too large for a double (> 1.8e308)") from None
        if math.isnan(value):
            raise AuctionError(f"bid {bid_id!r} has value NaN")
        if math.isinf(value):
            raise AuctionError(f"bid {bid_id!r} has an infinite value")
        if value < 0:
            raise AuctionError(f"bid {bid_id!r} has negative value {value:g}")
        object.__setattr__(self, "value", value)

    @property
    def size(self) -> int:
        """Number of items in the bundle."""
        return len(self.items)

    @property
    def components(self) -> tuple[Bid, ...]:
        """The submitted bids this bid stands for: ``parts``, or the bid itself."""
        return self.parts or (self,)


def combine_bids(bids: Sequence[Bid]) -> Bid:
    """The bids an OR bidder wins, as one bid: union of the (disjoint) bundles, exact sum of
    the values, ids joined by ``+``; a single bid is returned unchanged."""
    bids = tuple(bids)
    if len(bids) == 1:
        return bids[0]
    if not bids:
        raise AuctionError("cannot combine an empty list of bids")
    items: set[str] = set()
    for bid in bids:
        if not items.isdisjoint(bid.items):
            raise AuctionError(f"bid {bid.id!r} overlaps another accepted bid of the same bidder")
        items |= bid.items
    return Bid("+".join(b.id for b in bids), frozenset(items), math.fsum(b.value for b in bids), bids)


def _best_packing(bids: Sequence[Bid]) -> float:
    """Largest sum of values over sets of pairwise disjoint bids (exhaustive; OR valuation)."""
    best = 0.0

    def rec(k: int, used: frozenset[str], total: float) -> None:
        nonlocal best
        best = max(best, total)
        for j in range(k, len(bids)):
            if used.isdisjoint(bids[j].items):
                rec(j + 1, used | bids[j].items, total + bids[j].value)

    rec(0, frozenset(), 0.0)
    return best


@dataclass(frozen=True)
class Bidder:
    """A bidder and its bids: XOR (the default; it may win at most one of them) or OR (it may
    win any set of them with pairwise disjoint bundles)."""

    id: str
    bids: tuple[Bid, ...]
    language: str = "XOR"

    def __post_init__(self) -> None:
        bidder_id = _check_id("bidder", self.id)
        object.__setattr__(self, "id", bidder_id)
        language = str(self.language).upper() if isinstance(self.language, str) else self.language
        if language not in LANGUAGES:
            raise AuctionError(
                f"bidder {bidder_id!r}: unknown bidding language {self.language!r} (XOR or OR)"
            )
        object.__setattr__(self, "language", language)
        bids = tuple(self.bids)
        if not bids:
            raise AuctionError(f"bidder {bidder_id!r} has no bids")
        for bid in bids:
            if not isinstance(bid, Bid):
                raise AuctionError(f"bidder {bidder_id!r}: {bid!r} is not a Bid")
        ids = [bid.id for bid in bids]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise AuctionError(f"bidder {bidder_id!r} has two bids with id {dup!r}")
        object.__setattr__(self, "bids", bids)

    def value(self, bundle: Iterable[str]) -> float:
        """XOR valuation: the highest bid whose bundle is contained in ``bundle`` (0 if none);
        OR valuation: the best sum of disjoint bids contained in ``bundle``."""
        owned = frozenset(bundle)
        inside = [bid for bid in self.bids if bid.items <= owned]
        if self.is_or:
            return _best_packing(inside)
        return max((bid.value for bid in inside), default=0.0)

    @property
    def is_or(self) -> bool:
        """True for an OR bidder (it may win several disjoint bids)."""
        return self.language == "OR"

    @property
    def is_single_minded(self) -> bool:
        """True when the bidder submitted exactly one bid."""
        return len(self.bids) == 1


@dataclass(frozen=True)
class CombinatorialAuction:
    """A sealed-bid combinatorial auction: items for sale and bidders with XOR or OR bids.

    Validated on construction: at least one item and one bidder, unique item names,
    unique bidder ids, bid ids unique across the whole auction, and every bid naming
    only items for sale.  ``reserves`` (a mapping ``{item: price}`` or pairs) are stored as
    ``(item, price)`` pairs in item order, zero prices dropped; an unknown item or a
    negative, NaN or infinite price is an error.
    """

    items: tuple[str, ...]
    bidders: tuple[Bidder, ...]
    name: str | None = None
    reserves: tuple[tuple[str, float], ...] = ()
    _index: Mapping[str, Bidder] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.items, (str, bytes)):
            raise AuctionError("items must be a list of item names, not a string")
        items = tuple(str(item) for item in self.items)
        if not items:
            raise AuctionError("the auction has no items")
        if len(set(items)) != len(items):
            dup = next(i for i in items if items.count(i) > 1)
            raise AuctionError(f"item {dup!r} is listed twice")
        bidders = tuple(self.bidders)
        if not bidders:
            raise AuctionError("the auction has no bidders")
        index: dict[str, Bidder] = {}
        bid_owner: dict[str, str] = {}
        item_set = frozenset(items)
        for bidder in bidders:
            if not isinstance(bidder, Bidder):
                raise AuctionError(f"{bidder!r} is not a Bidder")
            if bidder.id in index:
                raise AuctionError(f"bidder id {bidder.id!r} is used twice")
            index[bidder.id] = bidder
            for bid in bidder.bids:
                if bid.id in bid_owner:
                    raise AuctionError(
                        f"bid id {bid.id!r} is used by bidder {bid_owner[bid.id]!r} "
                        f"and bidder {bidder.id!r}"
                    )
                bid_owner[bid.id] = bidder.id
                unknown = sorted(bid.items - item_set)
                if unknown:
                    raise AuctionError(
                        f"bid {bid.id!r} of bidder {bidder.id!r} names unknown item {unknown[0]!r}"
                    )
        try:  # welfare and revenue are sums of values: they must stay finite
            total = math.fsum(bid.value for bidder in bidders for bid in bidder.bids)
        except OverflowError:
            total = math.inf
        if math.isinf(total):
            raise AuctionError("the bid values sum to more than the largest double (~1.8e308)")
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "bidders", bidders)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "reserves", _check_reserves(self.reserves, items))

    # -- construction helpers -------------------------------------------------------------
    @classmethod
    def from_bids(
        cls,
        items: Sequence[str],
        bids: Mapping[str, Sequence[tuple[Iterable[str], float]]],
        name: str | None = None,
    ) -> CombinatorialAuction:
        """Build an auction from ``{bidder: [(bundle, value), ...]}``; bid ids are ``bidder/k``.

        ``items`` and each bundle are collections of item names; a string is a TypeError
        (``'ab'`` would otherwise become the items ``a`` and ``b``)."""
        bidders = tuple(
            Bidder(
                str(bidder_id),
                tuple(
                    Bid(f"{bidder_id}/{k}", tuple(id_list(f"the bundle of bid {bidder_id}/{k}", bundle)), value)  # type: ignore[arg-type]  # Bid makes it a frozenset
                    for k, (bundle, value) in enumerate(bid_list)
                ),
            )
            for bidder_id, bid_list in bids.items()
        )
        return cls(tuple(id_list("items", items)), bidders, name=name)

    # -- queries --------------------------------------------------------------------------
    @property
    def value_range(self) -> tuple[float, float]:
        """(smallest nonzero, largest) bid value or reserve price; (0, 0) when all are 0."""
        values = [bid.value for _, bid in self.iter_bids() if bid.value > 0]
        values += [price for _, price in self.reserves]
        return (min(values), max(values)) if values else (0.0, 0.0)

    @property
    def reserve_prices(self) -> dict[str, float]:
        """``{item: reserve price}`` for the items with a positive reserve."""
        return dict(self.reserves)

    def reserve_of(self, bundle: Iterable[str]) -> float:
        """Sum of the reserve prices of the items in ``bundle`` (0 without reserves)."""
        if not self.reserves:
            return 0.0
        prices = dict(self.reserves)
        return math.fsum(prices.get(g, 0.0) for g in bundle)

    def welfare_of(self, bids: Iterable[Bid]) -> float:
        """Welfare of an allocation given by its accepted bids: the exact sum of their values
        plus the seller's reserve value of every item they leave unsold."""
        bids = list(bids)
        if not self.reserves:
            return math.fsum(b.value for b in bids)
        sold = set().union(*(b.items for b in bids)) if bids else set()
        kept = (price for g, price in self.reserves if g not in sold)
        return math.fsum([*(b.value for b in bids), *kept])

    @property
    def bidder_ids(self) -> tuple[str, ...]:
        return tuple(b.id for b in self.bidders)

    @property
    def n_bids(self) -> int:
        return sum(len(b.bids) for b in self.bidders)

    def bidder(self, bidder_id: str) -> Bidder:
        """The bidder with this id; AuctionError if there is none."""
        try:
            return self._index[str(bidder_id)]
        except KeyError:
            raise AuctionError(f"no bidder with id {bidder_id!r}") from None

    def ordered(self, bundle: Iterable[str]) -> list[str]:
        """The items of ``bundle`` in the auction's item order (for display and files)."""
        position = {item: k for k, item in enumerate(self.items)}
        return sorted(bundle, key=position.__getitem__)

    def iter_bids(self) -> Iterator[tuple[Bidder, Bid]]:
        """Every (bidder, bid) pair in file order."""
        for bidder in self.bidders:
            for bid in bidder.bids:
                yield bidder, bid

    def value(self, bidder_id: str, bundle: Iterable[str]) -> float:
        """Reported XOR value of ``bidder_id`` for ``bundle``."""
        return self.bidder(bidder_id).value(bundle)

    def without(self, bidder_ids: Iterable[str]) -> CombinatorialAuction:
        """A copy without the given bidders (AuctionError if none would remain)."""
        drop = set(id_list("bidder_ids", bidder_ids))
        for b in drop:
            self.bidder(b)
        kept = tuple(b for b in self.bidders if b.id not in drop)
        return CombinatorialAuction(self.items, kept, name=self.name, reserves=self.reserves)

    def merged(self, bidder_ids: Iterable[str], new_id: str | None = None) -> CombinatorialAuction:
        """A copy where the given bidders act as one XOR bidder holding all their bids.

        Used by the group remedy of the shill audit (Matsuo, Ito, Day, Shintani, AAMAS 2006).
        The merged bidder is XOR whatever the members' languages: the group may win at most
        one of its members' bids.
        """
        group = id_list("bidder_ids", bidder_ids)
        members = [self.bidder(b) for b in group]
        if not members:
            raise AuctionError("cannot merge an empty group of bidders")
        merged_id = new_id if new_id is not None else "+".join(group)
        merged = Bidder(merged_id, tuple(bid for m in members for bid in m.bids))
        kept: list[Bidder] = []
        for bidder in self.bidders:
            if bidder.id == group[0]:
                kept.append(merged)
            elif bidder.id not in group:
                kept.append(bidder)
        return CombinatorialAuction(self.items, tuple(kept), name=self.name, reserves=self.reserves)


def _check_reserves(raw: object, items: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """Validated reserve prices as ``(item, price)`` pairs in item order (zeros dropped)."""
    if raw is None:
        return ()
    if isinstance(raw, Mapping):
        pairs = list(raw.items())
    else:
        try:
            pairs = [tuple(pair) for pair in cast(Iterable[Any], raw)]
        except TypeError:
            raise AuctionError("reserves must map items to prices") from None
    prices: dict[str, float] = {}
    known = set(items)
    for pair in pairs:
        if len(pair) != 2:
            raise AuctionError("reserves must map items to prices")
        item, price = str(pair[0]), pair[1]
        if item not in known:
            raise AuctionError(f"reserve price for unknown item {item!r}")
        if item in prices:
            raise AuctionError(f"two reserve prices for item {item!r}")
        if isinstance(price, bool) or not isinstance(price, numbers.Real):
            raise AuctionError(f"reserve price of item {item!r} is not a number: {price!r}")
        price = float(price)
        if math.isnan(price) or math.isinf(price) or price < 0:
            raise AuctionError(f"reserve price of item {item!r} must be finite and >= 0, got {price:g}")
        prices[item] = price
    return tuple((g, prices[g]) for g in items if prices.get(g, 0.0) > 0)


def check_value_range(auction: CombinatorialAuction) -> float:
    """Refuse values that the winner-determination MILP cannot resolve; return the largest.

    HiGHS' tolerances are absolute (primal/dual feasibility 1e-7, MIP feasibility 1e-6 by
    default; HiGHS options reference), so mechopt's builders divide every value by a power of
    two near the largest one (``model.objective_scale``): after that, a uniform scale of all
    values changes nothing.  Scaling cannot fix range: a bid worth about 1e-7 of the largest
    one is below the solver's resolution (and 1e16 + 0.5 is not even a double), so its VCG
    payment could silently be 0.  On random auctions HiGHS' welfare and VCG utilities are
    exact (to ~1e-9 of the smallest value) up to a ratio of 1e7 and wrong by several times
    the smallest value at 1e8.  mechopt therefore guarantees its answers only when
    largest / smallest nonzero value ≤ ``MAX_VALUE_RATIO`` (1e6, a factor 10 of margin;
    zero values are fine) and raises :class:`ValueRangeError` outside that range.
    """
    low, high = auction.value_range
    if high > 0 and high > MAX_VALUE_RATIO * low:
        raise ValueRangeError(
            f"bid values range from {low:g} to {high:g} (ratio {high / low:.3g}); mechopt "
            f"solves exactly only when largest / smallest nonzero value <= {MAX_VALUE_RATIO:g}"
        )
    return high
