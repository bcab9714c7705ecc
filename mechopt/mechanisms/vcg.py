"""VCG / GVA payments with the Clarke pivot (Vickrey 1961, Clarke 1971, Groves 1973).

For an allocation G* with welfare W, bidder i pays

    p_i = W_{-i} − (W − v_i(G*_i))                                     (docs/auctions.md#vcg-payments)

where W_{-i} is the optimal welfare of the marginal economy without i.  Under the optimal
rule a loser pays 0 (removing it does not change the optimum), so only the winners'
marginal economies are solved.  For any other allocation rule (the greedy rule, say) the
same formula gives the "VCG-based" baseline of Dütting et al. (EC 2012, §6): every bidder's
marginal economy is solved and a loser may be charged.

The marginal economies are independent MILPs; they run through :class:`mechopt.parallel.Executor`
at MIP gap 0, and welfare is summed exactly from bid values, never read from the solver.

With k ≥ 2 workers, :func:`run_vcg` also splits the main problem so that it does not run
alone while workers idle (Amdahl).  For k *pivot* bidders p_1..p_k (the largest
contributors to the LP relaxation) it solves, side by side, the k economies without p_j and
the economy in which every pivot must win.  Every allocation either leaves out some p_j or
gives each of them a bid, so the optimum is the best of these k + 1 solves; and W_{-p_j} is
exactly the marginal economy of p_j, so for every pivot that wins, that payment's second
solve is already done.  The remaining winners' marginal economies follow in parallel.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from mechopt.auction import Bid, CombinatorialAuction
from mechopt.mechanisms.outcome import Allocation, Outcome
from mechopt.mechanisms.resolve import economy_solver
from mechopt.mechanisms.wdp import solve_wdp
from mechopt.parallel import Executor
from mechopt.solve import DEFAULT_SOLVER, InfeasibleProblem, SolverError, SolveResult, SolveStatus

__all__ = ["vcg_payments", "run_vcg", "marginal_welfare"]

#: relative tolerance for comparing two optimal welfare values from the solver (relative to
#: the welfare itself, never to 1: a uniform scale of the values must not change a verdict)
WELFARE_RTOL = 1e-9
#: an LP value this close to 0 or 1 counts as integral
INTEGRALITY_TOL = 1e-9

#: solvers (plain names) whose marginal economies get the main allocation (without the
#: excluded bidder) as a MIP start.  HiGHS, on its kept highspy model (threads=1, two
#: alternating runs each, every economy proven and equal with and without the start): the
#: 32 marginal economies of medium L4 without its 39 suspects (the audit's exclusion
#: remedy) 5.8 → 2.9 s, the 32 of L4's grouped auction 6.5 → 3.7 s, L6's 31 marginals 6.3 →
#: 4.1 s, L4 0.77 → 0.63 s, paths 0.83 → 0.70 s; regions, L7, arbitrary, scheduling
#: within noise (2.1/2.1, 1.3/1.4, 46/47, 0.07/0.09 s); matching 0.34 → 0.39 s, two of its
#: 24 economies solved twice (the start's columns came back with a better objective:
#: :func:`~mechopt.formulations.wdp_highspy.start_misreported`, handled in
#: :meth:`~mechopt.mechanisms.kept_model.KeptWdpModel.solve`).  Earlier, through Pyomo
#: (README.md#re-solves-on-one-model), the start moved Gurobi's time by −16 % / −4 % and
#: CPLEX's by +17 % / +34 % on L4 / regions, i.e. within this shared machine's noise, so
#: they get none; Gurobi's kept model starts from its previous solution anyway.
WARM_START: frozenset[str] = frozenset({"highs"})


def _warm_start_pays(solver: Any) -> bool:
    from mechopt.solve import solver_backend

    backend = solver_backend(str(solver)) if isinstance(solver, str) else None
    return backend is not None and backend.name in WARM_START


def marginal_welfare(
    auction: CombinatorialAuction,
    bidder_id: str,
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    threads: int | None = None,
    incumbent: Mapping[str, Bid] | None = None,
) -> tuple[float, SolveResult]:
    """Optimal welfare W_{-i} of the economy without ``bidder_id`` (a picklable task).

    Solved on this process's kept model of ``auction`` (:func:`economy_solver`: one model
    per worker, the bidder's variables fixed to 0) rather than a model built for it.
    ``incumbent`` (the main allocation; without i it is feasible here) is the MIP start
    where :data:`WARM_START` says it pays.
    """
    alloc = economy_solver(auction, solver).solve(
        (bidder_id,),
        incumbent=incumbent,
        warm_start=_warm_start_pays(solver),
        time_limit=time_limit,
        mip_gap=mip_gap,
        threads=threads,
    )
    assert alloc.solve is not None  # solve_wdp always reports its solve
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
    incumbent = dict(allocation.bids)  # feasible in every marginal economy once i is out
    tasks = [(auction, b, solver, time_limit, mip_gap, threads, incumbent) for b in todo]
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
            if solve.is_optimal and others_now - w_minus_i > WELFARE_RTOL * others_now:
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
    pivots: int | None = None,
) -> Outcome:
    """Solve the winner determination problem and charge VCG payments.

    ``split`` (default: when the executor has two or more workers) replaces the main solve
    by the pivot cover of the module docstring with ``pivots`` pivots (default: one per
    worker, at least two).
    """
    executor = executor or Executor(1)
    start = time.perf_counter()
    if split is None:
        split = executor.scheduler is not None or executor.workers >= 2
    wanted = pivots if pivots is not None else max(2, executor.workers)
    n_pivots = min(wanted, len(auction.bidders) - 1)
    known: dict[str, tuple[float, SolveResult]] = {}
    lp_optimum = None
    if split and n_pivots >= 1:
        pivot_ids, lp_optimum = likely_winners(auction, n_pivots)
    if not split or n_pivots < 1:
        # on the kept model: the marginal economies that follow in this process re-solve it
        allocation = economy_solver(auction, solver).solve(
            time_limit=time_limit, mip_gap=mip_gap, threads=threads
        )
    elif lp_optimum is not None:
        allocation = lp_optimum
    else:
        tasks: list[tuple[Any, ...]] = [(auction, (p,), (), solver, time_limit, mip_gap, threads) for p in pivot_ids]
        tasks.append((auction, (), tuple(pivot_ids), solver, time_limit, mip_gap, threads))
        *without, forced = executor.map(_solve_wdp_task, tasks)
        allocation = _best_of_cover(auction, pivot_ids, cast("list[Allocation]", without), forced)  # no must_win: never None
        known = {
            p: (alloc.welfare, cast(SolveResult, alloc.solve))
            for p, alloc in zip(pivot_ids, cast("list[Allocation]", without), strict=True)
            if p in allocation.bids
        }
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


def _solve_wdp_task(
    auction: CombinatorialAuction, exclude: tuple[str, ...], must_win: tuple[str, ...], solver: str,
    time_limit: float | None, mip_gap: float, threads: int | None
) -> Allocation | None:
    """One solve of the pivot cover; None when the pivots cannot all win together.

    An economy without a pivot is solved on the worker's kept model (which the marginal
    economies that follow re-solve); the economy in which the pivots must win has its own
    constraints and gets a fresh model."""
    if not must_win:
        return economy_solver(auction, solver).solve(
            exclude, time_limit=time_limit, mip_gap=mip_gap, threads=threads
        )
    try:
        return solve_wdp(
            auction, exclude=exclude, must_win=must_win, solver=solver,
            time_limit=time_limit, mip_gap=mip_gap, threads=threads,
        )
    except InfeasibleProblem:
        if not must_win:
            raise
        return None


def likely_winners(auction: CombinatorialAuction, k: int) -> tuple[list[str], Allocation | None]:
    """The k bidders with the largest value in the LP relaxation of the WDP (ties: first),
    and the optimal allocation itself when the LP optimum happens to be integral.

    An integral optimum of the relaxation is feasible for the MILP and attains its bound,
    so it is proven optimal; the pivot cover is then unnecessary.
    """
    import pyomo.environ as pyo

    from mechopt.formulations.wdp import build_wdp_model, read_wdp_allocation, unscale_result
    from mechopt.solve import solve_model

    model = build_wdp_model(auction)
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(model)
    result = unscale_result(solve_model(model), model.objective_scale.value)
    score: dict[str, float] = {b: 0.0 for b in auction.bidder_ids}
    if not result.status.is_optimal:
        return list(auction.bidder_ids[:k]), None
    assert result.objective is not None  # optimal: it has an objective
    integral = True
    for bid_id in model.BIDS:
        x = model.x[bid_id].value or 0.0
        integral = integral and min(abs(x), abs(1.0 - x)) <= INTEGRALITY_TOL
        score[model.bid_owner[bid_id]] += x * pyo.value(model.value[bid_id])
    order = sorted(range(len(auction.bidders)), key=lambda k_: -score[auction.bidder_ids[k_]])
    pivots = [auction.bidder_ids[j] for j in order[:k]]
    if integral:
        bids = read_wdp_allocation(model)
        welfare = auction.welfare_of(bids.values())
        if welfare >= result.objective - WELFARE_RTOL * abs(result.objective):
            proof = replace(result, objective=welfare, message="LP relaxation is integral")
            return pivots, Allocation(auction, bids, "optimal", proof)
    return pivots, None


def _best_of_cover(
    auction: CombinatorialAuction, pivots: list[str], without: list[Allocation], forced: Allocation | None
) -> Allocation:
    """The optimum of the pivot cover: the best of its solves (an exclusion wins ties)."""
    parts = [*without, *([forced] if forced is not None else [])]
    best = max(parts, key=lambda a: a.welfare)  # max keeps the first of equal welfare
    assert best.solve is not None  # the cover's allocations come from solve_wdp: all have a report
    bounds = [cast(SolveResult, a.solve).bound for a in parts]
    combined = SolveResult(
        status=SolveStatus.worst([a.status for a in parts]),
        objective=best.welfare,
        bound=None if None in bounds else max(cast("list[float]", bounds)),
        seconds=max(cast(SolveResult, a.solve).seconds for a in parts),
        solver=best.solve.solver,
        message=f"pivot cover on {', '.join(map(repr, pivots))}: "
        + " / ".join(cast(SolveResult, a.solve).message for a in parts),
        mip_gap=best.solve.mip_gap,
    )
    return Allocation(auction, best.bids, "optimal", combined)
