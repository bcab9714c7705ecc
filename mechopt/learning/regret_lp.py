"""A reference learner: linear prices fitted by empirical ex post regret minimization (an LP).

For a price function linear in a feature map, t_θ(x_{-i}, o) = θᵀ f(x_{-i}, o), the ex post
regret of an agent, max_o [v(o) − θᵀ f_o] − [v(g) − θᵀ f_g], is a maximum of affine functions
of θ, so the mean regret over a training set is convex and its minimum is the linear program

    min (1/ℓ) Σ_k r_k   s.t.   r_k ≥ v_k(o) − v_k(g_k) − θᵀ (f_k(o) − f_k(g_k))  for all k, o;
    r ≥ 0,  θ free.

No margin and no regularizer (unlike Training Problem 2 of the structural SVM, whose hinge
constraints are these with a margin 1/w_1), hence a useful yardstick: the best linear price
rule in f on the training set.  The paper's own outlook (Dütting et al., EC 2012, §7) names
this "regression rather than classification" formulation.  Solved by HiGHS through
:func:`scipy.optimize.linprog` (through :func:`mechopt.solve.solve_linprog`).

:class:`AssignmentRegretLP` applies it to the assignment with the leximin attribute map of
:class:`~mechopt.learning.structured.AssignmentModel` (f(x_{-i}, j) = L(N ∖ j)), which
contains the tot-vcg and eg-vcg prices (θ = −1 and θ = −e_1, up to item-independent
amounts), so its training regret is never above theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mechopt.domains.distributions import AssignmentProfiles
from mechopt.errors import InputError
from mechopt.learning.structured import leximin_attributes

__all__ = ["fit_linear_prices", "AssignmentRegretLP"]


def fit_linear_prices(features: np.ndarray, values: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, float]:
    """θ minimizing the mean regret of t = θᵀ f, and that mean (module docstring).

    ``features`` (ℓ, K, D), ``values`` (ℓ, K) the agent's value of each outcome, ``truth`` (ℓ,)
    the column of the rule's outcome.
    """
    from mechopt.solve import solve_linprog

    F = np.asarray(features, dtype=float)
    V = np.asarray(values, dtype=float)
    g = np.asarray(truth, dtype=np.int64)
    if F.ndim != 3 or V.shape != F.shape[:2] or g.shape != (F.shape[0],):
        raise ValueError("features (l, K, D), values (l, K) and truth (l,) do not fit together")
    ell, K, D = F.shape
    if ell == 0:
        raise InputError("no training examples")
    rows = np.arange(ell)
    # v(o) − v(g) − θᵀ(f_o − f_g) − r ≤ 0   ⇔   −(f_o − f_g)ᵀθ − r ≤ v(g) − v(o)
    A_theta = -(F - F[rows, g][:, None, :]).reshape(ell * K, D)
    A_r = sp.kron(sp.identity(ell), np.ones((K, 1)))
    A = sp.hstack([sp.csr_matrix(A_theta), -A_r]).tocsr()
    b = (V[rows, g][:, None] - V).reshape(-1)
    c = np.concatenate([np.zeros(D), np.full(ell, 1.0 / ell)])
    res, result = solve_linprog(c, A_ub=A, b_ub=b, bounds=[(None, None)] * D + [(0, None)] * ell)
    result.require_optimal("the regret LP")
    return res.x[:D].copy(), float(res.fun)


@dataclass
class AssignmentRegretLP:
    """Linear prices t(x_{-i}, j) = θᵀ L(N ∖ j) fitted by regret minimization (assignment).

    ``agents="all"`` trains on every agent's view of each instance (agent symmetry), ``"one"``
    on agent 0's only, as the structural SVM does.  After :meth:`fit`, the instance is a
    price function for :func:`mechopt.domains.evaluate.evaluate` (cheapest item free).
    """

    agents: str = "one"
    theta_: np.ndarray | None = None
    train_regret_: float | None = None

    def fit(self, profiles: AssignmentProfiles, outcomes: np.ndarray) -> AssignmentRegretLP:
        if self.agents not in ("one", "all"):
            raise InputError("agents must be 'one' or 'all'")
        values = np.asarray(profiles.values, dtype=float)
        outcomes = np.asarray(outcomes, dtype=np.int64)
        n = values.shape[1]
        views = range(n) if self.agents == "all" else (0,)
        feats = [leximin_attributes(np.delete(values, i, axis=1)) for i in views]
        self.theta_, self.train_regret_ = fit_linear_prices(
            np.concatenate(feats), np.concatenate([values[:, i] for i in views]),
            np.concatenate([outcomes[:, i] for i in views]))
        return self

    def __call__(self, others: AssignmentProfiles) -> np.ndarray:
        if self.theta_ is None:
            raise ValueError("fit the regret LP first")
        prices = leximin_attributes(np.asarray(others.values, dtype=float)) @ self.theta_
        return prices - prices.min(axis=1, keepdims=True)
