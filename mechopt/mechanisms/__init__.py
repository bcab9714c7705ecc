"""Outcome and payment rules: an auction in, a typed :class:`Outcome` out."""

from __future__ import annotations

from dataclasses import replace

from mechopt.auction import CombinatorialAuction
from mechopt.errors import InputError
from mechopt.mechanisms.core import CorePayments, core_payments, run_core
from mechopt.mechanisms.greedy import critical_payments, greedy_allocation, run_greedy
from mechopt.mechanisms.outcome import Allocation, Outcome
from mechopt.mechanisms.resolve import economy_solver
from mechopt.mechanisms.vcg import run_vcg, vcg_payments
from mechopt.mechanisms.wdp import solve_wdp
from mechopt.parallel import Executor
from mechopt.solve import DEFAULT_SOLVER

__all__ = [
    "Allocation",
    "Outcome",
    "solve_wdp",
    "greedy_allocation",
    "critical_payments",
    "run_greedy",
    "vcg_payments",
    "run_vcg",
    "CorePayments",
    "core_payments",
    "run_core",
    "run_auction",
    "RULES",
    "PAYMENT_RULES",
]

RULES = ("optimal", "greedy")
PAYMENT_RULES = ("vcg", "critical", "core", "none")


def run_auction(
    auction: CombinatorialAuction,
    *,
    rule: str = "optimal",
    payments: str = "vcg",
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    executor: Executor | None = None,
    progress: str | None = None,
    core_reference: str = "vcg",
) -> Outcome:
    """Run one outcome rule and one payment rule on ``auction``.

    ``rule``: ``optimal`` (welfare-maximizing MILP) or ``greedy`` (LOS).
    ``payments``: ``vcg`` (Clarke pivot; under the greedy rule the VCG-based baseline),
    ``critical`` (LOS critical values; greedy rule only), ``core`` (core-selecting, nearest
    to ``core_reference`` among the revenue-minimal core points; optimal rule only,
    :mod:`mechopt.mechanisms.core`: the facts of the computation are in
    ``outcome.details["core"]``) or ``none``.
    """
    if rule not in RULES:
        raise InputError(f"unknown rule {rule!r} (choose from {', '.join(RULES)})")
    if payments not in PAYMENT_RULES:
        raise InputError(f"unknown payment rule {payments!r} (choose from {', '.join(PAYMENT_RULES)})")
    if payments == "critical" and rule != "greedy":
        raise InputError("critical payments are defined for the greedy rule only (use --rule greedy)")
    if payments == "core":
        if rule != "optimal":
            raise InputError("core payments are defined for the optimal rule only")
        if mip_gap != 0:
            raise InputError("core payments need proven optimal MILPs (MIP gap 0)")
        core = run_core(
            auction, reference=core_reference, executor=executor, solver=solver,
            time_limit=time_limit, progress=progress,
        )
        return replace(
            core.outcome, notes=(*core.outcome.notes, core.summary()), details={"core": core.to_dict()}
        )
    if rule == "greedy":
        if payments == "critical":
            return run_greedy(auction)
        allocation = greedy_allocation(auction)
    else:
        # on this process's kept model, in the solver's own API where mechopt has one: the
        # marginal economies that follow re-solve it (as run_vcg does)
        allocation = economy_solver(auction, solver).solve(time_limit=time_limit, mip_gap=mip_gap)
    if payments == "vcg":
        return vcg_payments(
            allocation, executor=executor, solver=solver, time_limit=time_limit,
            mip_gap=mip_gap, progress=progress,
        )
    return Outcome(
        allocation=allocation,
        payments={},
        payment_rule="none",
        status=allocation.status,
        seconds=allocation.solve.seconds if allocation.solve else 0.0,
    )
