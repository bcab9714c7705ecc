"""Optimal winner determination: build the MILP, solve it, read the allocation back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from mechopt.auction import CombinatorialAuction
from mechopt.formulations.wdp import build_wdp_model, read_wdp_allocation, unscale_result
from mechopt.mechanisms.greedy import greedy_bids
from mechopt.mechanisms.outcome import Allocation
from mechopt.solve import (
    DEFAULT_SOLVER,
    InfeasibleProblem,
    SolverError,
    SolveStatus,
    not_optimal_error,
    solve_model,
)

__all__ = ["solve_wdp"]


def solve_wdp(
    auction: CombinatorialAuction,
    *,
    exclude: Iterable[str] = (),
    must_win: Iterable[str] = (),
    solver: str | Any = DEFAULT_SOLVER,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    threads: int | None = None,
    options: dict | None = None,
) -> Allocation:
    """Welfare-maximizing allocation of ``auction`` (without the bidders in ``exclude``;
    with every bidder in ``must_win`` winning one of its bids).

    The returned :class:`Allocation` carries the solver's report; check ``is_optimal``
    before treating it as the optimum.  A time or iteration limit yields a feasible, unproven
    allocation (the solver's incumbent, or the LOS greedy allocation when the solver stopped
    before finding one, said in its message); a solver error or an unknown stop without a
    solution raises :class:`SolverError` with the cause.  The report's objective
    and bound are in the unit of the values (the MILP is solved scaled, see
    :mod:`mechopt.formulations.wdp`); values outside the guaranteed range raise
    :class:`~mechopt.auction.ValueRangeError`.
    """
    excluded = frozenset(str(b) for b in exclude)
    required = tuple(str(b) for b in must_win)
    model = build_wdp_model(auction, exclude=excluded, must_win=required)
    if len(model.BIDS) == 0:  # nobody left: the empty allocation is optimal
        from mechopt.solve import SolveResult

        result = SolveResult(SolveStatus.OPTIMAL, 0.0, 0.0, 0.0, str(solver), "no bids")
        return Allocation(auction, {}, "optimal", result, excluded)
    result = solve_model(
        model, solver, time_limit=time_limit, mip_gap=mip_gap, threads=threads, options=options
    )
    result = unscale_result(result, model.objective_scale.value)
    if result.is_limit and not result.has_solution and not required:
        # a time or iteration limit stopped the solver before any incumbent: fall back to the
        # LOS greedy allocation, which is feasible, and say loudly that it is not proven optimal
        greedy = greedy_bids(auction, excluded)
        welfare = auction.welfare_of(greedy.values())
        fallback = replace(
            result,
            status=SolveStatus(result.termination, has_solution=True),
            objective=welfare,
            message=f"{result.termination.value} before any incumbent: greedy allocation used",
        )
        return Allocation(auction, greedy, "optimal", fallback, excluded)
    if result.status == SolveStatus.INFEASIBLE and required:
        raise InfeasibleProblem(f"bidders {', '.join(required)} cannot all win at once")
    if not result.has_solution:
        # x = 0 is always feasible, so anything else is a solver failure (or a limit with
        # must-win bidders, where the greedy allocation need not be feasible)
        text = f"winner determination returned no allocation: {result.status.value}"
        if result.message and result.message != result.termination.value:
            text += f" ({result.message})"
        raise not_optimal_error(result.status, text)
    try:
        bids = read_wdp_allocation(model)
    except ValueError as exc:
        raise SolverError(str(exc)) from None
    return Allocation(auction, bids, "optimal", result, excluded)
