"""Payment-rule learning: the structural SVM of Dütting et al. and the payment rules it learns.

Dütting, Fischer, Jirapinyo, Lai, Lubin, Parkes, "Payment rules through discriminant-based
classifiers" (EC 2012); docs/payment-rules.md.  The domains it learns on (type distributions,
outcome rules, exact evaluation, labelled datasets) are :mod:`mechopt.domains`; the paper's
experiments are :mod:`mechopt.benchmarks.payments_reproduce`.

- :mod:`~mechopt.learning.structured`: structured models (joint features, separation, loss);
- :mod:`~mechopt.learning.kernels`: kernels on the attribute vectors;
- :mod:`~mechopt.learning.cutting_plane`: the cutting-plane SSVM (:class:`CuttingPlaneSSVM`);
- :mod:`~mechopt.learning.train`: grid search and selection on a validation set;
- :mod:`~mechopt.learning.payment_rule`: the learned rule (:class:`PaymentRule`), saved and
  loaded with :func:`load_payment_rule`;
- :mod:`~mechopt.learning.regret_lp`: the regret-minimizing LP baseline of the assignment.

The domain names this package exported before :mod:`mechopt.domains` existed
(``from mechopt.learning import MultiMindedCA, make_dataset, vcg_prices``) still import from
here.
"""

from mechopt.domains import (
    DOMAINS,
    AssignmentProblem,
    AssignmentProfiles,
    Evaluation,
    LabelledDataset,
    MultiMindedCA,
    PriceFunction,
    RuleOutcomes,
    SingleItemAuction,
    XORProfiles,
    apply_rule,
    assignment_vcg_prices,
    baseline_prices,
    cache_dir,
    greedy_outcomes,
    make_dataset,
    make_domain,
    second_price,
    vcg_prices,
    welfare_table,
)
from mechopt.learning.cutting_plane import CuttingPlaneSSVM, RejectedFit
from mechopt.learning.kernels import make_kernel
from mechopt.learning.payment_rule import ModelFileError, PaymentRule, load_payment_rule
from mechopt.learning.structured import make_structured_model
from mechopt.learning.train import make_grid, select_payment_rule

__all__ = [
    "CuttingPlaneSSVM",
    "RejectedFit",
    "make_kernel",
    "ModelFileError",
    "PaymentRule",
    "load_payment_rule",
    "make_structured_model",
    "make_grid",
    "select_payment_rule",
    # re-exported from mechopt.domains
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
