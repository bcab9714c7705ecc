"""Exact incentive evaluation of a payment rule given as a price function, and the baselines.

Dütting, Fischer, Jirapinyo, Lai, Lubin, Parkes, "Payment rules through discriminant-based
classifiers" (EC 2012), §2, §4.2 and §6.1.2; docs/payment-rules.md#evaluation-metrics.

Price functions
---------------
A payment rule is a **price function** ``t(x_{-i}, o)``: the price agent ``i`` pays for
outcome ``o``, which may depend on the other agents' types but not on its own.  Here it is
any callable

    price_fn(others) -> ndarray (N, K)

where ``others`` are the profiles of the other agents (``profiles.without_agent(i)``: the
same class as the profiles, ``n − 1`` agents, the others in their original order — a
learner may re-order them) and column ``o`` holds the price of outcome ``o`` for the agent
left out, for every outcome the agent can get: ``K = 2^m`` bundles (bitmask index, column 0
the null outcome) for combinatorial auctions, ``K = n_items`` for the assignment.  Because
the callable never sees ``x_i``, the agent-independence of the price (eq. (1) of the paper)
holds by construction.  Agent ``i`` pays ``t(x_{-i}, g_i(x))``.

Metrics (over every agent of every instance, exactly)
-----------------------------------------------------
With ``u_i(o) = v_i(o) − t(x_{-i}, o)`` and the rule's outcome ``g_i(x)``:

* ex post **regret** ``max_o u_i(o) − u_i(g_i(x))`` — the max runs over *all* ``2^m``
  bundles (or all items): every outcome is reachable by some report (consumer sovereignty);
  reported as the mean (and the maximum);
* **IR violation**: share of agents with ``u_i(g_i(x)) < 0``;
* **accuracy**: share of agents whose outcome is predicted.  With ``predictions`` (the
  classifier's ``h_w(x)`` per agent, same encoding as outcomes) it is their agreement with
  ``g``; without, an agent counts as predicted when ``g_i(x)`` maximizes ``u_i`` (regret 0
  up to ``tol``) — ties, e.g. free disposal of unused items under VCG prices, resolved in
  ``g``'s favour;
* **welfare ratio under deallocation** (domains with a null outcome): give the null outcome
  to every agent with an IR violation and report the mean over instances of welfare after /
  before (paper §4.2.2; 1 for an instance with welfare 0).  ``None`` for the assignment.

Baselines (:func:`baseline_prices`)
-----------------------------------
Each is a Clarke pivot with the other agents re-optimized for the baseline's own objective
on the items the agent leaves them:

* ``second-price`` (single item): ``t(1) = max_{j≠i} v_j``, ``t(0) = 0``.
* ``vcg`` (combinatorial auctions): ``t(S) = W_{-i}(M) − W_{-i}(M ∖ S)`` with ``W_{-i}(T)`` the
  others' optimal welfare on items ``T`` (:func:`mechopt.domains.welfare.welfare_table`).
  Strategyproof for the optimal rule.  Under the greedy rule this is the paper's VCG row:
  with α = 0.75 it reproduces Table 2's VCG accuracy / regret / IR to within sampling
  noise (the "others get their greedy allocation" variant does not).
* assignment, agent ``i``, item ``j``, ``N`` all items:
  ``vcg``: ``U_{-i}(N) − U_{-i}(N ∖ j)`` (utilitarian optimum of the others);
  ``tot-vcg``: ``T_{-i}(N) − T_{-i}(N ∖ j)`` (total value of the others' leximin assignment);
  ``eg-vcg``: ``E_{-i}(N) − E_{-i}(N ∖ j)`` (minimum value of the others' leximin assignment);
  ``vcg-paper``: ``U_{-i}(N) − T_{-i}(N ∖ j)`` (the paper's literal vcg, see below).
  Leximin restricted to the others is again leximin (the leximin order is separable: adding
  the same value to two utility vectors keeps their order), so when agent ``i`` gets ``j``
  the others get their leximin assignment on ``N ∖ j``.  Hence at the realized outcome
  tot-vcg, eg-vcg and vcg-paper charge exactly the paper's §6.4 payments, and the price of
  any other item ``j`` is what the same payment formula charges for the report that wins
  ``j``.  The paper's vcg payment is ``U_{-i}(N) − W_{-i}`` with ``W_{-i}`` the others'
  total welfare under ``g`` — their *leximin* welfare ``T_{-i}(N ∖ j)`` — so ``vcg-paper``
  differs from ``tot-vcg`` only by the item-independent ``U_{-i}(N) − T_{-i}(N)``: the same
  accuracy and regret, higher payments (more IR violation).  Our ``vcg`` re-optimizes the
  others' *utilitarian* welfare on ``N ∖ j`` instead: a genuine Clarke pivot, a different
  (in our measurements lower-regret) price function than the paper's literal one.
  ``tot-vcg`` prices can be negative.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mechopt.domains.distributions import AssignmentProfiles, XORProfiles
from mechopt.domains.welfare import welfare_table
from mechopt.errors import InputError

__all__ = [
    "PriceFunction",
    "Evaluation",
    "evaluate",
    "second_price",
    "vcg_prices",
    "assignment_vcg_prices",
    "baseline_prices",
    "BASELINES",
    "DOMAIN_BASELINES",
    "ASSIGNMENT_BASELINES",
    "EVAL_TOL",
]

PriceFunction = Callable[[Any], np.ndarray]
"""``price_fn(others) -> (N, K)`` prices of every outcome for the agent left out."""

#: the leximin sub-problems behind tot-vcg / eg-vcg are enumerated when they have at most
#: this many assignments (n ≤ 8 agents), and solved by the ordered-outcomes MILPs otherwise
ENUMERATE_BELOW = 50_000
#: tolerance for "utility < 0" and "regret = 0" (values live in [0, 1])
EVAL_TOL = 1e-9


@dataclass(frozen=True)
class Evaluation:
    """Incentive metrics of one payment rule on one labelled test set (module docstring).

    Shares (``accuracy``, ``ir_violation``) are fractions in [0, 1]; ``regret`` is the mean
    ex post regret per agent, in the units of the values.  The per-agent arrays ``regrets``,
    ``utilities``, ``payments`` have shape ``(N, n)``.
    """

    accuracy: float
    accuracy_source: str
    regret: float
    max_regret: float
    ir_violation: float
    welfare_ratio: float | None
    n_instances: int
    n_agents: int
    regrets: np.ndarray
    utilities: np.ndarray
    payments: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-agent arrays)."""
        out = asdict(self)
        for key in ("regrets", "utilities", "payments"):
            out.pop(key)
        out["mean_payment"] = float(self.payments.mean())
        return out


