"""The structured model of combinatorial auctions (and the single item, m = 1): attribute maps
φ1 and φ2 (see :mod:`mechopt.learning.structured.base`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from mechopt.domains.xor import all_bundles, expand_xor, xor_value
from mechopt.errors import InputError
from mechopt.learning.structured.base import (
    MAX_ALL_OUTCOME_ITEMS,
    MAX_DENSE_ITEMS,
    StructuredModel,
    _agent_outcomes,
    _check_null_loss,
    _sort_and_scale,
)
from mechopt.learning.structured.examples import (
    BaseVectors,
    DenseBase,
    Examples,
    XorBase,
    all_bundles_width,
)

__all__ = ["CombinatorialModel"]

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
            raise InputError(f"unknown attribute map {self.attribute!r} (choose phi1 or phi2)")
        if self.candidates not in ("all", "explicit"):
            raise InputError(f"candidates must be 'all' or 'explicit', got {self.candidates!r}")
        if self.expand not in ("auto", "yes", "no"):
            raise InputError(f"expand must be auto, yes or no, got {self.expand!r}")
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
            raise InputError("combinatorial profiles need bundles and values of shape (instances, agents, bids)")
        N, n, _ = bundles.shape
        mode = candidates or self.candidates
        if mode not in ("all", "explicit"):
            raise InputError(f"candidates must be 'all' or 'explicit', got {mode!r}")
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
            raise InputError("combinatorial profiles need bundles and values of shape (instances, agents, bids)")
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
                raise InputError(
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
