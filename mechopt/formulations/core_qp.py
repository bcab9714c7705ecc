"""The nearest-point QP of core-selecting payments as matrices for a conic solver.

Day and Cramton ("Quadratic core-selecting payment rules for combinatorial auctions",
Operations Research 60(3), 2012) pick, among the revenue-minimal core points, the one
nearest a reference point r (the VCG payments):

    min  Σ_i (p_i − r_i)²
    s.t. lo_i ≤ p_i ≤ hi_i                       (VCG payment ≤ p_i ≤ value)
         Σ_i p_i ≤ cap                            (cap = the revenue LP's R* + tolerance)
         Σ_{i ∈ W∖K} p_i ≥ rhs_K                  (one core cut per coalition K found)

:mod:`mechopt.formulations.core` holds the same QP as a Pyomo model.  This module writes it
in the standard form of Clarabel (Goulart and Chen, "Clarabel: an interior-point solver for
conic programs with quadratic objectives", 2024),

    min ½ xᵀPx + qᵀx   s.t.   Ax + s = b,  s ≥ 0,

with P = 2I and q = −2r (the objective minus the constant Σ r_i²), every row an inequality
(Ax ≤ b).  The QP has one variable per winner and is re-solved after every separation
round: going through a modelling layer cost ~50 ms per solve on a 39-winner auction, the
matrices below a fraction of a millisecond.  Builders only build: the solve is
:func:`mechopt.solve.solve_clarabel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ConicQP:
    """``min ½ xᵀPx + qᵀx  s.t.  Ax ≤ b``, dense numpy arrays (every row in the nonnegative
    cone).  Dense on purpose: one column per winner and one row per bound and cut, a few
    hundred rows at most, and no SciPy (see :func:`mechopt.solve.solve_clarabel`)."""

    P: Any
    q: Any
    A: Any
    b: Any

    @property
    def rows(self) -> int:
        return int(self.A.shape[0])


def build_nearest_point_qp(
    lower: Sequence[float],
    upper: Sequence[float],
    reference: Sequence[float],
    cap: float,
    cut_columns: Sequence[Sequence[int]],
    cut_rhs: Sequence[float],
) -> ConicQP:
    """The nearest-point QP over ``len(lower)`` payments (see the module docstring).

    ``cut_columns[k]`` lists the payment indices of the winners outside coalition k and
    ``cut_rhs[k]`` its right-hand side.  All numbers are taken as given (the caller scales).
    """
    n = len(lower)
    if not (len(upper) == len(reference) == n) or len(cut_columns) != len(cut_rhs):
        raise ValueError("nearest-point QP: the bound, reference and cut lists differ in length")
    eye = np.eye(n)
    cuts = np.zeros((len(cut_columns), n))
    for k, cols in enumerate(cut_columns):
        cuts[k, list(cols)] = -1.0
    a = np.vstack([-eye, eye, np.ones((1, n)), cuts])
    b = np.concatenate([
        -np.asarray(lower, dtype=float), np.asarray(upper, dtype=float), [float(cap)],
        -np.asarray(cut_rhs, dtype=float),
    ])
    return ConicQP(P=2.0 * eye, q=-2.0 * np.asarray(reference, dtype=float), A=a, b=b)