def _prices_for(price_fn: PriceFunction, others: Any, n_inst: int, n_outcomes: int, agent: int) -> np.ndarray:
    prices = np.asarray(price_fn(others), dtype=np.float64)
    if prices.shape != (n_inst, n_outcomes):
        raise ValueError(
            f"price function returned shape {prices.shape} for agent {agent}; expected "
            f"({n_inst}, {n_outcomes}) (instances x outcomes)"
        )
    if not np.all(np.isfinite(prices)):
        raise InputError(f"price function returned NaN or infinite prices for agent {agent}")
    return prices


def evaluate(
    profiles: XORProfiles | AssignmentProfiles,
    outcomes: np.ndarray,
    price_fn: PriceFunction,
    *,
    predictions: np.ndarray | None = None,
    tol: float = EVAL_TOL,
) -> Evaluation:
    """Accuracy, regret, IR violation and welfare ratio of ``price_fn`` (module docstring).

    ``outcomes`` ``(N, n)``: the rule's outcomes ``g(x)`` in the domain's encoding;
    ``predictions`` (optional, same shape): the classifier's predicted outcomes.
    """
    n_inst, n = profiles.n_instances, profiles.n_agents
    outcomes = np.asarray(outcomes)
    if outcomes.shape != (n_inst, n):
        raise InputError(f"outcomes must have shape ({n_inst}, {n}), got {outcomes.shape}")
    n_outcomes = profiles.n_outcomes
    if outcomes.size and (outcomes.min() < 0 or outcomes.max() >= n_outcomes):
        raise InputError(f"outcomes must lie in 0 .. {n_outcomes - 1}")
    outcomes = outcomes.astype(np.int64)
    if predictions is not None:
        predictions = np.asarray(predictions)
        if predictions.shape != outcomes.shape:
            raise InputError(f"predictions must have shape {outcomes.shape}, got {predictions.shape}")
    if not tol >= 0:
        raise InputError("tolerance must be non-negative")
    values = profiles.outcome_values()  # (N, n, K)
    rows = np.arange(n_inst)
    regrets = np.zeros((n_inst, n))
    utilities = np.zeros((n_inst, n))
    payments = np.zeros((n_inst, n))
    null_prices = np.zeros((n_inst, n))
    for i in range(n):
        prices = _prices_for(price_fn, profiles.without_agent(i), n_inst, n_outcomes, i)
        util = values[:, i, :] - prices
        u_true = util[rows, outcomes[:, i]]
        regrets[:, i] = np.maximum(util.max(axis=1) - u_true, 0.0)
        utilities[:, i] = u_true
        payments[:, i] = prices[rows, outcomes[:, i]]
        null_prices[:, i] = prices[:, 0]
    violated = utilities < -tol
    if predictions is not None:
        accuracy = float(np.mean(predictions == outcomes))
        source = "predictions"
    else:
        accuracy = float(np.mean(regrets <= tol))
        source = "utility-maximizer"
    welfare_ratio = None
    if isinstance(profiles, XORProfiles):  # null outcome exists: deallocation fix
        own = values[rows[:, None], np.arange(n)[None, :], outcomes]  # (N, n)
        before = own.sum(axis=1)
        after = np.where(violated, 0.0, own).sum(axis=1)
        ratio = np.where(before > 0, after / np.where(before > 0, before, 1.0), 1.0)
        welfare_ratio = float(ratio.mean())
    return Evaluation(
        accuracy=accuracy,
        accuracy_source=source,
        regret=float(regrets.mean()),
        max_regret=float(regrets.max()),
        ir_violation=float(violated.mean()),
        welfare_ratio=welfare_ratio,
        n_instances=n_inst,
        n_agents=n,
        regrets=regrets,
        utilities=utilities,
        payments=payments,
    )


