"""Batched buyer valuations in torch (device-agnostic; docs/menus.md#buyers).

A :class:`Valuation` draws a batch of N buyers and values menu elements for them:

- :meth:`Valuation.bundle_values` — deterministic bundles ``(K, m)`` in {0, 1} -> ``(N, K)``;
- :meth:`Valuation.lottery_values` — lotteries ``(K, m)``: item i is allocated with
  probability ``x_ki``, independently across items; the exact expected value ``(N, K)``;
- :meth:`Valuation.relaxed_values` — a smooth relaxation used to train deterministic
  bundles; it equals :meth:`bundle_values` at 0/1 points.

Families: ``additive`` U[0,1] per item; ``unit-demand`` U[0,1] per item, a bundle is worth
its best item; ``triangle`` additive with values uniform on the simplex
{v >= 0, sum v <= 1} (the triangle (0,0),(1,0),(0,1) for m = 2); ``xor`` with ``a`` atoms
(S_j, p_j), S_j a uniformly random non-empty subset and p_j ~ U[0,1],
v(S) = max{p_j : S_j ⊆ S}; ``generated``: XOR bidders of
:func:`mechopt.generators.generate_auction` (one bidder's XOR bids become one buyer's atoms,
values divided by the instance's highest bid, so they lie in [0, 1]).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import torch
from torch import Tensor

from mechopt.errors import InputError
from mechopt.menus.config import MAX_LOTTERY_XOR_ITEMS, MenuConfig

__all__ = [
    "ItemValues",
    "XORAtoms",
    "Valuation",
    "Additive",
    "UnitDemand",
    "Triangle",
    "XORValuation",
    "GeneratedXOR",
    "make_valuation",
    "all_bundles",
]

_LOG_FLOOR = 1e-30


@dataclass(frozen=True)
class ItemValues:
    """N buyers with one value per item: ``values`` of shape ``(N, m)``."""

    values: Tensor

    @property
    def n(self) -> int:
        return int(self.values.shape[0])

    def to(self, device: torch.device | str) -> ItemValues:
        return ItemValues(self.values.to(device))

    def take(self, index: Tensor) -> ItemValues:
        return ItemValues(self.values[index])


@dataclass(frozen=True)
class XORAtoms:
    """N XOR buyers with ``a`` atoms each: ``bundles`` ``(N, a, m)`` in {0, 1} and
    ``values`` ``(N, a)``.  Padding atoms have value 0 (they never raise a maximum)."""

    bundles: Tensor
    values: Tensor

    @property
    def n(self) -> int:
        return int(self.values.shape[0])

    def to(self, device: torch.device | str) -> XORAtoms:
        return XORAtoms(self.bundles.to(device), self.values.to(device))

    def take(self, index: Tensor) -> XORAtoms:
        return XORAtoms(self.bundles[index], self.values[index])


Buyers = ItemValues | XORAtoms
#: the kind of buyers a valuation draws and values
B = TypeVar("B", ItemValues, XORAtoms)


def all_bundles(n_items: int, *, device=None, dtype=torch.float32) -> Tensor:
    """All 2^m bundles as a ``(2^m, m)`` 0/1 tensor; row r holds the bits of r (row 0 = ∅)."""
    codes = torch.arange(2**n_items, device=device).unsqueeze(1)
    bits = torch.arange(n_items, device=device).unsqueeze(0)
    return ((codes >> bits) & 1).to(dtype)


def _check_allocation(alloc: Tensor, n_items: int) -> None:
    if alloc.dim() != 2 or alloc.shape[1] != n_items:
        raise ValueError(f"menu allocation must have shape (K, {n_items}), got {tuple(alloc.shape)}")


class Valuation(ABC, Generic[B]):
    """A distribution of one buyer's valuation over bundles of ``n_items`` items."""

    name: str = ""
    #: drawing a batch is cheap enough to do every training step
    cheap_to_sample: bool = True

    def __init__(self, n_items: int, *, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        if n_items < 1:
            raise InputError(f"number of items must be >= 1, got {n_items}")
        self.n_items = int(n_items)
        self.device = torch.device(device)
        self.dtype = dtype

    @abstractmethod
    def sample(self, n: int, generator: torch.Generator) -> B:
        """Draw ``n`` buyers (the generator must live on :attr:`device`)."""

    @abstractmethod
    def bundle_values(self, buyers: B, bundles: Tensor) -> Tensor:
        """Values ``(N, K)`` of deterministic bundles ``(K, m)`` with 0/1 entries."""

    @abstractmethod
    def lottery_values(self, buyers: B, probs: Tensor) -> Tensor:
        """Exact expected values ``(N, K)`` of lotteries ``(K, m)`` (independent items)."""

    def relaxed_values(self, buyers: B, probs: Tensor) -> Tensor:
        """Smooth values ``(N, K)`` of relaxed bundles ``(K, m)``; exact at 0/1 points."""
        return self.lottery_values(buyers, probs)

    def grand_values(self, buyers: B) -> Tensor:
        """Value ``(N,)`` of the bundle of all items."""
        ones = torch.ones(1, self.n_items, device=self.device, dtype=self.dtype)
        return self.bundle_values(buyers, ones)[:, 0]

    def describe(self) -> str:
        return f"{self.name} m={self.n_items}"

    def _rand(self, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
        return torch.rand(shape, generator=generator, device=self.device, dtype=self.dtype)


class Additive(Valuation[ItemValues]):
    """Additive buyer with i.i.d. U[0,1] item values: v(x) = Σ_i x_i v_i."""

    name = "additive"

    def sample(self, n: int, generator: torch.Generator) -> ItemValues:
        return ItemValues(self._rand((n, self.n_items), generator))

    def bundle_values(self, buyers: ItemValues, bundles: Tensor) -> Tensor:
        _check_allocation(bundles, self.n_items)
        return buyers.values @ bundles.T

    def lottery_values(self, buyers: ItemValues, probs: Tensor) -> Tensor:
        _check_allocation(probs, self.n_items)
        return buyers.values @ probs.T


class Triangle(Additive):
    """Additive buyer with values uniform on the simplex {v >= 0, Σ v <= 1} (for m = 2 the
    triangle (0,0), (1,0), (0,1)): normalized exponential spacings, last one dropped."""

    name = "triangle"

    def sample(self, n: int, generator: torch.Generator) -> ItemValues:
        e = -torch.log1p(-self._rand((n, self.n_items + 1), generator))
        return ItemValues((e / e.sum(dim=1, keepdim=True))[:, : self.n_items])


class UnitDemand(Valuation[ItemValues]):
    """Unit-demand buyer with i.i.d. U[0,1] item values: v(S) = max_{i ∈ S} v_i.

    Lottery value (items allocated independently): with the buyer's items sorted by value,
    E[max] = Σ_r v_(r) x_(r) Π_{s < r} (1 − x_(s)).
    """

    name = "unit-demand"

    def sample(self, n: int, generator: torch.Generator) -> ItemValues:
        return ItemValues(self._rand((n, self.n_items), generator))

    def bundle_values(self, buyers: ItemValues, bundles: Tensor) -> Tensor:
        _check_allocation(bundles, self.n_items)
        # (N, 1, m) * (1, K, m) -> max over items
        return (buyers.values.unsqueeze(1) * bundles.unsqueeze(0)).amax(dim=2)

    def lottery_values(self, buyers: ItemValues, probs: Tensor) -> Tensor:
        _check_allocation(probs, self.n_items)
        v_sorted, order = buyers.values.sort(dim=1, descending=True)  # (N, m)
        x = probs.T[order]  # (N, m, K): allocation probability of the r-th best item
        miss = torch.cumprod(1 - x, dim=1)
        before = torch.cat([torch.ones_like(miss[:, :1]), miss[:, :-1]], dim=1)
        return (v_sorted.unsqueeze(2) * x * before).sum(dim=1)


class XORValuation(Valuation[XORAtoms]):
    """XOR buyer with ``a`` atoms: S_j uniform over non-empty subsets, p_j ~ U[0,1];
    v(S) = max{p_j : S_j ⊆ S} (docs/menus.md#buyers).

    ``relaxed_values`` replaces "S_j ⊆ S" by Π_{i ∈ S_j} x_i (exact at 0/1 points);
    ``lottery_values`` is exact: it enumerates the 2^m bundles (m ≤ 12).
    """

    name = "xor"

    def __init__(self, n_items: int, n_atoms: int, **kwargs) -> None:
        super().__init__(n_items, **kwargs)
        if n_atoms < 1:
            raise InputError(f"number of atoms must be >= 1, got {n_atoms}")
        self.n_atoms = int(n_atoms)
        self._bundles: Tensor | None = None

    def describe(self) -> str:
        return f"xor m={self.n_items} a={self.n_atoms}"

    def sample(self, n: int, generator: torch.Generator) -> XORAtoms:
        shape = (n, self.n_atoms, self.n_items)
        bundles = self._rand(shape, generator) < 0.5
        empty = ~bundles.any(dim=2)
        while bool(empty.any()):  # rejection: uniform over the 2^m - 1 non-empty subsets
            redraw = self._rand(shape, generator) < 0.5
            bundles = torch.where(empty.unsqueeze(2), redraw, bundles)
            empty = ~bundles.any(dim=2)
        return XORAtoms(bundles.to(self.dtype), self._rand((n, self.n_atoms), generator))

    def bundle_values(self, buyers: XORAtoms, bundles: Tensor) -> Tensor:
        _check_allocation(bundles, self.n_items)
        # missing[n, j, k] = number of items of atom j that bundle k lacks
        missing = torch.einsum("nam,km->nak", buyers.bundles, 1 - bundles)
        contained = (missing < 0.5).to(buyers.values.dtype)
        return (buyers.values.unsqueeze(2) * contained).amax(dim=1)

    def relaxed_values(self, buyers: XORAtoms, probs: Tensor) -> Tensor:
        _check_allocation(probs, self.n_items)
        log_x = torch.log(probs.clamp_min(_LOG_FLOOR))
        contained = torch.exp(torch.einsum("nam,km->nak", buyers.bundles, log_x))
        return (buyers.values.unsqueeze(2) * contained).amax(dim=1)

    def lottery_values(self, buyers: XORAtoms, probs: Tensor) -> Tensor:
        _check_allocation(probs, self.n_items)
        if self.n_items > MAX_LOTTERY_XOR_ITEMS:
            raise InputError(
                f"exact lottery values of XOR buyers need m <= {MAX_LOTTERY_XOR_ITEMS} items"
            )
        if self._bundles is None or self._bundles.device != probs.device:
            self._bundles = all_bundles(self.n_items, device=probs.device, dtype=probs.dtype)
        b = self._bundles.to(probs.dtype)  # (B, m)
        values = self.bundle_values(buyers, b)  # (N, B)
        # P[k, s] = Π_i x_ki^{b_si} (1 - x_ki)^{1 - b_si}
        p = probs.unsqueeze(1)  # (K, 1, m)
        prob = (p * b.unsqueeze(0) + (1 - p) * (1 - b.unsqueeze(0))).prod(dim=2)  # (K, B)
        return values @ prob.T


class GeneratedXOR(XORValuation):
    """XOR buyers drawn from :func:`mechopt.generators.generate_auction`.

    Each instance (``bids_per_instance`` bids on ``n_items`` items, seed drawn from the
    generator) contributes its bidders as buyers: a bidder's XOR bids are the buyer's atoms,
    values divided by the instance's highest bid.  Buyers with fewer atoms than the widest
    one are padded with value-0 atoms.  Drawing is done in Python on the CPU, so training
    resamples batches from a fixed pool (``MenuConfig.train_pool``).
    """

    name = "generated"
    cheap_to_sample = False

    def __init__(self, n_items: int, distribution: str, bids_per_instance: int, **kwargs) -> None:
        super().__init__(n_items, 1, **kwargs)
        self.distribution = distribution
        self.bids_per_instance = int(bids_per_instance)

    def describe(self) -> str:
        return f"generated {self.distribution} m={self.n_items}"

    def sample(self, n: int, generator: torch.Generator) -> XORAtoms:
        from mechopt.generators import generate_auction

        buyers: list[list[tuple[list[int], float]]] = []
        while len(buyers) < n:
            seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator, device=self.device))
            auction = generate_auction(
                self.distribution, n_items=self.n_items, n_bids=self.bids_per_instance, seed=seed
            )
            top = max(bid.value for _, bid in auction.iter_bids())
            index = {item: i for i, item in enumerate(auction.items)}
            for bidder in auction.bidders:
                atoms = [([index[g] for g in bid.items], bid.value / top if top > 0 else 0.0)
                         for bid in bidder.bids]
                buyers.append(atoms)
        buyers = buyers[:n]
        width = max(len(atoms) for atoms in buyers)
        bundles = torch.zeros(n, width, self.n_items, dtype=self.dtype)
        values = torch.zeros(n, width, dtype=self.dtype)
        for i, atoms in enumerate(buyers):
            for j, (items, value) in enumerate(atoms):
                bundles[i, j, items] = 1.0
                values[i, j] = value
        return XORAtoms(bundles.to(self.device), values.to(self.device))


def make_valuation(config: MenuConfig, device: torch.device | str = "cpu") -> Valuation:
    """The valuation a config names, on ``device`` with the config's dtype."""
    dtype = torch.float64 if config.dtype == "float64" else torch.float32
    common: dict[str, Any] = dict(device=device, dtype=dtype)
    if config.valuation == "additive":
        return Additive(config.n_items, **common)
    if config.valuation == "unit-demand":
        return UnitDemand(config.n_items, **common)
    if config.valuation == "triangle":
        return Triangle(config.n_items, **common)
    if config.valuation == "xor":
        return XORValuation(config.n_items, config.n_atoms, **common)
    if config.valuation == "generated":
        return GeneratedXOR(config.n_items, config.distribution, config.bids_per_instance, **common)
    raise InputError(f"unknown valuation {config.valuation!r}")  # pragma: no cover - config checks
