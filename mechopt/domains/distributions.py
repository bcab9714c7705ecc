"""Type distributions of the payment-rule experiments (Dütting, Fischer, Jirapinyo, Lai, Lubin,
Parkes, "Payment rules through discriminant-based classifiers", EC 2012, §5-6; docs/payment-rules.md#domains).

Three domains, each a frozen dataclass whose :meth:`sample` draws a batch of ``N`` type
profiles from a seeded ``numpy.random.Generator`` (fully vectorized):

* :class:`SingleItemAuction` (``"single-item"``): ``n`` agents, values U[0,1].
* :class:`MultiMindedCA` (``"mmca"``): ``n`` agents, ``m`` items, ``b`` bundles per agent,
  bundle sizes by the decay law with parameter α, value weights β (common vs private) and
  complementarity exponent γ.
* :class:`AssignmentProblem` (``"assignment"``): ``n`` agents, ``n`` items, values U[0,1].

Representation of a batch of instances (the contract other modules script against)
-----------------------------------------------------------------------------------
**Combinatorial domains** (single item and multi-minded CA) give an :class:`XORProfiles`:

* ``bundles``: ``int64`` array ``(N, n, b)``; ``bundles[k, i, j]`` is the ``j``-th XOR bid of
  agent ``i`` in instance ``k`` as a bitmask over the ``m`` items (bit ``g`` set ⇔ item ``g``
  in the bundle); every bundle is non-empty. Two bids of one agent may name the same bundle.
* ``values``: ``float64`` array ``(N, n, b)``, the bid values, all in [0, 1].
* ``n_items`` = ``m``. A single-item auction is the case ``m = 1, b = 1`` (every bundle is
  ``0b1``), exactly as the paper treats it as a special multi-minded CA.
* An **outcome** of an agent is a bundle as an ``int`` bitmask in ``[0, 2^m)``; ``0`` is the
  null outcome (nothing). Outcomes of a batch are an ``int64`` array ``(N, n)``.
* :meth:`XORProfiles.expand` gives the explicit valuation vectors ``(N, n, 2^m)``:
  ``expand()[k, i, S] = v_i(S) = max{values[k,i,j] : bundles[k,i,j] ⊆ S}`` (0 if none): XOR
  semantics with free disposal, hence monotone and ``v_i(0) = 0``.

**Assignment** gives an :class:`AssignmentProfiles`:

* ``values``: ``float64`` array ``(N, n, n_items)``; ``values[k, i, j]`` is agent ``i``'s value
  for item ``j`` (``n_items = n`` for the paper's domain; ``n_items ≥ n`` is allowed).
* An **outcome** of an agent is the index ``j`` of the item it receives; every agent receives
  exactly one item (there is no null outcome). Outcomes of a batch: ``int64`` ``(N, n)``.

Both classes share the methods the evaluator and the learner use:
``outcome_values()`` → ``(N, n, K)`` value of every agent for each of its ``K`` possible
outcomes (``K = 2^m`` or ``n_items``), ``without_agent(i)`` → the profiles ``x_{-i}`` of the
other agents (same class, ``n - 1`` agents, the others in their original order),
``take(index)``, ``arrays()`` / ``from_arrays()`` (for caching), ``len()``.

Seeding: ``sample(size, seed)`` accepts an int seed or a ``Generator``; the same seed gives
the same instances on every machine (the draws are listed in each ``sample`` docstring).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from mechopt.errors import InputError

__all__ = [
    "XORProfiles",
    "AssignmentProfiles",
    "TypeProfiles",
    "Domain",
    "SingleItemAuction",
    "MultiMindedCA",
    "AssignmentProblem",
    "DOMAINS",
    "make_domain",
    "popcount",
    "MAX_EXPAND_ITEMS",
]

#: largest number of items for which the explicit 2^m valuation vectors are built
MAX_EXPAND_ITEMS = 20

Seed = int | np.random.Generator | None


def _rng(seed: Seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.default_rng(seed)


def popcount(masks: np.ndarray) -> np.ndarray:
    """Number of set bits of every entry of an integer array (bundle sizes)."""
    masks = np.asarray(masks, dtype=np.int64)
    count = np.zeros(masks.shape, dtype=np.int64)
    work = masks.copy()
    while np.any(work):
        count += work & 1
        work >>= 1
    return count


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise InputError(f"number of instances must be a positive integer, got {size!r}")
    return int(size)


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InputError(f"{name} must be {bound}, got {value}")
    return int(value)


def _check_real(name: str, value: Any, low: float, high: float | None, *, low_open: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x) or x < low or (low_open and x == low) or (high is not None and x > high):
        lo = f"({low}" if low_open else f"[{low}"
        hi = f"{high}]" if high is not None else "∞)"
        raise InputError(f"{name} must lie in {lo}, {hi}, got {value!r}")
    return x


# --------------------------------------------------------------------------------------
# batches of type profiles
# --------------------------------------------------------------------------------------
class TypeProfiles(Protocol):
    """What the evaluator and the learner need from a batch of type profiles."""

    @property
    def n_instances(self) -> int: ...
    @property
    def n_agents(self) -> int: ...
    @property
    def n_outcomes(self) -> int: ...
    def outcome_values(self) -> np.ndarray: ...
    def without_agent(self, agent: int) -> TypeProfiles: ...
    def take(self, index: Any) -> TypeProfiles: ...
    def arrays(self) -> dict[str, np.ndarray]: ...
    def __len__(self) -> int: ...


@dataclass(frozen=True)
class XORProfiles:
    """``N`` profiles of XOR valuations over ``n_items`` items (see the module docstring).

    ``bundles`` ``(N, n, b)`` int64 bitmasks (non-empty), ``values`` ``(N, n, b)`` float64 ≥ 0.
    """

    bundles: np.ndarray
    values: np.ndarray
    n_items: int
    kind: ClassVar[str] = "xor"

    def __post_init__(self) -> None:
        m = _check_int("number of items", self.n_items, 1, 62)
        bundles = np.asarray(self.bundles)
        values = np.asarray(self.values, dtype=np.float64)
        if bundles.ndim != 3 or values.shape != bundles.shape:
            raise InputError(
                f"bundles and values must both have shape (instances, agents, bids); got "
                f"{bundles.shape} and {values.shape}"
            )
        if not np.issubdtype(bundles.dtype, np.integer):
            raise InputError(f"bundles must be integer bitmasks, got dtype {bundles.dtype}")
        bundles = bundles.astype(np.int64, copy=False)
        if bundles.size and (bundles.min() <= 0 or bundles.max() >= (1 << m)):
            raise InputError(f"every bundle must be a non-empty bitmask over {m} items (1 .. 2^{m}-1)")
        if not np.all(np.isfinite(values)):
            raise InputError("bid values must be finite (found NaN or infinity)")
        if values.size and values.min() < 0:
            raise InputError(f"bid values must be non-negative, found {values.min():g}")
        bundles.setflags(write=False)
        values.setflags(write=False)
        object.__setattr__(self, "bundles", bundles)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "n_items", m)

    # -- sizes ------------------------------------------------------------------------------
    @property
    def n_instances(self) -> int:
        return self.bundles.shape[0]

    @property
    def n_agents(self) -> int:
        return self.bundles.shape[1]

    @property
    def n_bids(self) -> int:
        """Bids per agent (``b``)."""
        return self.bundles.shape[2]

    @property
    def n_outcomes(self) -> int:
        """Outcomes of one agent: all ``2^m`` bundles, the empty one included."""
        return 1 << self.n_items

    @property
    def full_mask(self) -> int:
        """Bitmask of the set of all items."""
        return (1 << self.n_items) - 1

    def __len__(self) -> int:
        return self.n_instances

    # -- valuations -------------------------------------------------------------------------
    def expand(self) -> np.ndarray:
        """Explicit valuation vectors ``(N, n, 2^m)``: ``v_i(S)`` for every bitmask ``S``."""
        if self.n_items > MAX_EXPAND_ITEMS:
            raise InputError(
                f"cannot expand valuations over {self.n_items} items to 2^{self.n_items} bundles "
                f"(limit {MAX_EXPAND_ITEMS})"
            )
        masks = np.arange(self.n_outcomes, dtype=np.int64)
        out = np.zeros((self.n_instances, self.n_agents, self.n_outcomes))
        for j in range(self.n_bids):
            bundle = self.bundles[:, :, j, None]
            contained = (masks & bundle) == bundle
            np.maximum(out, np.where(contained, self.values[:, :, j, None], 0.0), out=out)
        return out

    def outcome_values(self) -> np.ndarray:
        """``(N, n, 2^m)``: value of every agent for every bundle (= :meth:`expand`)."""
        return self.expand()

    def value_of(self, outcomes: np.ndarray) -> np.ndarray:
        """``(N, n)`` value of every agent for its bundle in ``outcomes`` (bitmasks ``(N, n)``)."""
        outcomes = np.asarray(outcomes, dtype=np.int64)
        out = np.zeros(outcomes.shape)
        for j in range(self.n_bids):
            bundle = self.bundles[:, :, j]
            contained = (outcomes & bundle) == bundle
            np.maximum(out, np.where(contained, self.values[:, :, j], 0.0), out=out)
        return out

    # -- slicing ----------------------------------------------------------------------------
    def without_agent(self, agent: int) -> XORProfiles:
        """``x_{-i}``: the profiles of all agents but ``agent``, others in original order."""
        agent = _check_int("agent", agent, 0, self.n_agents - 1)
        keep = [a for a in range(self.n_agents) if a != agent]
        return XORProfiles(self.bundles[:, keep], self.values[:, keep], self.n_items)

    def take(self, index: Any) -> XORProfiles:
        """A sub-batch (``index``: slice, integer array or boolean mask over instances)."""
        bundles = self.bundles[index]
        if bundles.ndim == 2:  # a single integer index
            return XORProfiles(bundles[None], self.values[index][None], self.n_items)
        return XORProfiles(bundles, self.values[index], self.n_items)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"bundles": self.bundles, "values": self.values, "n_items": np.array(self.n_items)}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> XORProfiles:
        return cls(np.asarray(arrays["bundles"]), np.asarray(arrays["values"]), int(arrays["n_items"]))

    # -- bridge to the core data model ------------------------------------------------------
    def to_auction(self, k: int, name: str | None = None):
        """Instance ``k`` as a :class:`mechopt.CombinatorialAuction`.

        Items are named ``"0" .. "m-1"`` (bit ``g`` ↔ item ``str(g)``), bidders ``"0" .. "n-1"``
        (agent index), bid ids ``"i/j"``.
        """
        from mechopt.auction import CombinatorialAuction

        items = [str(g) for g in range(self.n_items)]
        bids = {
            str(i): [
                ([str(g) for g in range(self.n_items) if (int(self.bundles[k, i, j]) >> g) & 1],
                 float(self.values[k, i, j]))
                for j in range(self.n_bids)
            ]
            for i in range(self.n_agents)
        }
        return CombinatorialAuction.from_bids(items, bids, name=name)

    @staticmethod
    def bundle_mask(items) -> int:
        """Bitmask of a bundle given as item names ``"0" .. "m-1"`` (as in :meth:`to_auction`)."""
        return sum(1 << int(g) for g in items)

    @classmethod
    def from_auctions(cls, auctions) -> XORProfiles:
        """Profiles of auctions with items ``"0" .. "m-1"`` and the same number of bidders and
        bids per bidder (the inverse of :meth:`to_auction`)."""
        auctions = list(auctions)
        if not auctions:
            raise InputError("no auctions given")
        m = len(auctions[0].items)
        names = {str(g) for g in range(m)}
        if any(set(a.items) != names for a in auctions):
            raise InputError(f"every auction must sell the items named 0 .. {m - 1}")
        bundles = [[[cls.bundle_mask(bid.items) for bid in bidder.bids] for bidder in a.bidders] for a in auctions]
        values = [[[bid.value for bid in bidder.bids] for bidder in a.bidders] for a in auctions]
        try:
            return cls(np.array(bundles, dtype=np.int64), np.array(values, dtype=np.float64), m)
        except ValueError as exc:
            raise InputError(f"auctions do not share one shape (agents x bids): {exc}") from None


@dataclass(frozen=True)
class AssignmentProfiles:
    """``N`` assignment instances: ``values`` ``(N, n, n_items)``, ``n_items ≥ n``.

    An outcome of an agent is an item index; each agent gets exactly one item.
    """

    values: np.ndarray
    kind: ClassVar[str] = "assignment"

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim != 3:
            raise InputError(f"assignment values must have shape (instances, agents, items), got {values.shape}")
        if values.shape[2] < values.shape[1]:
            raise InputError(
                f"an assignment needs at least as many items as agents, got {values.shape[1]} "
                f"agents and {values.shape[2]} items"
            )
        if not np.all(np.isfinite(values)):
            raise InputError("assignment values must be finite (found NaN or infinity)")
        if values.size and values.min() < 0:
            raise InputError(f"assignment values must be non-negative, found {values.min():g}")
        values.setflags(write=False)
        object.__setattr__(self, "values", values)

    @property
    def n_instances(self) -> int:
        return self.values.shape[0]

    @property
    def n_agents(self) -> int:
        return self.values.shape[1]

    @property
    def n_items(self) -> int:
        return self.values.shape[2]

    @property
    def n_outcomes(self) -> int:
        """Outcomes of one agent: the ``n_items`` items."""
        return self.n_items

    def __len__(self) -> int:
        return self.n_instances

    def outcome_values(self) -> np.ndarray:
        """``(N, n, n_items)``: the values themselves."""
        return self.values

    def value_of(self, outcomes: np.ndarray) -> np.ndarray:
        """``(N, n)`` value of every agent for its item in ``outcomes`` (indices ``(N, n)``)."""
        outcomes = np.asarray(outcomes, dtype=np.int64)
        return np.take_along_axis(self.values, outcomes[:, :, None], axis=2)[:, :, 0]

    def without_agent(self, agent: int) -> AssignmentProfiles:
        """``x_{-i}``: the other agents' rows (all items kept), in original order."""
        agent = _check_int("agent", agent, 0, self.n_agents - 1)
        keep = [a for a in range(self.n_agents) if a != agent]
        return AssignmentProfiles(self.values[:, keep])

    def take(self, index: Any) -> AssignmentProfiles:
        values = self.values[index]
        return AssignmentProfiles(values[None] if values.ndim == 2 else values)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"values": self.values}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> AssignmentProfiles:
        return cls(np.asarray(arrays["values"]))


