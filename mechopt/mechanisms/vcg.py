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

With two or more workers, :func:`run_vcg` also splits the main problem so that it does not
run alone (Amdahl): for a *pivot* bidder p (the largest contributor to the LP relaxation)
it solves, side by side, the economy without p and the economy where p must win.  The
optimum is the better of the two, and when p wins, the first solve is exactly p's marginal
economy, so no work is wasted; the other winners' marginal economies follow in parallel.
"""

from __future__ import annotations

import time
from dataclasses import replace

from mechopt.auction import CombinatorialAuction
from mechopt.mechanisms.outcome import Allocation, Outcome
from mechopt.mechanisms.wdp import solve_wdp
from mechopt.parallel import Executor
from mechopt.solve import DEFAULT_SOLVER, SolverError, SolveResult, SolveStatus

__all__ = ["vcg_payments", "run_vcg", "marginal_welfare"]

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
    known: dict[str, tuple[float, SolveResult]] | None = None,
    executor: Executor | None = None,
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    threads: int | None = None,
    progress: str | None = None,
) -> Outcome:
    """Clarke-pivot payments for ``allocation`` (see the module docstring).

    ``known`` maps bidders to an already solved marginal economy (welfare, solve report).
    """
    start = time.perf_counter()
    auction = allocation.auction
    executor = executor or Executor(1)
    if allocation.rule == "optimal":
        charged = allocation.winners
    else:
        charged = auction.bidder_ids
    known = dict(known or {})
    todo = [b for b in charged if b not in known]
    tasks = [(auction, b, solver, time_limit, mip_gap, threads) for b in todo]
    computed = dict(zip(todo, executor.map(marginal_welfare, tasks, progress=progress), strict=True))
    results = [known[b] if b in known else computed[b] for b in charged]
    payments = {b: 0.0 for b in auction.bidder_ids}
    solves: dict[str, SolveResult] = {}
    notes: list[str] = []
    for b, (w_minus_i, solve) in zip(charged, results, strict=True):
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
        seconds=main_seconds + time.perf_counter() - start,
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
    split: bool | None = None,
) -> Outcome:
    """Solve the winner determination problem and charge VCG payments.

    ``split`` (default: when the executor has two or more workers) solves the main problem
    as two parallel halves around a pivot bidder (see the module docstring).
    """
    executor = executor or Executor(1)
    start = time.perf_counter()
    if split is None:
        split = executor.scheduler is not None or executor.workers >= 2
    if not split or len(auction.bidders) < 2:
        allocation = solve_wdp(
            auction, solver=solver, time_limit=time_limit, mip_gap=mip_gap, threads=threads
        )
        known = None
    else:
        pivot = likely_winner(auction)
        without, forced = executor.map(
            _solve_wdp_task,
            [
                (auction, (pivot,), (), solver, time_limit, mip_gap, threads),
                (auction, (), (pivot,), solver, time_limit, mip_gap, threads),
            ],
        )
        allocation = _better_of(auction, without, forced, pivot)
        known = {pivot: (without.welfare, without.solve)} if pivot in allocation.bids else None
    outcome = vcg_payments(
        allocation,
        known=known,
        executor=executor,
        solver=solver,
        time_limit=time_limit,
        mip_gap=mip_gap,
        threads=threads,
        progress=progress,
    )
    return replace(outcome, seconds=time.perf_counter() - start)


def _solve_wdp_task(auction, exclude, must_win, solver, time_limit, mip_gap, threads) -> Allocation:
    return solve_wdp(
        auction, exclude=exclude, must_win=must_win, solver=solver,
        time_limit=time_limit, mip_gap=mip_gap, threads=threads,
    )


def likely_winner(auction: CombinatorialAuction) -> str:
    """The bidder with the largest value in the LP relaxation of the WDP (ties: first)."""
    import pyomo.environ as pyo

    from mechopt.formulations.wdp import build_wdp_model
    from mechopt.solve import solve_model

    model = build_wdp_model(auction)
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(model)
    result = solve_model(model)
    score: dict[str, float] = {b: 0.0 for b in auction.bidder_ids}
    if result.status.has_solution:
        for bid_id in model.BIDS:
            x = model.x[bid_id].value or 0.0
            score[model.bid_owner[bid_id]] += x * pyo.value(model.value[bid_id])
    return max(auction.bidder_ids, key=lambda b: score[b])


def _better_of(auction, without: Allocation, forced: Allocation, pivot: str) -> Allocation:
    """The optimum of the split main problem: the better of its two halves."""
    best = forced if forced.welfare > without.welfare else without
    halves = (without.solve, forced.solve)
    bounds = [s.bound for s in halves]
    combined = SolveResult(
        status=SolveStatus.worst([s.status for s in halves]),
        objective=best.welfare,
        bound=None if None in bounds else max(bounds),
        seconds=max(s.seconds for s in halves),
        solver=best.solve.solver,
        message=f"split on bidder {pivot!r}: {halves[0].message} / {halves[1].message}",
        mip_gap=best.solve.mip_gap,
    )
    return Allocation(auction, best.bids, "optimal", combined)
