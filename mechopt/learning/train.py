"""Learning a payment rule end to end: a grid of fits, model selection on a validation set.

The paper's methodology (Dütting et al., EC 2012, §6.1.1): for every regularization constant C
(and RBF parameter γ) train a classifier on the training set, evaluate it on a validation set,
keep the best and report its test metrics.  The paper kept the most *accurate* classifier;
``select="regret"`` (the default here) keeps the one with the lowest validation regret — the
quantity the payment rule is for — and breaks ties by accuracy.  Fits with w_1 ≤ 0 are
discarded, as in the paper (§4.2).

The grid's fits are independent and run through :class:`mechopt.parallel.Executor`.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mechopt.errors import InputError
from mechopt.learning.cutting_plane import CuttingPlaneSSVM, RejectedFit
from mechopt.learning.payment_rule import PaymentRule, RuleEvaluation
from mechopt.learning.structured import StructuredModel
from mechopt.parallel import Executor
from mechopt.solve import SolverError

__all__ = ["GridPoint", "CandidateFit", "SelectionResult", "fit_grid", "make_grid", "select_payment_rule", "SELECT_BY"]

SELECT_BY = ("regret", "accuracy")


@dataclass(frozen=True)
class GridPoint:
    """One setting of the learner's hyper-parameters."""

    C: float
    gamma: float | None = None

    def label(self) -> str:
        return f"C={self.C:g}" + (f", γ={self.gamma:g}" if self.gamma is not None else "")


@dataclass(frozen=True)
class CandidateFit:
    """The outcome of one grid point: a payment rule and its validation metrics, or why not."""

    point: GridPoint
    rule: PaymentRule | None
    validation: RuleEvaluation | None
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.rule is not None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"C": self.point.C, "gamma": self.point.gamma, "seconds": self.seconds,
                               "error": self.error}
        if self.rule is not None:
            learner = self.rule.learner
            out.update({"iterations": learner.n_iter_, "converged": learner.converged_, "w1": learner.w1_,
                        "train_accuracy": learner.train_accuracy_})
        if self.validation is not None:
            out.update({f"validation_{k}": v for k, v in self.validation.to_dict().items()
                        if k in ("accuracy", "regret", "ir_violation")})
        return out


@dataclass
class SelectionResult:
    """All fits of a grid and the selected payment rule (None when every fit failed)."""

    candidates: list[CandidateFit]
    selected: CandidateFit | None
    select_by: str
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def rule(self) -> PaymentRule:
        if self.selected is None:
            errors = "; ".join(f"{c.point.label()}: {c.error}" for c in self.candidates[:3])
            raise InputError(f"no grid point gave a usable payment rule ({errors})")
        assert self.selected.rule is not None  # only a fit with a rule is selected
        return self.selected.rule


def _fit_task(model: StructuredModel, kernel: str, point: GridPoint, learner_options: dict[str, Any],
              train_profiles: Any, train_outcomes: np.ndarray, val_profiles: Any, val_outcomes: np.ndarray,
              domain: dict[str, Any], rule: str) -> CandidateFit:
    """Fit one grid point and evaluate it on the validation set (module-level: picklable)."""
    start = time.perf_counter()
    learner = CuttingPlaneSSVM(model, kernel, C=point.C, gamma=point.gamma, **learner_options)
    try:
        learner.fit(train_profiles, train_outcomes)
    except (RejectedFit, SolverError) as exc:
        return CandidateFit(point, None, None, time.perf_counter() - start, str(exc))
    payment_rule = PaymentRule(learner, domain, rule)
    validation = payment_rule.evaluate(val_profiles, val_outcomes)
    return CandidateFit(point, payment_rule, validation, time.perf_counter() - start)


def fit_grid(
    model: StructuredModel,
    kernel: str,
    points: Sequence[GridPoint],
    train: Any,
    validation: Any,
    *,
    domain: dict[str, Any],
    rule: str,
    learner_options: dict[str, Any] | None = None,
    executor: Executor | None = None,
    progress: str | None = None,
) -> list[CandidateFit]:
    """Fit every grid point on ``train`` and evaluate on ``validation`` (labelled datasets
    with ``profiles`` and ``outcomes``), in parallel through ``executor``."""
    executor = executor or Executor(1)
    options = dict(learner_options or {})
    tasks = [(model, kernel, p, options, train.profiles, train.outcomes, validation.profiles,
              validation.outcomes, domain, rule) for p in points]
    return executor.map(_fit_task, tasks, progress=progress)


def _select(candidates: Sequence[CandidateFit], select_by: str) -> CandidateFit | None:
    usable = [c for c in candidates if c.ok and c.validation is not None and math.isfinite(c.validation.regret)]
    if not usable:
        return None
    if select_by == "regret":
        return min(usable, key=lambda c: (round(c.validation.regret, 12), -c.validation.accuracy))  # type: ignore[union-attr]  # usable: validated
    return max(usable, key=lambda c: (c.validation.accuracy, -c.validation.regret))  # type: ignore[union-attr]  # usable: validated


def make_grid(Cs: Sequence[float], gammas: Sequence[float] | None) -> list[GridPoint]:
    """The product grid of C values and (for the RBF kernel) γ values."""
    for c in Cs:
        if not (math.isfinite(c) and c > 0):
            raise InputError(f"C values must be positive, got {c}")
    if not gammas:
        return [GridPoint(float(c)) for c in Cs]
    for g in gammas:
        if not (math.isfinite(g) and g > 0):
            raise InputError(f"RBF γ values must be positive, got {g}")
    return [GridPoint(float(c), float(g)) for c, g in itertools.product(Cs, gammas)]


def select_payment_rule(
    model: StructuredModel,
    kernel: str,
    points: Sequence[GridPoint],
    train: Any,
    validation: Any,
    *,
    domain: dict[str, Any],
    rule: str,
    select_by: str = "regret",
    learner_options: dict[str, Any] | None = None,
    executor: Executor | None = None,
    progress: str | None = None,
) -> SelectionResult:
    """Fit the grid and keep the best payment rule by validation ``select_by``."""
    if select_by not in SELECT_BY:
        raise InputError(f"select_by must be one of {', '.join(SELECT_BY)}, got {select_by!r}")
    if not points:
        raise InputError("the hyper-parameter grid is empty")
    start = time.perf_counter()
    candidates = fit_grid(model, kernel, points, train, validation, domain=domain, rule=rule,
                          learner_options=learner_options, executor=executor, progress=progress)
    selected = _select(candidates, select_by)
    notes = []
    rejected = [c for c in candidates if not c.ok]
    if rejected:
        notes.append(f"{len(rejected)} of {len(candidates)} grid points gave no payment rule (e.g. "
                     f"{rejected[0].point.label()}: {rejected[0].error})")
    unconverged = [c for c in candidates if c.ok and not c.rule.learner.converged_]  # type: ignore[union-attr]  # ok: has a rule
    if unconverged:
        notes.append(f"{len(unconverged)} fit(s) stopped at the iteration or time limit before reaching ε")
    return SelectionResult(candidates, selected, select_by, time.perf_counter() - start, notes)