# --------------------------------------------------------------------------------------
# baselines
# --------------------------------------------------------------------------------------
def second_price(others: XORProfiles) -> np.ndarray:
    """Single item: the item costs the highest value among the others; nothing is free."""
    if not isinstance(others, XORProfiles) or others.n_items != 1 or others.n_bids != 1:
        raise InputError("second-price payments are defined for the single-item domain only")
    prices = np.zeros((others.n_instances, 2))
    prices[:, 1] = others.values[:, :, 0].max(axis=1)
    return prices


def vcg_prices(others: XORProfiles) -> np.ndarray:
    """VCG price of every bundle: ``W_{-i}(M) − W_{-i}(M ∖ S)`` (exact dynamic program)."""
    if not isinstance(others, XORProfiles):
        raise InputError("bundle VCG prices need combinatorial-auction profiles")
    table = welfare_table(others)
    full = others.full_mask
    sets = np.arange(others.n_outcomes, dtype=np.int64)
    return table[:, [full]] - table[:, full ^ sets]


def _utilitarian_value(values: np.ndarray) -> np.ndarray:
    from scipy.optimize import linear_sum_assignment

    out = np.empty(len(values))
    for k, v in enumerate(values):
        rows, cols = linear_sum_assignment(v, maximize=True)
        out[k] = math.fsum(v[rows, cols].tolist())
    return out


def _leximin_table(values: np.ndarray, executor: Any = None) -> np.ndarray:
    """Sorted leximin vectors ``(N, n')`` of a batch (enumeration when small, MILPs otherwise)."""
    from mechopt.mechanisms.assignment import leximin_vectors

    n_inst, n, q = values.shape
    if n == 0:
        return np.zeros((n_inst, 0))
    if math.perm(q, n) <= ENUMERATE_BELOW:
        return leximin_vectors(values)
    from mechopt.parallel import Executor

    executor = executor or Executor(1)
    results = executor.map(_leximin_milp_task, [(values[k],) for k in range(n_inst)])
    return np.stack(results)