# --------------------------------------------------------------------------------------
# domains (type distributions)
# --------------------------------------------------------------------------------------
class Domain(Protocol):
    """A type distribution with its outcome rules and baseline payment rules."""

    name: ClassVar[str]
    rules: ClassVar[tuple[str, ...]]
    payments: ClassVar[tuple[str, ...]]

    @property  # read-only, as in the frozen dataclasses below
    def n_agents(self) -> int: ...

    def sample(self, size: int, seed: Seed = None) -> Any: ...
    def settings(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SingleItemAuction:
    """One item, ``n_agents`` agents with values i.i.d. U[0,1] (paper §6.2).

    Draws: ``values = rng.random((size, n))``.  Returned as :class:`XORProfiles` with
    ``m = 1``, ``b = 1``: outcome 1 = the item, 0 = nothing.
    """

    n_agents: int = 2
    name: ClassVar[str] = "single-item"
    rules: ClassVar[tuple[str, ...]] = ("optimal",)
    payments: ClassVar[tuple[str, ...]] = ("second-price", "vcg")

    def __post_init__(self) -> None:
        _check_int("number of agents", self.n_agents, 2)

    def sample(self, size: int, seed: Seed = None) -> XORProfiles:
        size = _check_size(size)
        rng = _rng(seed)
        values = rng.random((size, self.n_agents))
        bundles = np.ones((size, self.n_agents, 1), dtype=np.int64)
        return XORProfiles(bundles, values[:, :, None], 1)

    def settings(self) -> dict[str, Any]:
        return {"domain": self.name, "n_agents": self.n_agents}


@dataclass(frozen=True)
class MultiMindedCA:
    """Multi-minded combinatorial auction (paper §6.3.1; docs/payment-rules.md#multi-minded-auction).

    Each of the ``n_bundles`` (b) bundles of an agent starts with one uniformly random item
    and keeps adding a uniformly random remaining item with probability ``alpha`` (decay; stop
    with probability 1 − α or when all ``n_items`` (m) items are in), so
    P(|S| = s) = α^(s−1)(1 − α) for s < m and α^(m−1) for s = m.  Item weights: common
    ``c ~ U[0,1]^m`` per instance and private ``p_i ~ U[0,1]^m`` per agent; a bundle's value is
    ``((β c + (1 − β) p_i) · 1_S / m)^γ`` ∈ [0, 1]; ``gamma`` > 1 makes items complements.
    The XOR semantics (free disposal) make the valuation monotone.

    Defaults: m = 5, b = 3, α = 0.75, β = 0.5, γ = 1 — the paper's setting (it varies n
    from 2 to 6 and γ ∈ {0.5, 1.0, 1.5}).  The plain-text paper lost the value of α; with
    α = 0.75 the VCG baseline under the greedy rule reproduces the paper's Table 2 (accuracy,
    regret, IR violation) to within sampling noise for every n and γ, while CATS' decay
    value α = 0.55 gives 2-3x the paper's regret at γ = 1 (see README).

    Draws, in this order: ``keys = rng.random((size, n, b, m))`` (the item order of each
    bundle: items are added by increasing key), ``grow = rng.random((size, n, b, m-1)) < α``
    (bundle size = 1 + the number of leading ``True``), ``common = rng.random((size, m))``,
    ``private = rng.random((size, n, m))``.
    """

    n_agents: int = 6
    n_items: int = 5
    n_bundles: int = 3
    alpha: float = 0.75
    beta: float = 0.5
    gamma: float = 1.0
    name: ClassVar[str] = "mmca"
    rules: ClassVar[tuple[str, ...]] = ("optimal", "greedy")
    payments: ClassVar[tuple[str, ...]] = ("vcg",)

    def __post_init__(self) -> None:
        _check_int("number of agents", self.n_agents, 2)
        _check_int("number of items", self.n_items, 1, MAX_EXPAND_ITEMS)
        _check_int("number of bundles per agent", self.n_bundles, 1)
        object.__setattr__(self, "alpha", _check_real("alpha (decay)", self.alpha, 0.0, 1.0))
        object.__setattr__(self, "beta", _check_real("beta (common-value weight)", self.beta, 0.0, 1.0))
        object.__setattr__(self, "gamma", _check_real("gamma (complementarity)", self.gamma, 0.0, None, low_open=True))

    def sample(self, size: int, seed: Seed = None) -> XORProfiles:
        size = _check_size(size)
        rng = _rng(seed)
        n, m, b = self.n_agents, self.n_items, self.n_bundles
        keys = rng.random((size, n, b, m))
        grow = rng.random((size, n, b, m - 1)) < self.alpha
        common = rng.random((size, m))
        private = rng.random((size, n, m))
        sizes = 1 + np.cumprod(grow, axis=-1).sum(axis=-1)  # (size, n, b) in 1..m
        rank = np.argsort(np.argsort(keys, axis=-1), axis=-1)  # position of item g in the order
        member = rank < sizes[..., None]  # (size, n, b, m)
        bundles = (member.astype(np.int64) << np.arange(m, dtype=np.int64)).sum(axis=-1)
        weights = self.beta * common[:, None, :] + (1.0 - self.beta) * private  # (size, n, m)
        total = np.einsum("knbg,kng->knb", member.astype(np.float64), weights)
        values = np.clip(total / m, 0.0, 1.0) ** self.gamma
        return XORProfiles(bundles, values, m)

    def bundle_size_law(self) -> np.ndarray:
        """P(|S| = s) for s = 1..m under the decay law (index s − 1)."""
        m, a = self.n_items, self.alpha
        p = np.array([a ** (s - 1) * (1 - a) for s in range(1, m)] + [a ** (m - 1)])
        return p

    def settings(self) -> dict[str, Any]:
        return {
            "domain": self.name,
            "n_agents": self.n_agents,
            "n_items": self.n_items,
            "n_bundles": self.n_bundles,
            "alpha": self.alpha,
            "beta": self.beta,
            "gamma": self.gamma,
        }


@dataclass(frozen=True)
class AssignmentProblem:
    """Assignment of ``n_agents`` items to ``n_agents`` agents, values i.i.d. U[0,1] (paper §6.4).

    Draws: ``values = rng.random((size, n, n))``.
    """

    n_agents: int = 3
    name: ClassVar[str] = "assignment"
    rules: ClassVar[tuple[str, ...]] = ("egalitarian", "optimal")
    payments: ClassVar[tuple[str, ...]] = ("vcg", "tot-vcg", "eg-vcg", "vcg-paper")

    def __post_init__(self) -> None:
        _check_int("number of agents", self.n_agents, 2)

    def sample(self, size: int, seed: Seed = None) -> AssignmentProfiles:
        size = _check_size(size)
        rng = _rng(seed)
        return AssignmentProfiles(rng.random((size, self.n_agents, self.n_agents)))

    def settings(self) -> dict[str, Any]:
        return {"domain": self.name, "n_agents": self.n_agents}


#: domain name -> class
DOMAINS: dict[str, type] = {
    SingleItemAuction.name: SingleItemAuction,
    MultiMindedCA.name: MultiMindedCA,
    AssignmentProblem.name: AssignmentProblem,
}


def make_domain(name: str, **settings: Any):
    """The domain called ``name`` with the given settings (unknown names/settings: ValueError).

    Settings that a domain does not have are an error, so a typo is never silently ignored.
    """
    try:
        cls = DOMAINS[name]
    except KeyError:
        raise InputError(f"unknown domain {name!r} (choose from {', '.join(DOMAINS)})") from None
    import dataclasses

    known = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise InputError(f"domain {name!r} has no setting {unknown[0]!r} (it has {', '.join(sorted(known))})")
    return cls(**settings)
