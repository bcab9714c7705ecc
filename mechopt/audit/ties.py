"""Is the optimal allocation unique?  A re-solve with a no-good cut answers it exactly.

Given an optimal allocation with welfare W and accepted positive-value bids B*, the model

    max  Σ b_k x_k
    s.t. the winner-determination constraints                        (build_wdp_model)
         Σ_k b_k x_k ≥ W − τ    (divided by objective_scale)        (welfare_floor)
         Σ_{k ∈ B*} (1 − x_k) + Σ_{k ∈ P \\ B*} x_k ≥ 1                (differ_from_reference)

(P: bids of positive value, τ: :func:`~mechopt.audit.economies.welfare_tolerance`) has a
solution iff another allocation, differing in at least one positive-value bid, is also
optimal.  Bids of value 0 are left free: accepting or dropping them changes no welfare, no
utility and no payment, so they do not make a tie.  The no-good cut is Balas & Jeroslow's
(SIAM J. Appl. Math. 23(1), 1972) canonical cut for 0-1 points.

Why ties matter for an audit: a VCG utility u_i = W − W_{-i} does not depend on which
optimal allocation is chosen, and so neither does the drop u_ι − u_ι^{~θ} that the shill
signature is made of.  The *winner list* and the *payments* (hence revenue) do: with a tie,
the winners shown are one of several optimal allocations, and revenue may differ between
them.  The report says so instead of presenting one tie-break as the answer.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pyomo.environ as pyo

from mechopt.auction import Bid, CombinatorialAuction
from mechopt.audit.economies import SolveSettings, welfare_tolerance
from mechopt.formulations.wdp import build_wdp_model, read_wdp_allocation
from mechopt.mechanisms.wdp import WDP_OPTIONS
from mechopt.solve import (
    SolverError,
    SolveResult,
    SolverNotFound,
    SolveStatus,
    solve_model,
    with_defaults,
)

__all__ = ["Uniqueness", "TieCheck", "build_alternative_optimum_model", "check_unique_optimum"]


class Uniqueness(enum.Enum):
    """Answer of a tie check."""

    UNIQUE = "unique"
    """No other allocation (differing in a positive-value bid) reaches the optimal welfare."""
    TIED = "tied"
    """Another optimal allocation exists; ``TieCheck.alternative`` shows one."""
    UNKNOWN = "not proven"
    """The check itself was not solved to proven optimality (time limit, solver failure)."""
    SKIPPED = "not checked"
    """The economy itself is not proven optimal, so uniqueness is meaningless."""


@dataclass(frozen=True)
class TieCheck:
    """Result of :func:`check_unique_optimum` for one economy."""

    uniqueness: Uniqueness
    alternative: Mapping[str, Bid] | None = None
    solve: SolveResult | None = None

    @property
    def tied(self) -> bool:
        return self.uniqueness is Uniqueness.TIED

    def to_dict(self) -> dict:
        alt = None
        if self.alternative is not None:
            alt = {b: bid.id for b, bid in self.alternative.items()}
        return {"uniqueness": self.uniqueness.value, "alternative": alt}


def build_alternative_optimum_model(
    auction: CombinatorialAuction,
    reference: Mapping[str, Bid],
    welfare: float,
    exclude: Iterable[str] = (),
) -> pyo.ConcreteModel:
    """The WDP of ``auction`` without ``exclude``, restricted to optimal allocations that
    differ from ``reference`` (winner -> accepted bid) in a positive-value bid.

    Builds only; see the module docstring for the formulation.
    """
    m = build_wdp_model(auction, exclude=exclude)
    chosen = {part.id for bid in reference.values() for part in bid.components if part.value > 0}
    positive = [k for k in m.BIDS if pyo.value(m.value[k]) > 0]
    floor = welfare - welfare_tolerance(welfare)
    m.welfare_floor = pyo.Constraint(
        expr=m.welfare.expr >= floor / m.objective_scale,
        doc="Welfare at least the optimum (less a relative tolerance of 1e-9), "
        "divided by objective_scale like the objective",
    )
    m.differ_from_reference = pyo.Constraint(
        expr=sum(1 - m.x[k] for k in positive if k in chosen)
        + sum(m.x[k] for k in positive if k not in chosen)
        >= 1,
        doc="No-good cut: accept or drop at least one positive-value bid unlike the reference",
    )
    return m


def check_unique_optimum(
    auction: CombinatorialAuction,
    reference: Mapping[str, Bid],
    exclude: Iterable[str],
    settings: SolveSettings,
) -> TieCheck:
    """Decide whether ``reference`` is the only optimal allocation (a picklable task).

    ``reference`` must be a proven optimal allocation of ``auction`` without ``exclude``.
    """
    welfare = auction.welfare_of(reference.values())
    excluded = frozenset(exclude)
    has_positive = any(
        bid.value > 0 for bidder, bid in auction.iter_bids() if bidder.id not in excluded
    )
    if not has_positive:
        return TieCheck(Uniqueness.UNIQUE)
    model = build_alternative_optimum_model(auction, reference, welfare, excluded)
    try:
        result = solve_model(
            model, settings.solver, time_limit=settings.time_limit, threads=settings.threads,
            options=with_defaults(settings.solver, WDP_OPTIONS, None),
        )
    except SolverNotFound:
        raise
    except SolverError as exc:
        failed = SolveResult(exc.status or SolveStatus.ERROR, None, None, 0.0, settings.solver, str(exc))
        return TieCheck(Uniqueness.UNKNOWN, None, failed)
    if result.status == SolveStatus.INFEASIBLE:
        return TieCheck(Uniqueness.UNIQUE, None, result)
    if not result.is_optimal:
        return TieCheck(Uniqueness.UNKNOWN, None, result)
    try:
        alternative = dict(read_wdp_allocation(model))
    except ValueError as exc:
        raise SolverError(str(exc)) from None
    # the floor holds only up to the solver's feasibility tolerance: judge by the exact sum
    alt_welfare = auction.welfare_of(alternative.values())
    if alt_welfare >= welfare - welfare_tolerance(welfare):
        return TieCheck(Uniqueness.TIED, alternative, result)
    return TieCheck(Uniqueness.UNIQUE, None, result)
