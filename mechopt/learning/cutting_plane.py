"""Cutting-plane training of the payment-rule structural SVM (the learner; it knows the QP only).

Training Problem 2 of Dütting et al. (EC 2012, §4.2), solved by constraint generation
(Joachims, Finley, Yu, Machine Learning 77, 2009): start from an empty working set, ask the
structured model's separation oracle for the most violated outcome of every example, add
cuts, re-solve the working-set QP (:mod:`mechopt.formulations.ssvm`), and stop when no
constraint is violated by more than ε.

* ``slack="one"`` (default): one aggregated cut per iteration and one slack ξ (the 1-slack
  formulation, Joachims et al. 2009, Alg. 4).  Few iterations, a small dense QP.  Stopping
  rule: (1/ℓ) Σ_k max_o H_k(o) ≤ ξ + ε; then (w, ξ + ε) is feasible for the full problem, so
  the objective is within C·ε of the optimum.
* ``slack="n"``: one cut per violated example per iteration and one slack per example (the
  n-slack formulation, Alg. 3 / SVM-struct's classic mode); stop when every example is
  within ε.  Its QP grows with ℓ; use it for small problems and for cross-checks.

Working-set QPs: the primal (``formulation="primal"``, linear kernel only) is a Pyomo model
kept on ONE persistent HiGHS solver object; cuts are appended between solves.  The dual
(``formulation="dual"``, any kernel) is a CVXPY problem solved by HiGHS
(``solver=cp.HIGHS``); its Gram matrix grows by one row per new cut, computed from the
structured model's kernel sums, whose kernel rows are cached across iterations
(:class:`~mechopt.learning.structured.RowCache`).  Separation is a vectorized numpy argmax
over every example's candidate outcomes.

sklearn contract: ``__init__`` stores its arguments untouched, :meth:`fit` returns ``self``,
fitted state ends in ``_`` (``w1_``, ``objective_curve_``, ``n_iter_``, ...).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mechopt.errors import InputError, MechoptError
from mechopt.learning.kernels import Kernel, make_kernel
from mechopt.learning.structured import Examples, RowCache, StructuredModel
from mechopt.solve import SolverError, SolveResult, SolveStatus, not_optimal_error, solve_cvxpy

__all__ = ["CuttingPlaneSSVM", "IterationRecord", "RejectedFit", "NotFittedError"]


class RejectedFit(InputError):
    """Training ended with w_1 ≤ 0: the discriminant defines no payment rule (§4.2)."""


class NotFittedError(MechoptError, ValueError, AttributeError):
    """The learner is used before :meth:`CuttingPlaneSSVM.fit`."""


@dataclass(frozen=True)
class IterationRecord:
    """One entry of the objective curve.

    ``lower``: the working-set QP optimum (a lower bound on the full problem's optimum);
    ``upper``: ½‖w‖² + C · mean hinge loss of the current w (an upper bound);
    ``violation``: the largest violation beyond the current slack (the stopping quantity).
    """

    iteration: int
    lower: float
    upper: float
    violation: float
    cuts: int
    seconds: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class FittedWeights:
    """The discriminant a trainer found, as :meth:`CuttingPlaneSSVM.fit_examples` stores it.

    ``w1``: weight of the agent's own value; ``w_psi``: the explicit weights of the other
    features (primal QP), or None; ``support`` and ``beta``: the support vectors and their
    dual coefficients (dual QP), or None; ``cache_hits``: (hits, misses) of the kernel-row
    cache (dual QP), or None.
    """

    w1: float
    w_psi: np.ndarray | None
    support: Examples | None
    beta: np.ndarray | None
    cache_hits: tuple[int, int] | None = None


class CuttingPlaneSSVM:
    """Structural SVM with an admissible discriminant, trained by constraint generation.

    Parameters
    ----------
    model: a :class:`~mechopt.learning.structured.StructuredModel` (domain, attribute map).
    kernel: ``"linear"``, ``"poly"``, ``"rbf"`` or a :class:`Kernel`; ``gamma``, ``degree``,
        ``coef0`` are its parameters.
    C: regularization constant of Training Problem 2 (slack cost C/ℓ per example).
    slack: ``"one"`` (1-slack) or ``"n"`` (n-slack).
    formulation: ``"auto"`` (primal for the linear kernel with explicit features, else dual),
        ``"primal"`` or ``"dual"``.
    epsilon: tolerance ε of the stopping rule (in units of the loss).
    max_iter: iteration limit; a fit that hits it has ``converged_ = False``.
    max_seconds: wall-clock limit of the loop (None: none); also leaves ``converged_ False``.
    prune_after: drop a cut whose dual weight stayed 0 for this many iterations (0: never).
    cache_mb: memory for cached kernel rows.
    callback: called with each :class:`IterationRecord` (progress bars).
    """

    # the fitted solution, which the trainer's finish() sets (w_psi_ for the primal QP,
    # support_ and beta_ for the dual)
    w1_: float
    w_psi_: np.ndarray | None
    support_: Examples | None
    beta_: np.ndarray | None

    def __init__(
        self,
        model: StructuredModel,
        kernel: str | Kernel = "linear",
        C: float = 1.0,
        *,
        gamma: float | None = None,
        degree: int | None = None,
        coef0: float | None = None,
        slack: str = "one",
        formulation: str = "auto",
        epsilon: float = 1e-3,
        max_iter: int = 1000,
        max_seconds: float | None = None,
        prune_after: int = 50,
        cache_mb: float = 1024,
        callback: Callable[[IterationRecord], None] | None = None,
    ) -> None:
        self.model = model
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.slack = slack
        self.formulation = formulation
        self.epsilon = epsilon
        self.max_iter = max_iter
        self.max_seconds = max_seconds
        self.prune_after = prune_after
        self.cache_mb = cache_mb
        self.callback = callback

    # ----------------------------------------------------------------------------------
    # settings
    # ----------------------------------------------------------------------------------
    def _kernel(self) -> Kernel:
        if isinstance(self.kernel, Kernel):
            return self.kernel
        return make_kernel(self.kernel, gamma=self.gamma, degree=self.degree, coef0=self.coef0)

    def _check(self) -> None:
        if not (isinstance(self.C, (int, float)) and math.isfinite(self.C) and self.C > 0):
            raise InputError(f"C must be a positive number, got {self.C!r}")
        if self.slack not in ("one", "n"):
            raise InputError(f"slack must be 'one' or 'n', got {self.slack!r}")
        if self.formulation not in ("auto", "primal", "dual"):
            raise InputError(f"formulation must be auto, primal or dual, got {self.formulation!r}")
        if not (self.epsilon > 0 and math.isfinite(self.epsilon)):
            raise InputError(f"epsilon must be positive, got {self.epsilon!r}")
        if not (isinstance(self.max_iter, int) and self.max_iter >= 1):
            raise InputError(f"max_iter must be a positive integer, got {self.max_iter!r}")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise InputError(f"max_seconds must be positive, got {self.max_seconds!r}")

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (sklearn convention), kernel as a description."""
        return {
            "kernel": self._kernel().to_dict(), "C": float(self.C), "slack": self.slack,
            "formulation": self.formulation, "epsilon": float(self.epsilon), "max_iter": int(self.max_iter),
            "max_seconds": self.max_seconds, "prune_after": int(self.prune_after),
        }

    # ----------------------------------------------------------------------------------
    # training
    # ----------------------------------------------------------------------------------
    def fit(self, profiles: Any, outcomes: np.ndarray) -> CuttingPlaneSSVM:
        """Train on type profiles and the outcome rule's outcomes (view of agent 0).

        ``outcomes``: (N,) outcomes of agent 0, or (N, n) outcomes of all agents.
        Raises :class:`RejectedFit` when the solution has w_1 ≤ 0 (no payment rule).
        """
        self._check()
        kernel = self._kernel()
        ex = self.model.examples(profiles, outcomes, agent=0)
        return self.fit_examples(ex, kernel)

    def fit_examples(self, ex: Examples, kernel: Kernel | None = None) -> CuttingPlaneSSVM:
        """:meth:`fit` on prepared examples (for callers that reuse them across C and γ)."""
        self._check()
        kernel = kernel or self._kernel()
        if ex.n == 0 or not ex.has_truth:
            raise InputError("training needs at least one example, each with its true outcome")
        formulation = self.formulation
        if formulation == "auto":
            formulation = "primal" if kernel.is_linear and _has_features(self.model, ex) else "dual"
        if formulation == "primal" and not kernel.is_linear:
            raise InputError(f"the primal QP needs the linear kernel, got {kernel.describe()} (use the dual)")
        start = time.perf_counter()
        loss = self.model.loss(ex)
        if formulation == "primal":
            trainer: _Trainer = _PrimalTrainer(self, ex, loss)
        else:
            trainer = _DualTrainer(self, ex, loss, kernel)
        curve: list[IterationRecord] = []
        converged = False
        rows = np.arange(ex.n)
        scores = np.zeros(ex.codes.shape)
        it = 0
        for it in range(1, self.max_iter + 1):  # noqa: B007 - it is reported after the loop
            cols, hinge = self.model.separate(ex, scores, loss)
            slack = trainer.slacks()
            if self.slack == "one":
                violation = float(hinge.mean() - slack[0])
            else:
                violation = float(np.max(hinge - slack))
            record = IterationRecord(
                iteration=it, lower=trainer.objective, upper=trainer.norm2 / 2 + self.C * float(hinge.mean()),
                violation=violation, cuts=trainer.n_cuts, seconds=time.perf_counter() - start,
            )
            curve.append(record)
            if self.callback is not None:
                self.callback(record)
            if violation <= self.epsilon:
                converged = True
                break
            if self.max_seconds is not None and record.seconds > self.max_seconds:
                break
            if self.slack == "one":
                trainer.add_cuts([(rows, cols)])
            else:
                bad = np.nonzero((hinge - slack > self.epsilon) & (cols != ex.truth))[0]
                trainer.add_cuts([(bad, cols[bad])])
            trainer.solve()
            scores = trainer.scores()
        self.kernel_ = kernel
        self.formulation_ = formulation
        self.objective_curve_ = curve
        self.n_iter_ = it
        self.converged_ = converged
        self.n_cuts_ = trainer.n_cuts
        self.objective_ = trainer.objective
        self.train_seconds_ = time.perf_counter() - start
        self.qp_seconds_ = trainer.qp_seconds
        self.qp_fallbacks_ = trainer.qp_fallbacks
        self.qp_max_gap_ = trainer.max_gap
        self.n_train_ = ex.n
        self.train_accuracy_ = float(np.mean(self.model.inference(ex, scores) == ex.truth))
        weights = trainer.finish()
        self.w1_ = weights.w1
        self.w_psi_ = weights.w_psi
        self.support_ = weights.support
        self.beta_ = weights.beta
        if weights.cache_hits is not None:
            self.cache_hits_ = weights.cache_hits
        if not self.w1_ > 0:
            raise RejectedFit(
                f"training ended with w_1 = {self.w1_:.3g} <= 0: the discriminant does not increase "
                f"with the agent's value, so it defines no payment rule (C = {self.C:g}, "
                f"kernel {kernel.describe()}); try other parameters"
            )
        return self

    # ----------------------------------------------------------------------------------
    # prediction
    # ----------------------------------------------------------------------------------
    def _require_fitted(self) -> None:
        if not hasattr(self, "w1_"):
            raise NotFittedError("this learner is not fitted yet: call fit() first")

    def psi_scores(self, ex: Examples) -> np.ndarray:
        """(ℓ, K): w_{-1}ᵀ φ(ψ(x^k_{-1}, o)) of every candidate (normalized units)."""
        self._require_fitted()
        if self.w_psi_ is not None:
            return self.model.linear_scores(ex, self.w_psi_)
        assert self.support_ is not None and self.beta_ is not None  # dual weights
        return self.model.kernel_sums(self.kernel_, self.support_, self.beta_, ex)

    def discriminant(self, ex: Examples) -> np.ndarray:
        """f_w(x, o) = w_1 v_1(x_1, o) + w_{-1}ᵀ φ(ψ(x_{-1}, o)) of every candidate."""
        self._require_fitted()
        return self.w1_ * ex.values + self.psi_scores(ex)

    def decision_function(self, profiles: Any, agent: int = 0) -> np.ndarray:
        """(N, K) discriminant values of every outcome of ``agent`` (columns = outcomes)."""
        ex = self.model.examples(profiles, None, agent=agent, candidates="all")
        return np.where(ex.valid, self.discriminant(ex), -np.inf)

    def predict(self, profiles: Any, agent: int = 0) -> np.ndarray:
        """h_w(x) = argmax_o f_w(x, o): the predicted outcome of ``agent`` in every profile."""
        ex = self.model.examples(profiles, None, agent=agent, candidates="all")
        return ex.codes[np.arange(ex.n), self.model.inference(ex, self.discriminant(ex))]

    def score(self, profiles: Any, outcomes: np.ndarray, agent: int = 0) -> float:
        """Accuracy of :meth:`predict` against ``outcomes`` (sklearn convention)."""
        outcomes = np.asarray(outcomes)
        truth = outcomes[:, agent] if outcomes.ndim == 2 else outcomes
        return float(np.mean(self.predict(profiles, agent) == truth))

    def prices(self, ex: Examples) -> np.ndarray:
        """Price function t_w(x_{-1}, o) = −(1/w_1) w_{-1}ᵀ φ(ψ(x_{-1}, o)), in value units.

        Not normalized (see :mod:`mechopt.learning.payment_rule`); instance-based
        normalization is undone by the example's scale.
        """
        return -self.psi_scores(ex) / self.w1_ * ex.scale[:, None]


def _has_features(model: StructuredModel, ex: Examples) -> bool:
    try:
        model.n_features(ex)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------
# working-set QPs
# --------------------------------------------------------------------------------------
class _Trainer:
    """Working set and QP of one fit (shared bookkeeping of the primal and dual trainers).

    It reads the learner's settings when built and keeps no reference to it: the fitted
    weights are :meth:`finish`'s value, which the learner stores.
    """

    def __init__(self, learner: CuttingPlaneSSVM, ex: Examples, loss: np.ndarray) -> None:
        self.epsilon = learner.epsilon
        self.prune_after = learner.prune_after
        self.ex = ex
        self.loss = loss
        self.one = learner.slack == "one"
        self.n_groups = 1 if self.one else ex.n
        self.caps = np.full(self.n_groups, learner.C if self.one else learner.C / ex.n)
        self.objective = 0.0
        self.norm2 = 0.0
        self.qp_seconds = 0.0
        self.qp_fallbacks = 0
        self.max_gap = 0.0
        self.rows = np.arange(ex.n)

    @property
    def n_cuts(self) -> int:
        raise NotImplementedError

    def slacks(self) -> np.ndarray:
        raise NotImplementedError

    def add_cuts(self, cuts: list[tuple[np.ndarray, np.ndarray]]) -> None:
        raise NotImplementedError

    def solve(self) -> None:
        raise NotImplementedError

    def scores(self) -> np.ndarray:
        raise NotImplementedError

    def finish(self) -> FittedWeights:
        """The weights of the last working-set solve."""
        raise NotImplementedError

    def _cut_losses(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return self.loss[rows, cols]


class _PrimalTrainer(_Trainer):
    """Primal QP on one persistent HiGHS object; cuts appended between solves."""

    def __init__(self, learner, ex, loss):
        super().__init__(learner, ex, loss)
        from mechopt.formulations.ssvm import build_primal_qp
        from mechopt.solve import QP_SOLVER, get_solver

        self.model = learner.model
        self.n_features = self.model.n_features(ex)
        self.qp = build_primal_qp(self.n_features, self.caps)
        self.solver = get_solver(QP_SOLVER)
        self.truth_features = self.model.features(ex, self.rows, ex.truth)
        self.w = np.zeros(self.n_features)
        self.xi = np.zeros(self.n_groups)
        self._cuts = 0

    @property
    def n_cuts(self):
        return self._cuts

    def slacks(self):
        return self.xi

    def add_cuts(self, cuts):
        from mechopt.formulations.ssvm import add_primal_cut

        for rows, cols in cuts:
            if len(rows) == 0:
                continue
            diff = self.truth_features[rows] - self.model.features(self.ex, rows, cols)
            losses = self._cut_losses(rows, cols)
            if self.one:
                delta = np.asarray(diff.sum(axis=0)).ravel() / self.ex.n
                nz = np.nonzero(delta)[0]
                add_primal_cut(self.qp, nz, delta[nz], float(losses.sum() / self.ex.n), 0)
                self._cuts += 1
            else:
                diff = diff.tocsr()
                for i, k in enumerate(rows):
                    row = diff.getrow(i)
                    add_primal_cut(self.qp, row.indices, row.data, float(losses[i]), int(k))
                    self._cuts += 1

    def solve(self):
        from mechopt.formulations.ssvm import read_primal_weights
        from mechopt.solve import solve_model

        result = solve_model(self.qp, solver=self.solver)
        self.qp_seconds += result.seconds
        result.require_optimal("the primal working-set QP")
        self.w, self.xi = read_primal_weights(self.qp)
        self.objective = float(result.objective)
        self.norm2 = float(self.w @ self.w)

    def scores(self):
        return self.w[0] * self.ex.values + self.model.linear_scores(self.ex, self.w[1:])

    def finish(self) -> FittedWeights:
        return FittedWeights(w1=float(self.w[0]), w_psi=self.w[1:].copy(), support=None, beta=None)


class _DualTrainer(_Trainer):
    """Dual QP (CVXPY → HiGHS) over a growing set of cuts; any kernel."""

    def __init__(self, learner, ex, loss, kernel: Kernel):
        super().__init__(learner, ex, loss)
        self.model = learner.model
        self.kernel = kernel
        self.cache = RowCache(ex.n, int(learner.cache_mb * 2**20))
        self.H = np.zeros((0, 0))
        self.L = np.zeros(0)
        self.a = np.zeros(0)  # value-term component of each cut
        self.group = np.zeros(0, dtype=np.int64)
        self.alpha = np.zeros(0)
        self.age = np.zeros(0, dtype=np.int64)
        # 1-slack: chosen column of every example per cut; n-slack: (example, column) per cut
        self.J = np.zeros((0, ex.n), dtype=np.int64)
        self.cut_row = np.zeros(0, dtype=np.int64)
        self.cut_col = np.zeros(0, dtype=np.int64)
        self._beta = np.zeros(ex.codes.shape)
        # 1-slack: g_c(k, o) = ⟨δ_c, Ψ(x^k, o)⟩ of every cut, so that the scores of
        # w = Σ_c α_c δ_c are Σ_c α_c g_c without another kernel sum (kept within cache_mb)
        self.G: list[np.ndarray] | None = [] if self.one else None
        self.max_G = max(1, int(learner.cache_mb * 2**20) // (8 * max(1, ex.codes.size)))

    @property
    def n_cuts(self):
        return len(self.L)

    def slacks(self):
        xi = np.zeros(self.n_groups)
        if self.n_cuts:
            margins = self.L - self.H @ self.alpha
            np.maximum.at(xi, self.group, margins)
        return xi

    # -- Gram updates -----------------------------------------------------------------
    def _beta_of_one_slack(self, J: np.ndarray, weight: float) -> np.ndarray:
        beta = np.zeros(self.ex.codes.shape)
        beta[self.rows, self.ex.truth] += weight / self.ex.n
        beta[self.rows, J] -= weight / self.ex.n  # J has one entry per row: no repeated index
        return beta

    def add_cuts(self, cuts):
        ex = self.ex
        truth = ex.truth
        for rows, cols in cuts:
            if len(rows) == 0:
                continue
            if self.one:
                J = np.asarray(cols, dtype=np.int64)
                beta = self._beta_of_one_slack(J, 1.0)
                a_new = float(np.mean(ex.values[self.rows, truth] - ex.values[self.rows, J]))
                g = a_new * ex.values + self.model.kernel_sums(self.kernel, ex, beta, ex, self.cache)
                g_truth = g[self.rows, truth]
                Js = np.vstack([self.J, J[None, :]])
                h_new = np.mean(g_truth[None, :] - g[self.rows[None, :], Js], axis=1)
                self.J = Js
                if self.G is not None:
                    self.G.append(g)
                    if len(self.G) > self.max_G:
                        self.G = None
                self._grow(h_new[None, :], np.array([float(self.loss[self.rows, J].mean())]),
                           np.array([a_new]), np.zeros(1, dtype=np.int64))
            else:
                rows = np.asarray(rows, dtype=np.int64)
                cols = np.asarray(cols, dtype=np.int64)
                all_rows = np.concatenate([self.cut_row, rows])
                all_cols = np.concatenate([self.cut_col, cols])
                new_atoms = (np.concatenate([rows, rows]), np.concatenate([truth[rows], cols]))
                old_atoms = (np.concatenate([all_rows, all_rows]), np.concatenate([truth[all_rows], all_cols]))
                K = self.model.kernel_matrix(self.kernel, ex, new_atoms, old_atoms)
                K += np.outer(ex.values[new_atoms], ex.values[old_atoms])
                p, q = len(rows), len(all_rows)
                h_new = K[:p, :q] - K[:p, q:] - K[p:, :q] + K[p:, q:]
                a_new = ex.values[rows, truth[rows]] - ex.values[rows, cols]
                self.cut_row, self.cut_col = all_rows, all_cols
                self._grow(h_new, self.loss[rows, cols], a_new, rows)

    def _grow(self, rows_new: np.ndarray, L_new, a_new, groups_new) -> None:
        """Append cuts whose Gram rows against all cuts (old and new) are ``rows_new``."""
        p = rows_new.shape[0]
        q = self.n_cuts
        H = np.zeros((q + p, q + p))
        H[:q, :q] = self.H
        H[q:, :] = rows_new
        H[:, q:] = rows_new.T
        H[q:, q:] = 0.5 * (rows_new[:, q:] + rows_new[:, q:].T)
        self.H = H
        self.L = np.concatenate([self.L, L_new])
        self.a = np.concatenate([self.a, a_new])
        self.group = np.concatenate([self.group, groups_new])
        self.alpha = np.concatenate([self.alpha, np.zeros(p)])
        self.age = np.concatenate([self.age, np.zeros(p, dtype=np.int64)])

    def _prune(self) -> None:
        limit = self.prune_after
        if not limit:
            return
        keep = self.age <= limit
        if keep.all():
            return
        self.H = self.H[np.ix_(keep, keep)]
        for name in ("L", "a", "group", "alpha", "age"):
            setattr(self, name, getattr(self, name)[keep])
        if self.one:
            self.J = self.J[keep]
            if self.G is not None:
                self.G = [g for g, k in zip(self.G, keep, strict=True) if k]
        else:
            self.cut_row, self.cut_col = self.cut_row[keep], self.cut_col[keep]

    # -- QP ---------------------------------------------------------------------------
    def _gap(self, alpha: np.ndarray) -> tuple[float, float]:
        """(dual objective, duality gap) of a feasible α: 0 gap certifies optimality."""
        Ha = self.H @ alpha
        norm2 = float(alpha @ Ha)
        dual = float(self.L @ alpha - 0.5 * norm2)
        xi = np.zeros(self.n_groups)
        np.maximum.at(xi, self.group, self.L - Ha)
        primal = 0.5 * norm2 + float(self.caps @ xi)
        return dual, primal - dual

    def _solve_with(self, solver: str) -> tuple[np.ndarray | None, SolveResult]:
        """α from one solver (None unless proven optimal) and that solver's report."""
        import cvxpy as cp

        from mechopt.formulations.ssvm import build_dual_qp, dual_qp_highs_options

        problem = build_dual_qp(self.H, self.L, self.group, self.caps)
        options = dual_qp_highs_options(len(self.L)) if solver == cp.HIGHS else {}
        # an iteration limit reached is a status here, handled by the fallback
        result = solve_cvxpy(problem, solver, options=options)
        if not result.is_optimal:
            return None, result
        alpha = np.maximum(np.asarray(problem.var_dict["alpha"].value, dtype=float), 0.0)
        # project onto the caps (solvers may overshoot them by their feasibility tolerance)
        totals = np.zeros(self.n_groups)
        np.add.at(totals, self.group, alpha)
        over = np.where(totals > self.caps, self.caps / np.maximum(totals, 1e-300), 1.0)
        return alpha * over[self.group], result

    def gap_tolerance(self, dual: float) -> float:
        """Largest duality gap accepted for a working-set answer (see :meth:`solve`)."""
        eps = self.epsilon
        r2 = float(self.H.diagonal().max(initial=0.0))
        ascent = float(self.caps.min()) * eps / 2
        if r2 > 0:
            ascent = min(ascent, eps * eps / (8 * r2))
        return max(ascent / 2, 1e-9 * max(1.0, abs(dual)))

    def solve(self):
        """Solve the working-set dual with HiGHS; certify the answer by its duality gap.

        The gap of a feasible α is P(w(α), ξ(α)) − D(α), with ξ_g = max(0, max_{c∈g} L_c −
        (Hα)_c) the smallest slacks of w(α) = Σ α_c δ_c; it bounds both D* − D(α) and the
        primal suboptimality of (w(α), ξ(α)).  Accepted: gap ≤ max(½·a, 10⁻⁹·max(1, |D(α)|))
        with a = min(c_min·ε/2, ε²/(8R²)), R² = max_c ‖δ_c‖² over the working set.  Why:

        * a is the guaranteed ascent of one cutting-plane iteration, the step of the
          iteration bounds (Joachims, Finley, Yu 2009 for 1-slack; Tsochantaridis et al.,
          JMLR 2005, for n-slack with c_g = C/ℓ): a line search from α towards the new cut,
          whose slope exceeds c_g·ε and whose curvature is at most (2c_g R)².  It starts
          from any feasible α — it uses only Σ_{c∈g} α_c (L_c − (Hα)_c) ≤ c_g ξ_g — so an
          answer a gap g below the working-set optimum still raises the next optimum by
          a − g ≥ a/2: the iteration bound at most doubles.
        * At the stop, the full problem's objective of w is at most P(w, ξ) + C·ε (C·ε in
          total for n-slack too) and P(w, ξ) = D(α) + gap ≤ opt + gap, so the guarantee of
          the stopping rule becomes C·ε + gap ≤ C·ε + ε²/(16R²) instead of C·ε.
        * The second term is a floor for rounding in the gap itself.

        A certificate relative to C·ε alone (e.g. a gap of 10⁻³·C·ε) would not do: with
        C = 10⁴, ε = 0.01 it admits gaps of 0.1 while a is about 10⁻⁵, so iterations could
        stall.  HiGHS runs without its Hessian regularization
        (:data:`~mechopt.formulations.ssvm.DUAL_QP_HIGHS_OPTIONS`), which alone made it
        miss every certificate; it then reaches gaps near 10⁻¹³ of the objective.  Without
        the shift the active-set method can cycle on a nearly singular H, so it also runs
        under an iteration limit (:func:`~mechopt.formulations.ssvm.dual_qp_highs_options`).
        A solve that reaches the limit, or an answer that fails — genuine failures of HiGHS' active-set solver, which has
        reported "optimal" at a non-optimal vertex and "non-convex" for a positive definite
        H (ERGO-Code/HiGHS#993; the pinned examples of the property tests) — is re-solved
        with Clarabel (interior point, shipped with CVXPY) and counted in ``qp_fallbacks``.
        """
        from mechopt.solve import CVXPY_QP_SOLVERS

        first, fallback = CVXPY_QP_SOLVERS
        start = time.perf_counter()
        alpha, highs = self._solve_with(first)
        certified = False
        if alpha is not None:
            dual, gap = self._gap(alpha)
            self.max_gap = max(self.max_gap, gap)
            certified = gap <= self.gap_tolerance(dual)
        if not certified:
            self.qp_fallbacks += 1
            alpha, clarabel = self._solve_with(fallback)
            if alpha is None:
                raise not_optimal_error(
                    SolveStatus.worst([highs.status, clarabel.status]),
                    "the dual working-set QP was not solved: "
                    f"HiGHS {highs.status.value} ({highs.message}); "
                    f"Clarabel {clarabel.status.value} ({clarabel.message})",
                )
            dual, gap = self._gap(alpha)
            if gap > max(self.gap_tolerance(dual), 1e-5 * max(1.0, abs(dual))):
                raise SolverError(f"the dual working-set QP was not solved to optimality (duality gap {gap:.2g})")
        self.qp_seconds += time.perf_counter() - start
        self.alpha = alpha
        tiny = 1e-10 * max(1.0, float(alpha.max(initial=0.0)))
        self.age = np.where(alpha > tiny, 0, self.age + 1)
        self.norm2 = float(alpha @ self.H @ alpha)
        self.objective = float(self.L @ alpha - 0.5 * self.norm2)
        self._prune()
        self._beta = self._beta_from_alpha()

    def _beta_from_alpha(self) -> np.ndarray:
        ex = self.ex
        beta = np.zeros(ex.codes.shape)
        if self.one:
            if self.n_cuts:
                beta[self.rows, ex.truth] += self.alpha.sum() / ex.n
                flat = (self.rows[None, :] * ex.n_candidates + self.J).ravel()
                weights = np.repeat(self.alpha / ex.n, ex.n)
                beta -= np.bincount(flat, weights, minlength=beta.size).reshape(beta.shape)
        else:
            np.add.at(beta, (self.cut_row, ex.truth[self.cut_row]), self.alpha)
            np.add.at(beta, (self.cut_row, self.cut_col), -self.alpha)
        # atoms whose weights cancel exactly (chosen = true outcome) must not look like support
        beta[np.abs(beta) < 1e-15] = 0.0
        return beta

    def w1(self) -> float:
        return float(np.sum(self._beta * self.ex.values))

    def scores(self):
        if self.G is not None and len(self.G) == self.n_cuts:
            out = np.zeros(self.ex.codes.shape)
            for weight, g in zip(self.alpha, self.G, strict=True):
                if weight:
                    out += weight * g
            return out
        return self.w1() * self.ex.values + self.model.kernel_sums(self.kernel, self.ex, self._beta, self.ex, self.cache)

    def finish(self) -> FittedWeights:
        support = np.nonzero(np.any(self._beta != 0.0, axis=1))[0]
        return FittedWeights(
            w1=self.w1(), w_psi=None, support=self.ex.take(support), beta=self._beta[support],
            cache_hits=(self.cache.hits, self.cache.misses),
        )
