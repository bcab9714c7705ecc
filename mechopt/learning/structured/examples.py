"""What a structured model hands the learner: the other agents' reports x_{-1} (explicit
vectors or compact XOR bids), agent-centred :class:`Examples` and the kernel-row cache
:class:`RowCache` (see :mod:`mechopt.learning.structured.base`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mechopt.domains.xor import all_bundles, expand_xor, popcount, xor_inner, xor_terms

__all__ = ["BaseVectors", "DenseBase", "XorBase", "base_from_arrays", "Examples", "RowCache"]

# --------------------------------------------------------------------------------------
# the other agents' reports x_{-1}: explicit vectors or compact XOR bids
# --------------------------------------------------------------------------------------
class BaseVectors(ABC):
    """x_{-1} of ℓ examples, with inner products restricted to bundles disjoint from a set.

    ``exclude`` (an item bitmask) is the restriction of attribute map φ2: only the entries
    of bundles disjoint from the outcome count.  Exclusion is meaningful for combinatorial
    data only; dense assignment data ignores it.
    """

    @property
    @abstractmethod
    def n(self) -> int: ...

    @abstractmethod
    def take(self, rows: np.ndarray) -> BaseVectors: ...

    @abstractmethod
    def inner(self, rows: np.ndarray, other: BaseVectors, exclude: int = 0) -> np.ndarray:
        """(len(rows), other.n): ⟨x_{rows}, x'_k⟩ restricted by ``exclude``."""

    @abstractmethod
    def sqnorm(self, exclude: int = 0) -> np.ndarray:
        """(n,): ‖x_k‖² restricted by ``exclude``."""

    @abstractmethod
    def arrays(self) -> dict[str, np.ndarray]: ...


class DenseBase(BaseVectors):
    """Explicit vectors ``X`` of shape (ℓ, agents, width); ``width`` = 2^m for auctions.

    For auctions, ``exclude`` keeps the columns of bundles S with S ∩ E = ∅.
    """

    def __init__(self, X: np.ndarray, combinatorial: bool = True, compact: XorBase | None = None) -> None:
        X = np.asarray(X, dtype=float)
        if X.ndim != 3:
            raise ValueError(f"dense base vectors need shape (examples, agents, width), got {X.shape}")
        self.X = X
        self.combinatorial = combinatorial
        self.compact = compact  # the XOR bids X was expanded from (smaller on disk)
        self._flat = X.reshape(X.shape[0], -1)
        self._col_sq = (X**2).sum(axis=1)  # (ℓ, width): squared entries summed over agents

    @property
    def n(self) -> int:
        return self.X.shape[0]

    def take(self, rows):
        rows = np.asarray(rows)
        compact = None if self.compact is None else self.compact.take(rows)
        return DenseBase(self.X[rows], self.combinatorial, compact)

    def _mask(self, exclude: int) -> np.ndarray | None:
        if not exclude or not self.combinatorial:
            return None
        return ((all_bundles_width(self.X.shape[2]) & exclude) == 0).astype(float)

    def inner(self, rows, other, exclude=0):
        if not isinstance(other, DenseBase):
            raise TypeError("cannot mix explicit and compact base vectors")
        a = self.X[np.asarray(rows)]
        mask = self._mask(exclude)
        if mask is not None:
            a = a * mask
        return a.reshape(a.shape[0], -1) @ other._flat.T

    def sqnorm(self, exclude=0):
        mask = self._mask(exclude)
        if mask is None:
            return self._col_sq.sum(axis=1)
        return self._col_sq @ mask

    def sqnorm_all_codes(self) -> np.ndarray:
        """(ℓ, 2^m): ‖x_k‖² restricted to the bundles disjoint from each bundle o (φ2)."""
        width = self.X.shape[2]
        s = all_bundles_width(width)
        disjoint = ((s[:, None] & s[None, :]) == 0).astype(float)  # (S, o)
        return self._col_sq @ disjoint

    def arrays(self):
        if self.compact is not None:
            return self.compact.arrays()
        return {"X": self.X}


def all_bundles_width(width: int) -> np.ndarray:
    m = int(width).bit_length() - 1
    if (1 << m) != width:
        raise ValueError(f"width {width} is not a power of two")
    return all_bundles(m)


class XorBase(BaseVectors):
    """Compact x_{-1}: XOR bids (ℓ, agents, b) over m items; inner products by Lemma 2."""

    def __init__(self, bundles: np.ndarray, values: np.ndarray, m: int) -> None:
        self.bundles = np.asarray(bundles, dtype=np.int64)
        self.values = np.asarray(values, dtype=float)
        self.m = int(m)
        self._terms = [xor_terms(self.bundles[:, a], self.values[:, a]) for a in range(self.bundles.shape[1])]

    @property
    def n(self) -> int:
        return self.bundles.shape[0]

    def take(self, rows):
        rows = np.asarray(rows)
        return XorBase(self.bundles[rows], self.values[rows], self.m)

    def inner(self, rows, other, exclude=0):
        if not isinstance(other, XorBase):
            raise TypeError("cannot mix explicit and compact base vectors")
        rows = np.asarray(rows)
        out = np.zeros((len(rows), other.n))
        for (ma, ca), (mb, cb) in zip(self._terms, other._terms, strict=True):
            out += xor_inner((ma[rows], ca[rows]), (mb, cb), self.m, exclude)
        return out

    def sqnorm(self, exclude=0):
        out = np.zeros(self.n)
        free = self.m - int(popcount(np.int64(exclude)))
        for ma, ca in self._terms:
            c = np.where((ma & exclude) != 0, 0.0, ca) if exclude else ca
            union = ma[:, :, None] | ma[:, None, :]
            out += np.einsum("at,atu,au->a", c, np.ldexp(1.0, free - popcount(union)), c)
        return out

    def arrays(self):
        return {"bundles": self.bundles, "values": self.values, "m": np.array(self.m)}


