"""Compact XOR valuations: values of bundles and inner products without the 2^m vector.

A multi-minded agent bids on b bundles B_1..B_b (item bitmasks) with values v_1..v_b; under
XOR semantics with free disposal its valuation is θ(S) = max{v_j : B_j ⊆ S} (0 if none).
The attribute maps φ1 and φ2 of Dütting et al. (EC 2012, §5.1) stack the 2^m-vectors θ of
the other agents; kernels need only their inner products, which Lemma 2 of the paper
(Appendix A; restated in docs/payment-rules.md#xor-inner-products) computes from the bids alone.  With the bids
sorted by value in descending order,

    ⟨θ, θ'⟩ = Σ_{j,k} v_j v'_k Σ_{U ⊆ [j−1], U' ⊆ [k−1]} (−1)^{|U|+|U'|}
              · 2^{m − |B_j ∪ B'_k ∪ ⋃_U B_i ∪ ⋃_{U'} B'_i|}.

Expanding the inner sum once per agent gives 2^b − 1 signed *terms* (mask, coefficient):
θ(S) = Σ_t c_t [M_t ⊆ S], so ⟨θ, θ'⟩ = Σ_{t,t'} c_t c'_{t'} 2^{m − |M_t ∪ M'_{t'}|}.  The
restricted product over the bundles disjoint from an item set E (attribute map φ2, which
zeroes the entries of bundles that intersect the outcome) keeps the terms with M_t ∩ E = ∅
and counts subsets of the m − |E| remaining items.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from mechopt.errors import InputError

__all__ = [
    "popcount",
    "all_bundles",
    "xor_value",
    "expand_xor",
    "xor_terms",
    "xor_inner",
]


def popcount(x: ArrayLike) -> np.ndarray:
    """Number of set bits of each (non-negative) integer."""
    x = np.asarray(x, dtype=np.int64)
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x).astype(np.int64)
    out = np.zeros(x.shape, dtype=np.int64)  # pragma: no cover - numpy < 2
    y = x.copy()
    while np.any(y):
        out += y & 1
        y >>= 1
    return out


def all_bundles(m: int) -> np.ndarray:
    """The 2^m bundles of m items as bitmasks, in the order dec(S) (the paper's index)."""
    if m < 0 or m > 30:
        raise InputError(f"number of items must be in 0..30, got {m}")
    return np.arange(1 << m, dtype=np.int64)


def xor_value(bundles: np.ndarray, values: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """θ(S) for XOR bids ``bundles``/``values`` of shape (..., b) and bundles ``outcome``.

    ``outcome`` broadcasts against the leading dimensions of ``bundles``; the result has
    the broadcast shape (one value per outcome).
    """
    bundles = np.asarray(bundles, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    s = np.asarray(outcome, dtype=np.int64)[..., None]
    contained = (bundles & ~s) == 0
    return np.max(np.where(contained, values, 0.0), axis=-1, initial=0.0)


def expand_xor(bundles: np.ndarray, values: np.ndarray, m: int) -> np.ndarray:
    """The explicit valuation vectors (..., 2^m) of XOR bids of shape (..., b)."""
    bundles = np.asarray(bundles, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    s = all_bundles(m)
    contained = (bundles[..., :, None] & ~s) == 0  # (..., b, 2^m)
    return np.max(np.where(contained, values[..., :, None], 0.0), axis=-2, initial=0.0)


def xor_terms(bundles: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed terms (masks, coefficients) with θ(S) = Σ_t c_t [M_t ⊆ S].

    Input shape (..., b); output shape (..., 2^b − 1).  Bids are sorted by value in
    descending order (Lemma 2); term (j, U) has mask B_j ∪ ⋃_{i∈U} B_i over U ⊆ [j−1] and
    coefficient (−1)^{|U|} v_j.
    """
    bundles = np.asarray(bundles, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    order = np.argsort(-values, axis=-1, kind="stable")
    b_sorted = np.take_along_axis(bundles, order, axis=-1)
    v_sorted = np.take_along_axis(values, order, axis=-1)
    b = bundles.shape[-1]
    masks, coefs = [], []
    for j in range(b):
        for subset in range(1 << j):
            mask = b_sorted[..., j].copy()
            sign = 1.0
            for i in range(j):
                if subset >> i & 1:
                    mask |= b_sorted[..., i]
                    sign = -sign
            masks.append(mask)
            coefs.append(sign * v_sorted[..., j])
    if not masks:
        shape = bundles.shape[:-1] + (0,)
        return np.zeros(shape, dtype=np.int64), np.zeros(shape)
    return np.stack(masks, axis=-1), np.stack(coefs, axis=-1)


def xor_inner(
    terms_a: tuple[np.ndarray, np.ndarray],
    terms_b: tuple[np.ndarray, np.ndarray],
    m: int,
    exclude: int = 0,
    chunk: int = 2_000_000,
) -> np.ndarray:
    """Pairwise ⟨θ_a, θ_b⟩ of valuations given by their :func:`xor_terms`.

    ``terms_a`` has shape (Na, T), ``terms_b`` (Nb, T'); the result is (Na, Nb).  With
    ``exclude`` = E (an item bitmask) the product runs over the bundles disjoint from E only
    (attribute map φ2).  Memory is bounded by ``chunk`` term pairs at a time.
    """
    ma, ca = (np.asarray(t) for t in terms_a)
    mb, cb = (np.asarray(t) for t in terms_b)
    if exclude:
        ca = np.where((ma & exclude) != 0, 0.0, ca)
        cb = np.where((mb & exclude) != 0, 0.0, cb)
    free = m - int(popcount(np.int64(exclude)))
    na, ta = ma.shape
    nb, tb = mb.shape
    out = np.zeros((na, nb))
    if na == 0 or nb == 0 or ta == 0 or tb == 0:
        return out
    step = max(1, chunk // max(1, nb * ta * tb))
    for start in range(0, na, step):
        sl = slice(start, start + step)
        union = ma[sl, None, :, None] | mb[None, :, None, :]
        weight = np.ldexp(1.0, free - popcount(union))
        out[sl] = np.einsum("at,abtu,bu->ab", ca[sl], weight, cb, optimize=True)
    return out
