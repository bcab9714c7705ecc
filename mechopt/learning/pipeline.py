"""The payment-rule pipeline: label → learn and select → evaluate against the baselines → save.

One function, :func:`learn_payment_rule`, used by ``mechopt payments learn`` and by every row
of the paper's reproduction (:mod:`mechopt.benchmarks.payments_reproduce`):

1. label a training, a validation and a test set of the domain under the outcome rule (seeds
   from :func:`mechopt.domains.splits.split_seeds`; cached);
2. fit the hyper-parameter grid by cutting planes and keep the best rule on the validation
   set (:func:`mechopt.learning.train.select_payment_rule`);
3. evaluate it exactly on the test set at each payment offset, and the domain's baselines
   (:data:`mechopt.domains.evaluate.DOMAIN_BASELINES`) on the same instances
   (:func:`evaluate_against_baselines`);
4. save it (offset: the first one evaluated) with a manifest of seeds, sizes, the grid, the
   selected grid point and its metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mechopt.domains.datasets import LabelledDataset, make_dataset
from mechopt.domains.evaluate import DOMAIN_BASELINES, Evaluation, baseline_prices, evaluate
from mechopt.domains.splits import split_seeds
from mechopt.errors import InputError
from mechopt.learning.payment_rule import PaymentRule, RuleEvaluation
from mechopt.learning.structured import StructuredModel
from mechopt.learning.train import CandidateFit, GridPoint, SelectionResult, select_payment_rule
from mechopt.parallel import Executor

__all__ = ["LearnedPaymentRule", "learn_payment_rule", "evaluate_against_baselines"]


@dataclass(frozen=True)
class LearnedPaymentRule:
    """What :func:`learn_payment_rule` did: the data, the selection, the test metrics."""

    settings: dict[str, Any]
    """The domain's settings (``domain.settings()``)."""
    rule: str
    seeds: dict[str, int]
    sizes: dict[str, int]
    datasets: dict[str, LabelledDataset]
    """``train``, ``validation`` and (when ``n_test`` > 0) ``test``."""
    selection: SelectionResult
    payment_rule: PaymentRule | None
    """The selected rule at ``offsets[0]`` with its manifest; None if no grid point gave one."""
    offsets: tuple[float, ...]
    test: tuple[RuleEvaluation, ...]
    """The selected rule on the test set at each of ``offsets`` (empty without a rule or test set)."""
    baselines: dict[str, Evaluation]
    """Each baseline on the test set (empty without a test set)."""
    saved: Path | None

    @property
    def selected(self) -> CandidateFit | None:
        return self.selection.selected


def evaluate_against_baselines(
    payment_rule: PaymentRule | None,
    test: LabelledDataset,
    baselines: Sequence[str],
    *,
    offsets: Sequence[float] = (0.0,),
    executor: Executor | None = None,
) -> tuple[tuple[RuleEvaluation, ...], dict[str, Evaluation]]:
    """A payment rule at each offset (none if ``payment_rule`` is None) and the named baselines
    of its domain, evaluated exactly on the same labelled test instances."""
    domain = test.domain.name
    compared = {p: evaluate(test.profiles, test.outcomes, baseline_prices(domain, p, executor=executor))
                for p in baselines}
    learned = () if payment_rule is None else tuple(
        payment_rule.with_offset(o).evaluate(test.profiles, test.outcomes) for o in offsets)
    return learned, compared


def learn_payment_rule(
    domain: Any,
    rule: str,
    model: StructuredModel,
    kernel: str,
    grid: Sequence[GridPoint],
    *,
    n_train: int,
    n_validation: int,
    n_test: int,
    seed: int = 0,
    select_by: str = "regret",
    learner_options: dict[str, Any] | None = None,
    offsets: Sequence[float] = (0.0,),
    baselines: Sequence[str] | None = None,
    executor: Executor | None = None,
    cache: Any = True,
    progress: Callable[[str], str | None] = lambda label: None,
    info: dict[str, Any] | None = None,
    save_to: str | Path | None = None,
    strict: bool = True,
) -> LearnedPaymentRule:
    """Label, learn and select, evaluate against the baselines, save (module docstring).

    ``domain``: a domain of :mod:`mechopt.domains.distributions`; ``rule``: its outcome rule;
    ``model``, ``kernel``, ``grid``, ``select_by``, ``learner_options``: as for
    :func:`~mechopt.learning.train.select_payment_rule`.  ``offsets``: payment offsets at which
    the rule is evaluated (saved with the first).  ``baselines``: names for
    :func:`~mechopt.domains.evaluate.baseline_prices` [the domain's
    :data:`~mechopt.domains.evaluate.DOMAIN_BASELINES`].  ``progress(label)`` returns a progress
    label or None.  ``info``: more manifest entries.  ``save_to``: where to save the rule
    (``NAME`` → ``NAME.json`` + ``NAME.npz``), None: not saved.  ``strict``: raise ValueError
    when no grid point gives a rule (else the result has ``payment_rule`` None, baselines
    still evaluated).
    """
    if not offsets:
        raise InputError("give at least one payment offset")
    executor = executor or Executor(1)
    seeds = split_seeds(seed)
    sizes = {"train": n_train, "validation": n_validation, "test": n_test}
    datasets = {}
    for part in ("train", "validation", "test"):
        if sizes[part]:
            datasets[part] = make_dataset(domain, rule, sizes[part], seeds[part], executor=executor, cache=cache,
                                          progress=progress(f"labelling {sizes[part]} {part} instances"))
    selection = select_payment_rule(
        model, kernel, grid, datasets["train"], datasets["validation"], domain=domain.settings(), rule=rule,
        select_by=select_by, learner_options=learner_options, executor=executor,
        progress=progress(f"fitting {len(grid)} grid point(s)"),
    )
    if strict:
        selection.rule  # noqa: B018  (raises ValueError when no grid point gave a rule)
    selected = selection.selected
    test: tuple[RuleEvaluation, ...] = ()
    compared: dict[str, Evaluation] = {}
    if n_test:
        names = DOMAIN_BASELINES[domain.name] if baselines is None else baselines
        test, compared = evaluate_against_baselines(None if selected is None else selected.rule, datasets["test"],
                                                    names, offsets=offsets, executor=executor)
    payment_rule = saved = None
    if selected is not None:
        assert selected.rule is not None and selected.validation is not None  # only a validated fit is selected
        metrics: dict[str, Any] = {"validation": selected.validation.to_dict()}
        if test:
            metrics["test"] = {"offset": float(offsets[0]), **test[0].to_dict()}
        manifest = {"seeds": seeds, "sizes": sizes, "select_by": select_by,
                    "selected": {"C": selected.point.C, "gamma": selected.point.gamma},
                    "grid": [c.summary() for c in selection.candidates], "metrics": metrics,
                    "grid_seconds": selection.seconds, **(info or {})}
        payment_rule = PaymentRule(selected.rule.learner, selected.rule.domain, rule, float(offsets[0]), manifest)
        if save_to is not None:
            saved = payment_rule.save(save_to)
    return LearnedPaymentRule(
        settings=domain.settings(), rule=rule, seeds=seeds, sizes=sizes, datasets=datasets, selection=selection,
        payment_rule=payment_rule, offsets=tuple(float(o) for o in offsets), test=test, baselines=compared,
        saved=saved,
    )