def _leximin_milp_task(values: np.ndarray) -> np.ndarray:
    from mechopt.mechanisms.assignment import egalitarian_assignment

    result = egalitarian_assignment(values)
    if not result.status.is_optimal:
        from mechopt.solve import not_optimal_error

        raise not_optimal_error(
            result.status, f"leximin sub-problem for a baseline price is {result.status.value}"
        )
    return result.sorted_utilities


def assignment_vcg_prices(others: AssignmentProfiles, kind: str = "vcg", executor: Any = None) -> np.ndarray:
    """``(N, n_items)`` prices of the vcg / tot-vcg / eg-vcg baselines (module docstring)."""
    if not isinstance(others, AssignmentProfiles):
        raise InputError(f"{kind} prices are defined for the assignment domain only")
    if kind not in ASSIGNMENT_BASELINES:
        raise InputError(f"unknown assignment baseline {kind!r} (choose from {', '.join(ASSIGNMENT_BASELINES)})")
    v = others.values  # (N, n-1, q)
    n_inst, _, q = v.shape
    prices = np.empty((n_inst, q))

    def objective(sub: np.ndarray) -> np.ndarray:
        if kind == "vcg":
            return _utilitarian_value(sub)
        levels = _leximin_table(sub, executor)
        if levels.shape[1] == 0:
            return np.zeros(len(sub))
        return levels[:, 0] if kind == "eg-vcg" else levels.sum(axis=1)

    reference = _utilitarian_value(v) if kind == "vcg-paper" else objective(v)
    for j in range(q):
        keep = [c for c in range(q) if c != j]
        prices[:, j] = reference - objective(v[:, :, keep])
    return prices


#: the assignment baselines (:func:`assignment_vcg_prices`)
ASSIGNMENT_BASELINES = ("vcg", "tot-vcg", "eg-vcg", "vcg-paper")

#: baseline name -> (domains it applies to, price function factory)
BASELINES: dict[str, tuple[tuple[str, ...], Callable[..., PriceFunction] | None]] = {
    "second-price": (("single-item",), lambda **_: second_price),
    "vcg": (("single-item", "mmca", "assignment"), None),  # resolved per domain below
    "tot-vcg": (("assignment",), lambda executor=None: lambda o: assignment_vcg_prices(o, "tot-vcg", executor)),
    "eg-vcg": (("assignment",), lambda executor=None: lambda o: assignment_vcg_prices(o, "eg-vcg", executor)),
    "vcg-paper": (("assignment",),
                  lambda executor=None: lambda o: assignment_vcg_prices(o, "vcg-paper", executor)),
}


#: the baselines of each domain: what ``payments evaluate`` reports by default and what a
#: learned rule is compared with (``vcg-paper`` has tot-vcg's accuracy and regret and only
#: higher payments; the reproduction of the paper adds it, see benchmarks.payments_reproduce)
DOMAIN_BASELINES: dict[str, tuple[str, ...]] = {
    "single-item": ("second-price",),
    "mmca": ("vcg",),
    "assignment": ("vcg", "tot-vcg", "eg-vcg"),
}


def baseline_prices(domain: str, payment: str, *, executor: Any = None) -> PriceFunction:
    """The price function of baseline ``payment`` in ``domain`` (ValueError if undefined)."""
    if payment not in BASELINES:
        raise InputError(f"unknown payment rule {payment!r} (choose from {', '.join(BASELINES)})")
    domains, factory = BASELINES[payment]
    if domain not in domains:
        raise InputError(
            f"payment rule {payment!r} is not defined for domain {domain!r} "
            f"(it applies to: {', '.join(domains)})"
        )
    if payment == "vcg":
        if domain == "assignment":
            return lambda others: assignment_vcg_prices(others, "vcg", executor)
        return vcg_prices
    assert factory is not None  # only "vcg" has none, resolved above
    return factory(executor=executor)
