"""Quadratic programs of the structural SVM for payment rules (builders only; nothing solves).

Training Problem 2 of Dütting et al. (EC 2012, §4.2) with margin rescaling, in the working-set
form of constraint generation (Joachims, Finley, Yu, "Cutting-plane training of structural
SVMs", Machine Learning 77, 2009).  A *cut* c is a joint-feature difference δ_c with a loss
L_c and a slack group g(c):

    n-slack: δ = Ψ(x^k, o_k) − Ψ(x^k, o),                 L = Δ(o_k, o),        g = k
    1-slack: δ = (1/ℓ) Σ_k Ψ(x^k, o_k) − Ψ(x^k, ô_k),      L = (1/ℓ) Σ_k Δ(o_k, ô_k), g = 0

where Ψ(x, o) = (v_1(x_1, o), φ(ψ(x_{-1}, o))).

Primal (explicit features, linear kernel), :func:`build_primal_qp` + :func:`add_primal_cut`:

    min  ½‖w‖² + Σ_g c_g ξ_g    s.t.  ⟨w, δ_c⟩ + ξ_{g(c)} ≥ L_c  for every cut,  ξ ≥ 0,

with c_g = C/ℓ for n-slack and C for 1-slack.  The Pyomo model is meant to stay on one
persistent HiGHS solver object: cuts are appended to the ``cuts`` ConstraintList between
solves and sent to HiGHS incrementally.

Dual (any kernel), :func:`build_dual_qp`, with H_cc' = ⟨δ_c, δ_c'⟩:

    max  Σ_c α_c L_c − ½ αᵀ H α    s.t.  Σ_{c ∈ g} α_c ≤ c_g  for every group g,  α ≥ 0,

and w = Σ_c α_c δ_c.  Both have the same optimal value (strong duality of convex QPs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cvxpy as cp
import numpy as np
import pyomo.environ as pyo
from numpy.typing import NDArray
from pyomo.core.expr import LinearExpression

from mechopt.errors import InputError

__all__ = ["build_primal_qp", "add_primal_cut", "read_primal_weights", "build_dual_qp", "DUAL_QP_HIGHS_OPTIONS",
           "dual_qp_highs_options"]

#: HiGHS options for the dual QP (``problem.solve(solver=cp.HIGHS, **DUAL_QP_HIGHS_OPTIONS)``).
#: HiGHS' active-set QP solver adds ``qp_regularization_value`` (default 1e-7) to the
#: Hessian's diagonal and never removes it (ERGO-Code/HiGHS#2383), so by default it solves
#: max Lᵀα − ½αᵀ(H + 10⁻⁷I)α.  The Gram matrices of the cuts are positive definite but
#: ill-conditioned (smallest eigenvalue 10⁻⁶–10⁻⁵ with RBF kernels), so the shift moves α by
#: about 10⁻⁷α/λ_min and leaves a margin residual L − Hα ≈ 10⁻⁷α on every support cut; the
#: slack cost c_g (C up to 10⁴) multiplies it into a duality gap of 10⁻⁴–10⁻³ of the
#: objective.  Without the shift the same solver reaches gaps of 10⁻¹³.  The feasible set
#: is bounded (0 ≤ α, Σ_g α ≤ c_g), so a solution exists even for a singular H — but
#: without the shift the active-set method can cycle on a nearly singular H (seen on a
#: 28-cut RBF Gram matrix with λ_min ≈ 10⁻¹², C = 10⁵: no end after minutes; 84 iterations
#: with the shift), so every solve also gets an iteration limit (:func:`dual_qp_highs_options`)
#: and a solve that reaches it goes to the learner's fallback.
DUAL_QP_HIGHS_OPTIONS: dict[str, float] = {"qp_regularization_value": 0.0}


def dual_qp_highs_options(n_cuts: int) -> dict[str, float | int]:
    """HiGHS options for a dual QP with ``n_cuts`` variables: no Hessian shift, and an
    iteration limit of 1000 + 100·n_cuts (an active-set solve that does not cycle takes a
    few iterations per variable)."""
    return {**DUAL_QP_HIGHS_OPTIONS, "qp_iteration_limit": 1000 + 100 * int(n_cuts)}


def build_primal_qp(n_features: int, slack_costs: Sequence[float]) -> pyo.ConcreteModel:
    """Build the primal working-set QP with no cuts yet.

    Components: ``FEATURES`` and ``SLACKS`` (sets), ``w`` (free weights), ``xi`` (slacks ≥ 0),
    ``slack_cost`` (param c_g), ``cuts`` (an empty ConstraintList the learner appends to),
    ``objective`` ½‖w‖² + Σ_g c_g ξ_g.
    """
    if n_features < 1:
        raise ValueError(f"the primal QP needs at least one feature, got {n_features}")
    costs = [float(c) for c in slack_costs]
    if not costs or any(not np.isfinite(c) or c <= 0 for c in costs):
        raise InputError("slack costs must be positive and finite (check C)")
    m = pyo.ConcreteModel(name="structural SVM primal (Training Problem 2)")
    m.FEATURES = pyo.RangeSet(0, n_features - 1, doc="Joint-feature coordinates; 0 is the value term v_1")
    m.SLACKS = pyo.RangeSet(0, len(costs) - 1, doc="Slack groups: one per example (n-slack) or one (1-slack)")
    m.slack_cost = pyo.Param(m.SLACKS, initialize=dict(enumerate(costs)), doc="Cost c_g of one unit of slack")
    m.w = pyo.Var(m.FEATURES, doc="Weight vector w = (w_1, w_{-1})")
    m.xi = pyo.Var(m.SLACKS, domain=pyo.NonNegativeReals, doc="Slack ξ_g of each group")
    m.cuts = pyo.ConstraintList(doc="Working set: ⟨w, δ_c⟩ + ξ_g(c) ≥ L_c, one row per cut")
    m.objective = pyo.Objective(
        expr=0.5 * sum(m.w[f] * m.w[f] for f in m.FEATURES) + sum(m.slack_cost[g] * m.xi[g] for g in m.SLACKS),
        sense=pyo.minimize,
        doc="½‖w‖² + Σ_g c_g ξ_g",
    )
    return m


def add_primal_cut(model: pyo.ConcreteModel, index: NDArray[Any], coef: NDArray[Any], loss: float, group: int) -> Any:
    """Append the cut ⟨w, δ⟩ + ξ_group ≥ loss (δ given by its non-zero ``index``/``coef``)."""
    index = np.asarray(index, dtype=np.int64)
    coef = np.asarray(coef, dtype=float)
    keep = coef != 0.0
    variables = [model.w[int(i)] for i in index[keep]] + [model.xi[int(group)]]
    coefs = [float(c) for c in coef[keep]] + [1.0]
    expr = LinearExpression(constant=0.0, linear_coefs=coefs, linear_vars=variables)
    return model.cuts.add(expr >= float(loss))


def read_primal_weights(model: pyo.ConcreteModel) -> tuple[NDArray[Any], NDArray[Any]]:
    """(w, ξ) of a solved primal model as arrays."""
    w = np.array([pyo.value(model.w[f], exception=False) or 0.0 for f in model.FEATURES])
    xi = np.array([pyo.value(model.xi[g], exception=False) or 0.0 for g in model.SLACKS])
    return w, xi


def build_dual_qp(H: NDArray[Any], losses: NDArray[Any], groups: NDArray[Any], caps: Sequence[float] | NDArray[Any]) -> cp.Problem:
    """Build the dual working-set QP as a CVXPY problem (solve it with ``solver=cp.HIGHS``).

    ``H`` (cuts×cuts) is the Gram matrix of the cuts (symmetric positive semidefinite up to
    rounding; it is symmetrized here), ``losses`` L_c, ``groups`` g(c) ∈ 0..G−1 and ``caps``
    c_g.  The variable is named ``alpha`` (``problem.var_dict["alpha"]``).
    """
    H = np.asarray(H, dtype=float)
    losses = np.asarray(losses, dtype=float)
    groups = np.asarray(groups, dtype=np.int64)
    n = len(losses)
    if H.shape != (n, n) or groups.shape != (n,):
        raise ValueError(f"dual QP: H must be {n}x{n} and groups length {n}")
    if not np.all(np.isfinite(H)) or not np.all(np.isfinite(losses)):
        raise InputError("dual QP: the Gram matrix or the losses contain NaN or infinity")
    caps = np.asarray(caps, dtype=float)
    alpha = cp.Variable(n, nonneg=True, name="alpha")
    H = 0.5 * (H + H.T)
    objective = cp.Maximize(losses @ alpha - 0.5 * cp.quad_form(alpha, cp.psd_wrap(H)))
    used = np.unique(groups)
    incidence = np.zeros((len(used), n))
    incidence[np.searchsorted(used, groups), np.arange(n)] = 1.0
    constraints = [incidence @ alpha <= caps[used]]
    return cp.Problem(objective, constraints)
