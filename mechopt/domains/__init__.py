"""The mechanism-design domains of the payment-rule experiments and their exact evaluation.

Dütting, Fischer, Jirapinyo, Lai, Lubin, Parkes, "Payment rules through discriminant-based
classifiers" (EC 2012); docs/payment-rules.md.  Nothing here learns (``mechopt payments evaluate``
needs only this package); the structural-SVM learner is :mod:`mechopt.learning`.

- :mod:`~mechopt.domains.distributions`: type distributions and the array representation of
  instances and outcomes (read its docstring first);
- :mod:`~mechopt.domains.xor`: XOR bids as item bitmasks (expansion, values, inner products);
- :mod:`~mechopt.domains.rules`: outcome rules on batches (:func:`apply_rule`);
- :mod:`~mechopt.domains.welfare`: exact welfare tables (dynamic program) and the
  vectorized LOS greedy rule;
- :mod:`~mechopt.domains.evaluate`: accuracy / regret / IR violation / welfare ratio of any
  price function ``t(x_{-i}, o)`` (``from mechopt.domains.evaluate import evaluate``; the
  function is not re-exported here so that it does not shadow its module), and the baseline
  price functions;
- :mod:`~mechopt.domains.datasets`: labelled instances cached on disk.
"""

from mechopt.domains.datasets import LabelledDataset, cache_dir, make_dataset
from mechopt.domains.distributions import (
    DOMAINS,
    AssignmentProblem,
    AssignmentProfiles,
    MultiMindedCA,
    SingleItemAuction,
    XORProfiles,
    make_domain,
)
from mechopt.domains.evaluate import (
    Evaluation,
    PriceFunction,
    assignment_vcg_prices,
    baseline_prices,
    second_price,
    vcg_prices,
)
from mechopt.domains.rules import RuleOutcomes, apply_rule
from mechopt.domains.welfare import greedy_outcomes, welfare_table

__all__ = [
    "DOMAINS",
    "AssignmentProblem",
    "AssignmentProfiles",
    "MultiMindedCA",
    "SingleItemAuction",
    "XORProfiles",
    "make_domain",
    "RuleOutcomes",
    "apply_rule",
    "greedy_outcomes",
    "welfare_table",
    "Evaluation",
    "PriceFunction",
    "baseline_prices",
    "second_price",
    "vcg_prices",
    "assignment_vcg_prices",
    "LabelledDataset",
    "make_dataset",
    "cache_dir",
]
