"""Optimal winner determination: build the MILP, solve it, read the allocation back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from mechopt.auction import CombinatorialAuction, id_list
from mechopt.formulations.wdp import build_wdp_model, read_wdp_allocation
from mechopt.mechanisms.greedy import greedy_bids
from mechopt.mechanisms.outcome import Allocation, exact_sum
from mechopt.solve import DEFAULT_SOLVER, InfeasibleProblem, SolverError, SolveStatus, solve_model

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
    before treating it as the optimum.  A time limit yields a feasible, unproven allocation
    (the solver's incumbent, or the LOS greedy allocation when the solver stopped before
    finding one); a solver failure raises :class:`SolverError`.
    """
    excluded = frozenset(id_list("exclude", exclude))
    required = tuple(id_list("must_win", must_win))
    model = build_wdp_model(auction, exclude=excluded, must_win=required)
    if len(model.BIDS) == 0:  # nobody left: the empty allocation is optimal
        from mechopt.solve import SolveResult

        result = SolveResult(SolveStatus.OPTIMAL, 0.0, 0.0, 0.0, str(solver), "no bids")
        return Allocation(auction, {}, "optimal", result, excluded)
    result = solve_model(
        model, solver, time_limit=time_limit, mip_gap=mip_gap, threads=threads, options=options
    )
    if result.status is SolveStatus.NO_SOLUTION and not required:
        # stopped (time limit) before any incumbent: fall back to the LOS greedy allocation,
        # which is feasible, and say loudly that it is not proven optimal
        greedy = greedy_bids(auction, excluded)
        welfare = exact_sum(b.value for b in greedy.values())
        fallback = replace(
            result,
            status=SolveStatus.FEASIBLE,
            objective=welfare,
            message=f"{result.message}: no incumbent, greedy allocation used",
        )
        return Allocation(auction, greedy, "optimal", fallback, excluded)
    if result.status is SolveStatus.INFEASIBLE and required:
        raise InfeasibleProblem(f"bidders {', '.join(required)} cannot all win at once")
    if not result.status.has_solution:
        # x = 0 is always feasible, so anything else is a solver failure
        raise SolverError(f"winner determination returned no allocation: {result.status.value}")
    try:
        bids = read_wdp_allocation(model)
    except ValueError as exc:
        raise SolverError(str(exc)) from None
    return Allocation(auction, bids, "optimal", result, excluded)