def base_from_arrays(arrays: dict[str, np.ndarray], combinatorial: bool, dense: bool) -> BaseVectors:
    """Inverse of :meth:`BaseVectors.arrays`; compact bids are expanded when ``dense``."""
    if "X" in arrays:
        return DenseBase(arrays["X"], combinatorial)
    compact = XorBase(arrays["bundles"], arrays["values"], int(arrays["m"]))
    if dense:
        return DenseBase(expand_xor(compact.bundles, compact.values, compact.m), True, compact)
    return compact


# --------------------------------------------------------------------------------------
# examples and the kernel-row cache
# --------------------------------------------------------------------------------------
@dataclass
class Examples:
    """Agent-centred examples: what the learner sees of ℓ type profiles (module docstring)."""

    codes: np.ndarray
    valid: np.ndarray
    values: np.ndarray
    truth: np.ndarray
    scale: np.ndarray
    base: BaseVectors
    null_col: np.ndarray
    memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.codes.shape != self.values.shape or self.codes.shape != self.valid.shape:
            raise ValueError("codes, values and valid must share the shape (examples, candidates)")
        if len(self.truth) != len(self.codes) or self.base.n != len(self.codes):
            raise ValueError("truth, scale and base must have one entry per example")

    @property
    def n(self) -> int:
        return self.codes.shape[0]

    @property
    def n_candidates(self) -> int:
        return self.codes.shape[1]

    @property
    def has_truth(self) -> bool:
        return bool(np.all(self.truth >= 0))

    def take(self, rows: np.ndarray) -> Examples:
        rows = np.asarray(rows)
        return Examples(
            codes=self.codes[rows], valid=self.valid[rows], values=self.values[rows],
            truth=self.truth[rows], scale=self.scale[rows], base=self.base.take(rows),
            null_col=self.null_col[rows],
        )

    def arrays(self, full: bool = True) -> dict[str, np.ndarray]:
        """Arrays for saving; ``full=False`` keeps what prices need (codes, valid, base)."""
        out = {"codes": self.codes, "valid": self.valid}
        if full:
            out.update({"values": self.values, "truth": self.truth, "scale": self.scale, "null_col": self.null_col})
        out.update({f"base_{k}": v for k, v in self.base.arrays().items()})
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], combinatorial: bool, dense: bool = True) -> Examples:
        """Inverse of :meth:`arrays` (missing value/label arrays become zeros / −1)."""
        base = base_from_arrays({k[5:]: v for k, v in arrays.items() if k.startswith("base_")}, combinatorial, dense)
        codes = np.asarray(arrays["codes"], dtype=np.int64)
        n = codes.shape[0]

        def get(name, default, dtype):
            return np.asarray(arrays[name], dtype=dtype) if name in arrays else default

        return cls(
            codes=codes, valid=np.asarray(arrays["valid"], dtype=bool),
            values=get("values", np.zeros(codes.shape), float), truth=get("truth", np.full(n, -1), np.int64),
            scale=get("scale", np.ones(n), float), base=base,
            null_col=get("null_col", np.argmax(codes == 0, axis=1), np.int64),
        )


class RowCache:
    """Kernel rows over all training examples, kept between cutting-plane iterations.

    A row belongs to one atom of a cut (an example and, for φ2, an outcome) and is reused by
    every later separation and Gram update.  Rows live in one growing matrix so that a
    weighted sum over them is a single matrix product; rows beyond ``max_bytes`` are
    recomputed whenever they are needed.
    """

    def __init__(self, width: int, max_bytes: int = 1024 * 2**20) -> None:
        self.width = int(width)
        self.max_rows = max(0, int(max_bytes) // (8 * max(1, self.width)))
        self.data = np.zeros((0, self.width))
        self.slot: dict[tuple, int] = {}
        self.hits = 0
        self.misses = 0

    @property
    def used(self) -> int:
        return len(self.slot)

    def _store(self, keys: list[tuple], rows: np.ndarray) -> None:
        need = self.used + len(keys)
        if need > self.data.shape[0]:
            grown = np.zeros((min(self.max_rows, max(need, 2 * self.data.shape[0], 64)), self.width))
            grown[: self.used] = self.data[: self.used]
            self.data = grown
        start = self.used
        self.data[start:start + len(keys)] = rows
        for i, key in enumerate(keys):
            self.slot[key] = start + i

    def weighted_sum(self, keys: list[tuple], weights: np.ndarray, compute) -> np.ndarray:
        """Σ_i weights[i, :] · row(keys[i]) as a (width, U) array.

        ``compute(missing_keys) -> (len(missing), width)`` supplies rows not cached yet.
        """
        missing = [k for k in dict.fromkeys(keys) if k not in self.slot]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        out = np.zeros((self.width, weights.shape[1]))
        overflow: dict[tuple, np.ndarray] = {}
        if missing:
            rows = compute(missing)
            room = max(0, self.max_rows - self.used)
            if room:
                self._store(missing[:room], rows[:room])
            overflow = dict(zip(missing[room:], rows[room:], strict=True))
        if self.used:
            W = np.zeros((self.used, weights.shape[1]))
            cached = np.array([k in self.slot for k in keys], dtype=bool)
            if cached.any():
                slots = np.array([self.slot[k] for k, c in zip(keys, cached, strict=True) if c], dtype=np.int64)
                np.add.at(W, slots, weights[cached])
                out += self.data[: self.used].T @ W
        if overflow:
            idx = [i for i, k in enumerate(keys) if k in overflow]
            rows = np.stack([overflow[keys[i]] for i in idx])
            out += rows.T @ weights[idx]
        return out
