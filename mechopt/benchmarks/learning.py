"""``mechopt bench learn``: training seconds and test regret against training-set size.

Dütting et al. (EC 2012, §6.3.5) report that training time grew quadratically with the
training-set size and that 500 examples were their practical limit.  This benchmark trains
the payment-rule SVM (1-slack cutting planes, dual QP on HiGHS, RBF kernel) on nested
training sets — the first ℓ instances of one seeded sample, so every larger set contains
the smaller ones — with fixed hyper-parameters, and evaluates every rule exactly on one
test set.  Per size: wall-clock and CPU seconds of :meth:`CuttingPlaneSSVM.fit` (labelling
excluded, it is cached), iterations, cuts, seconds inside the QP solver and the number of
working-set QPs re-solved by Clarabel (``qp_fallbacks``, in the JSON), support size, and
the test accuracy / regret / IR violation, next to the VCG baseline on the same test set.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mechopt.domains.datasets import make_dataset
from mechopt.domains.distributions import MultiMindedCA
from mechopt.domains.evaluate import evaluate, vcg_prices
from mechopt.domains.splits import split_seeds
from mechopt.errors import InputError
from mechopt.learning.payment_rule import PaymentRule
from mechopt.learning.structured import CombinatorialModel
from mechopt.parallel import Executor

__all__ = ["TrainSizeRow", "benchmark_training_sizes"]


@dataclass(frozen=True)
class TrainSizeRow:
    size: int
    seconds: float
    cpu_seconds: float
    qp_seconds: float
    qp_fallbacks: int
    iterations: int
    cuts: int
    converged: bool
    support: int
    accuracy: float
    regret: float
    ir_violation: float
    vcg_regret: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def benchmark_training_sizes(
    sizes: Sequence[int],
    *,
    n_agents: int = 6,
    n_items: int = 5,
    n_bundles: int = 3,
    gamma: float = 0.5,
    rule: str = "greedy",
    attribute: str = "phi1",
    C: float = 1e4,
    rbf_gamma: float = 0.003,
    epsilon: float = 0.01,
    n_test: int = 1000,
    seed: int = 0,
    executor: Executor | None = None,
    cache: Any = True,
    progress: Callable[[str], str | None] = lambda label: None,
) -> list[TrainSizeRow]:
    """One row per training-set size (see the module docstring)."""
    from mechopt.learning.cutting_plane import CuttingPlaneSSVM

    sizes = sorted({int(s) for s in sizes})
    if not sizes or sizes[0] < 2:
        raise InputError("training-set sizes must be integers >= 2")
    domain = MultiMindedCA(n_agents=n_agents, n_items=n_items, n_bundles=n_bundles, gamma=gamma)
    train = make_dataset(domain, rule, sizes[-1], seed, executor=executor, cache=cache,
                         progress=progress(f"labelling {sizes[-1]} training instances"))
    test = make_dataset(domain, rule, n_test, split_seeds(seed)["test"], executor=executor, cache=cache,
                        progress=progress(f"labelling {n_test} test instances"))
    vcg = evaluate(test.profiles, test.outcomes, vcg_prices)
    rows = []
    for size in sizes:
        part = train.take(slice(0, size))
        learner = CuttingPlaneSSVM(CombinatorialModel(attribute=attribute), "rbf", C=C, gamma=rbf_gamma,
                                   epsilon=epsilon, max_iter=2000)
        cpu = time.process_time()
        wall = time.perf_counter()
        learner.fit(part.profiles, part.outcomes)
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        assert learner.support_ is not None  # the RBF kernel trains the dual
        result = PaymentRule(learner, domain.settings(), rule).evaluate(test.profiles, test.outcomes)
        rows.append(TrainSizeRow(
            size=size, seconds=wall, cpu_seconds=cpu, qp_seconds=learner.qp_seconds_,
            qp_fallbacks=learner.qp_fallbacks_, iterations=learner.n_iter_,
            cuts=learner.n_cuts_, converged=learner.converged_, support=learner.support_.n,
            accuracy=result.accuracy, regret=result.regret, ir_violation=result.ir_violation,
            vcg_regret=vcg.regret,
        ))
    return rows
