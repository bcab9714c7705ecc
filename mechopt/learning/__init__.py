"""Payment-rule learning: the mechanism-design domains, outcome rules and exact evaluation.

Dütting, Fischer, Jirapinyo, Lai, Lubin, Parkes, "Payment rules through discriminant-based
classifiers" (EC 2012); docs/payment-rules.md.

- :mod:`~mechopt.learning.domains`: type distributions and the array representation of
  instances and outcomes (read its docstring first);
- :mod:`~mechopt.learning.rules`: outcome rules on batches (:func:`apply_rule`);
- :mod:`~mechopt.learning.welfare`: exact welfare tables (dynamic program) and the
  vectorized LOS greedy rule;
- :mod:`~mechopt.learning.evaluate`: accuracy / regret / IR violation / welfare ratio of any
  price function ``t(x_{-i}, o)`` (``from mechopt.learning.evaluate import evaluate``; the
  function is not re-exported here so that it does not shadow its module), and the baseline
  price functions;
- :mod:`~mechopt.learning.datasets`: labelled instances cached on disk.
"""

from mechopt.learning.datasets import LabelledDataset, cache_dir, make_dataset
from mechopt.learning.domains import (
    DOMAINS,
    AssignmentProblem,
    AssignmentProfiles,
    MultiMindedCA,
    SingleItemAuction,
    XORProfiles,
    make_domain,
)
from mechopt.learning.evaluate import (
    Evaluation,
    PriceFunction,
    assignment_vcg_prices,
    baseline_prices,
    second_price,
    vcg_prices,
)
from mechopt.learning.rules import RuleOutcomes, apply_rule
from mechopt.learning.welfare import greedy_outcomes, welfare_table

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
