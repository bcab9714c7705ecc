"""VCG / GVA payments with the Clarke pivot (Vickrey 1961, Clarke 1971, Groves 1973).

For an allocation G* with welfare W, bidder i pays

    p_i = W_{-i} − (W − v_i(G*_i))                                     (references.md §1)

where W_{-i} is the optimal welfare of the marginal economy without i.  Under the optimal
rule a loser pays 0 (removing it does not change the optimum), so only the winners'
marginal economies are solved.  For any other allocation rule (the greedy rule, say) the
same formula gives the "VCG-based" baseline of Dütting et al. (EC 2012, §6): every bidder's
marginal economy is solved and a loser may be charged.

The marginal economies are independent MILPs; they run through :class:`mechopt.parallel.Executor`
at MIP gap 0, and welfare is summed exactly from bid values, never read from the solver.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mechopt.auction import CombinatorialAuction
from mechopt.mechanisms.outcome import Allocation, Outcome
from mechopt.mechanisms.wdp import solve_wdp
from mechopt.parallel import Executor
from mechopt.solve import DEFAULT_SOLVER, SolverError, SolveResult, SolveStatus

__all__ = ["vcg_payments", "run_vcg", "marginal_welfare", "clarke_outcome"]

#: relative tolerance for comparing two optimal welfare values from the solver
WELFARE_RTOL = 1e-9


def marginal_welfare(
    auction: CombinatorialAuction,
    bidder_id: str,
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    threads: int | None = None,
) -> tuple[float, SolveResult]:
    """Optimal welfare W_{-i} of the economy without ``bidder_id`` (a picklable task)."""
    alloc = solve_wdp(
        auction,
        exclude=(bidder_id,),
        solver=solver,
        time_limit=time_limit,
        mip_gap=mip_gap,
        threads=threads,
    )
    return alloc.welfare, alloc.solve


def vcg_payments(
    allocation: Allocation,
    *,
    executor: Executor | None = None,
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    threads: int | None = None,
    progress: str | None = None,
) -> Outcome:
    """Clarke-pivot payments for ``allocation`` (see the module docstring)."""
    start = time.perf_counter()
    auction = allocation.auction
    executor = executor or Executor(1)
    if allocation.rule == "optimal":
        charged = allocation.winners
    else:
        charged = auction.bidder_ids
    tasks = [(auction, b, solver, time_limit, mip_gap, threads) for b in charged]
    results = executor.map(marginal_welfare, tasks, progress=progress)
    outcome = clarke_outcome(allocation, dict(zip(charged, results, strict=True)))
    main_seconds = allocation.solve.seconds if allocation.solve is not None else 0.0
    return replace(outcome, seconds=main_seconds + time.perf_counter() - start)


def clarke_outcome(
    allocation: Allocation, marginals: Mapping[str, tuple[float, SolveResult]]
) -> Outcome:
    """The VCG outcome of ``allocation`` from already solved marginal economies.

    ``marginals`` maps each charged bidder i to ``(W_{-i}, solve report)``; bidders not in it
    pay 0.  Used by :func:`vcg_payments` and by callers that solve the marginal economies
    together with other work (the shill audit flattens them with its exclusion runs).
    ``seconds`` is the sum of the solver times of the allocation and the marginal economies.
    """
    auction = allocation.auction
    payments = {b: 0.0 for b in auction.bidder_ids}
    solves: dict[str, SolveResult] = {}
    notes: list[str] = []
    for b, (w_minus_i, solve) in marginals.items():
        solves[b] = solve
        others_now = allocation.welfare_without(b)
        if w_minus_i < others_now:
            # the current allocation without b is feasible in b's marginal economy
            scale = max(1.0, abs(others_now))
            if solve.is_optimal and others_now - w_minus_i > WELFARE_RTOL * scale:
                raise SolverError(
                    f"marginal economy without {b!r} reported optimal welfare {w_minus_i} "
                    f"below the feasible {others_now}"
                )
            w_minus_i = others_now
        payments[b] = w_minus_i - others_now
        if not solve.is_optimal:
            notes.append(f"payment of {b!r} rests on a marginal economy that is {solve.status.value}")
    if not allocation.is_optimal:
        notes.insert(0, f"the allocation is {allocation.status.value}: payments are not VCG payments")
    status = SolveStatus.worst([allocation.status, *(s.status for s in solves.values())])
    main_seconds = allocation.solve.seconds if allocation.solve is not None else 0.0
    return Outcome(
        allocation=allocation,
        payments=payments,
        payment_rule="vcg",
        status=status,
        seconds=main_seconds + sum(s.seconds for s in solves.values()),
        marginal_solves=solves,
        notes=tuple(notes),
    )


def run_vcg(
    auction: CombinatorialAuction,
    *,
    executor: Executor | None = None,
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    threads: int | None = None,
    progress: str | None = None,
    **solve_options: Any,
) -> Outcome:
    """Solve the winner determination problem and charge VCG payments."""
    allocation = solve_wdp(
        auction, solver=solver, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
        options=solve_options or None,
    )
    return vcg_payments(
        allocation,
        executor=executor,
        solver=solver,
        time_limit=time_limit,
        mip_gap=mip_gap,
        threads=threads,
        progress=progress,
    )
