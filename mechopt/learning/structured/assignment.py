"""The structured model of the assignment problem: ψ(x_{-1}, j) and the leximin attribute map
(see :mod:`mechopt.learning.structured.base`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from mechopt.errors import InputError
from mechopt.learning.structured.base import (
    StructuredModel,
    _agent_outcomes,
    _check_null_loss,
    _sort_and_scale,
)
from mechopt.learning.structured.examples import DenseBase, Examples

__all__ = ["ASSIGNMENT_ATTRIBUTES", "AssignmentModel", "leximin_attributes"]

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
            raise InputError(f"unknown assignment attribute map {self.attribute!r} "
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
            raise InputError("assignment profiles need values of shape (instances, agents, items)")
        N, n, items = values.shape
        truth = _agent_outcomes(outcomes, N, n, agent, items, f"item indices in 0..{items - 1}")
        return self._build(values[:, [a for a in range(n) if a != agent]], values[:, agent], truth)

    def price_examples(self, others) -> Examples:
        """Examples of the other agents' values x_{-i} only (for the price function)."""
        values = np.asarray(others.values, dtype=float)
        if values.ndim != 3:
            raise InputError("assignment profiles need values of shape (instances, agents, items)")
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
        assert isinstance(ex.base, DenseBase)  # assignment examples hold their vectors densely
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
