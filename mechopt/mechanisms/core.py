"""Core-selecting payments by constraint generation (docs/auctions.md#core-selecting-payments).

VCG payments can be far below what losing bidders offered: in data/shill_example.json the
winners pay 18 in all while bidder 5 alone bid 20 for both items.  A payment vector is in
the *core* when no coalition K of bidders, together with the seller, prefers to trade on its
own:

    Σ_{i ∈ W∖K} p_i ≥ W(K) − Σ_{i ∈ W∩K} v_i      for every coalition K,    0 ≤ p_i ≤ v_i

(Day and Milgrom, "Core-selecting package auctions", IJGT 2008).  There is one constraint
per coalition, so they are generated (Day and Raghavan, Management Science 2007): starting
from the VCG payments, which are the lower bounds, the separation MILP
(:func:`mechopt.formulations.core.build_separation_model`, gap 0) finds the most blocking
coalition at the current payments; its constraint is added to an LP minimizing revenue, and
the LP is re-solved until no coalition blocks by more than the tolerance.  The LP's value
is the minimal core revenue R*.  Among the revenue-minimal core points the payments are the
one nearest the reference point (VCG or zero) in Euclidean norm (Day and Cramton, Operations
Research 2012): a QP with Σ p ≤ R* + tolerance and the cuts.  A coalition that blocks at
the QP's point adds its cut, and both LP and QP are re-solved, until the QP's point is
unblocked.

Tolerances (relative to the welfare W, so that a uniform scale of the values changes
nothing): a coalition *blocks* when it beats its constraint by more than
``CORE_RTOL · W``; revenue-minimal means Σ p ≤ R* + ``REVENUE_RTOL · W``.  Every number
is checked against separation MILPs solved at MIP gap 0; when one is not proven optimal
(time limit, failure) the result says NOT PROVEN.

Parallelism and seeds: :func:`run_core` solves the winner determination, then the winners'
marginal economies in parallel through the executor (one MILP each, as for VCG); their
optimal welfares give the VCG lower bounds and their *allocations* give one core constraint
each for free (the coalition of the bidders they serve), added before the first separation
(seeding as in Bünz, Seuken, Lubin, "A faster core constraint generation algorithm for
combinatorial auctions", EC 2015).  The separation MILPs form a sequence (each depends on
the payments of the previous LP/QP) and run one at a time on the persistent HiGHS
interface, which keeps the model between solves.  The nearest-point QP goes to HiGHS and,
should HiGHS' QP solver stop with an error, to CVXPY + Clarabel (said in the notes).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pyomo.environ as pyo

from mechopt.auction import Bid, CombinatorialAuction
from mechopt.formulations.core import add_core_cut, build_payment_model, build_separation_model
from mechopt.formulations.wdp import read_wdp_allocation
from mechopt.mechanisms.outcome import Allocation, Outcome
from mechopt.mechanisms.vcg import vcg_payments
from mechopt.mechanisms.wdp import solve_wdp
from mechopt.parallel import Executor
from mechopt.solve import (
    DEFAULT_SOLVER,
    SolverError,
    SolveResult,
    SolveStatus,
    get_solver,
    solve_model,
)

__all__ = ["CorePayments", "core_payments", "run_core", "CORE_RTOL", "REVENUE_RTOL", "REFERENCES"]

#: a coalition blocks when it beats its core constraint by more than CORE_RTOL · welfare
CORE_RTOL = 1e-6
#: revenue-minimal: Σ p ≤ R* + REVENUE_RTOL · welfare in the nearest-point QP
REVENUE_RTOL = 1e-9
#: reference points of the nearest-point rule
REFERENCES = ("vcg", "zero")
#: safety net against cycling: at most this many separation MILPs
MAX_SEPARATIONS = 10_000


@dataclass(frozen=True)
class CorePayments:
    """Core-selecting payments and how they were found.

    ``outcome`` carries the payments (``payment_rule="core"``), ``vcg`` the VCG outcome whose
    payments are the lower bounds.  ``cuts`` counts the core constraints generated,
    ``separations`` the separation MILPs solved (``unproven`` of them not proven optimal),
    ``lp_solves`` / ``qp_solves`` the revenue LPs and nearest-point QPs.  ``min_revenue`` is
    R*, ``tolerance`` the absolute blocking tolerance (CORE_RTOL · welfare) and
    ``violation`` the largest amount by which any coalition beats its constraint at the
    final payments, as found by the last separation (≤ tolerance when ``proven``).
    ``proven`` is True only when every separation MILP, LP and QP was proven optimal and the
    last separation found no blocking coalition.
    """

    outcome: Outcome
    vcg: Outcome
    reference: str
    cuts: int
    separations: int
    unproven: int
    lp_solves: int
    qp_solves: int
    min_revenue: float
    tolerance: float
    violation: float
    proven: bool
    seconds: float
    coalitions: tuple[tuple[str, ...], ...] = field(default=(), repr=False)

    @property
    def payments(self) -> Mapping[str, float]:
        return self.outcome.payments

    @property
    def revenue(self) -> float:
        return self.outcome.revenue

    @property
    def vcg_revenue(self) -> float:
        return self.vcg.revenue

    @property
    def label(self) -> str:
        """``proven`` or ``NOT PROVEN`` (as printed)."""
        return "proven" if self.proven else "NOT PROVEN"

    def summary(self) -> str:
        """One line: cuts, separations, tolerance, proof."""
        return (
            f"core payments ({self.reference} reference): {self.cuts} cut(s) from "
            f"{self.separations} separation MILP(s), {self.lp_solves} LP(s), {self.qp_solves} "
            f"QP(s); min core revenue {self.min_revenue:.10g}; no coalition blocks by more "
            f"than {self.tolerance:.3g} (1e-6 x welfare; largest found {max(self.violation, 0.0):.3g}); "
            f"{self.label}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "vcg_payments": dict(self.vcg.payments),
            "vcg_revenue": self.vcg_revenue,
            "min_revenue": self.min_revenue,
            "cuts": self.cuts,
            "separations": self.separations,
            "unproven_separations": self.unproven,
            "lp_solves": self.lp_solves,
            "qp_solves": self.qp_solves,
            "tolerance": self.tolerance,
            "violation": self.violation,
            "proven": self.proven,
            "status": self.label,
            "coalitions": [list(k) for k in self.coalitions],
        }


@dataclass
class _Cut:
    coalition: tuple[str, ...]
    outside: list[str]
    rhs: float


def _violation(cut: _Cut, payments: Mapping[str, float]) -> float:
    return cut.rhs - math.fsum(payments[i] for i in cut.outside)


def core_payments(
    vcg: Outcome | Allocation,
    *,
    reference: str = "vcg",
    executor: Executor | None = None,
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    threads: int | None = None,
    seeds: Sequence[Mapping[str, Bid]] = (),
) -> CorePayments:
    """Core-selecting payments for a (proven optimal) allocation; see the module docstring.

    ``seeds`` are feasible allocations of sub-economies (e.g. the winners' marginal
    economies, which VCG solves anyway): each gives a valid core constraint for the bidders
    it serves, added before the first separation (Bünz, Seuken, Lubin 2015 seed constraint
    generation with them), which saves separation MILPs.

    ``vcg`` is the VCG outcome of the allocation (or the allocation itself, whose VCG
    payments are then computed through ``executor``).  ``reference``: ``vcg`` (default) or
    ``zero``.  ``time_limit`` is per MILP/LP/QP.  Only HiGHS (and other solvers through
    ``pyomo.contrib.solver`` that take quadratic objectives) can solve the QP.
    """
    if reference not in REFERENCES:
        raise ValueError(f"unknown core reference point {reference!r} (choose from {', '.join(REFERENCES)})")
    start = time.perf_counter()
    if isinstance(vcg, Allocation):
        vcg = vcg_payments(vcg, executor=executor, solver=solver, time_limit=time_limit, threads=threads)
    if vcg.payment_rule != "vcg":
        raise ValueError(f"core payments start from VCG payments, got {vcg.payment_rule!r}")
    allocation = vcg.allocation
    if allocation.rule != "optimal":
        raise ValueError("core payments are defined for the optimal rule only")
    # an allocation of the auction without some bidders (the audit's exclusion remedy):
    # coalitions are formed among the bidders taking part only
    everyone = allocation.auction
    auction = everyone.without(allocation.excluded) if allocation.excluded else everyone
    winners = list(allocation.winners)
    values = {w: allocation.value_of(w) for w in winners}
    welfare = allocation.welfare
    tol = CORE_RTOL * abs(welfare)
    statuses = [vcg.status]
    notes = list(vcg.notes)
    lower = {w: vcg.payments[w] for w in winners}
    if not winners:
        return _result(vcg, dict(vcg.payments), reference, [], 0, 0, 0, 0, vcg.revenue, tol, 0.0,
                       statuses, notes, start)
    # the seller's reserve value of what the efficient allocation leaves unsold
    unsold = welfare - math.fsum(values.values())

    # one persistent solver object per problem kind: Pyomo's HiGHS interface keeps the
    # Hessian of a quadratic objective when the model switches back to a linear one
    opt = get_solver(solver) if isinstance(solver, str) else solver
    pay_opt = {kind: get_solver(solver) if isinstance(solver, str) else solver for kind in ("lp", "qp")}
    sep = build_separation_model(auction, values)
    pay = build_payment_model(auction, lower, values)
    scale = pyo.value(pay.objective_scale)
    cuts: list[_Cut] = []
    seen: dict[tuple[str, ...], float] = {}
    counts = {"sep": 0, "unproven": 0, "lp": 0, "qp": 0}

    def separate(p: Mapping[str, float]) -> tuple[_Cut | None, float, bool]:
        """The most blocking coalition at ``p``: (cut or None, violation, proven)."""
        for w in winners:
            sep.surplus[w] = max(values[w] - p[w], 0.0)
        result = solve_model(sep, opt, time_limit=time_limit, threads=threads)
        counts["sep"] += 1
        statuses.append(result.status)
        if not result.is_optimal:
            counts["unproven"] += 1
        if not result.has_solution:
            return None, math.nan, False
        try:
            chosen = read_wdp_allocation(sep)
        except ValueError as exc:
            raise SolverError(str(exc)) from None
        coalition = tuple(b for b in auction.bidder_ids if b in chosen)
        inside = [w for w in winners if w in chosen]
        outside = [w for w in winners if w not in chosen]
        rhs = auction.welfare_of(chosen.values()) - math.fsum(values[w] for w in inside) - unsold
        cut = _Cut(coalition, outside, rhs)
        violation = _violation(cut, p)
        return (cut if violation > tol else None), violation, result.is_optimal

    def add(cut: _Cut) -> None:
        if not cut.outside:
            raise SolverError(
                f"coalition {cut.coalition} beats the efficient allocation: it is not optimal"
            )
        if cut.coalition in seen and cut.rhs <= seen[cut.coalition] + tol:
            # the same constraint again: the LP/QP did not satisfy it to the tolerance
            raise SolverError(
                f"coalition {cut.coalition} blocks again after its constraint was added; "
                "the payment solver's tolerance is too loose"
            )
        seen[cut.coalition] = cut.rhs
        cuts.append(cut)
        add_core_cut(pay, cut.outside, cut.rhs)

    def read(model: Any) -> dict[str, float]:
        out = {}
        for w in winners:
            x = (pay.p[w].value or 0.0) * scale
            out[w] = min(max(x, lower[w]), values[w])
        return out

    def solve_pay(kind: str) -> dict[str, float]:
        if kind == "lp":
            pay.distance.deactivate()
            pay.revenue_cap.deactivate()
            pay.revenue.activate()
        else:
            pay.revenue.deactivate()
            pay.revenue_cap.activate()
            pay.distance.activate()
        result: SolveResult = solve_model(pay, pay_opt[kind], time_limit=time_limit, threads=threads)
        counts[kind] += 1
        if kind == "qp" and not result.is_optimal:
            # HiGHS' QP solver occasionally stops with an error on these small, degenerate
            # QPs; the same QP through CVXPY and Clarabel (interior point) is the fallback
            fallback = _nearest_point_cvxpy(winners, lower, values, ref, cuts, pay.cap.value * scale,
                                            scale, time_limit)
            if fallback is not None:
                notes_qp.append(f"nearest-point QP by Clarabel after HiGHS: {result.status.value}")
                statuses.append(fallback[1].status)
                return fallback[0]
        statuses.append(result.status)
        if not result.has_solution:
            raise SolverError(f"core payment {kind.upper()} returned no solution: {result.status.value}")
        return read(pay)

    notes_qp: list[str] = []
    p = dict(lower)
    min_revenue = math.fsum(p.values())
    violation = math.nan
    proven_last = False
    ref = {w: (lower[w] if reference == "vcg" else 0.0) for w in winners}
    for w in winners:
        pay.ref[w] = ref[w] / scale
    seeded = 0
    for seed in seeds:
        chosen = {b: bid for b, bid in seed.items() if b in auction.bidder_ids}
        coalition = tuple(b for b in auction.bidder_ids if b in chosen)
        outside = [w for w in winners if w not in chosen]
        rhs = auction.welfare_of(chosen.values()) - math.fsum(values[w] for w in winners if w in chosen) - unsold
        if not outside or coalition in seen or rhs <= math.fsum(lower[w] for w in outside) + tol:
            continue  # implied by the VCG lower bounds (or nothing to add)
        seen[coalition] = rhs
        cuts.append(_Cut(coalition, outside, rhs))
        add_core_cut(pay, outside, rhs)
        seeded += 1
    if seeded:
        p = solve_pay("lp")
        min_revenue = pyo.value(pay.revenue) * scale
    while True:
        # phase 1: minimal core revenue R* by constraint generation on the LP
        while True:
            if counts["sep"] >= MAX_SEPARATIONS:
                raise SolverError(f"core constraint generation did not end within {MAX_SEPARATIONS} MILPs")
            cut, violation, proven_last = separate(p)
            if cut is None:
                break
            add(cut)
            p = solve_pay("lp")
            min_revenue = pyo.value(pay.revenue) * scale
        if not proven_last:
            break
        if not cuts:  # VCG is in the core: the unique revenue-minimal core point (p >= VCG)
            min_revenue = math.fsum(p.values())
            break
        # phase 2: nearest point to the reference among revenue-minimal core points
        pay.cap.set_value((min_revenue + REVENUE_RTOL * abs(welfare)) / scale)
        q = solve_pay("qp")
        cut, q_violation, q_proven = separate(q)
        p = q
        violation, proven_last = q_violation, q_proven
        if cut is None:
            break
        add(cut)
        p = solve_pay("lp")
        min_revenue = pyo.value(pay.revenue) * scale
    if not proven_last:
        notes.append(
            "NOT PROVEN: a separation MILP is not proven optimal, so a blocking coalition may "
            "remain; the payments are the last ones computed"
        )
    notes.extend(dict.fromkeys(notes_qp))
    payments = {b: 0.0 for b in everyone.bidder_ids}
    payments.update(p)
    return _result(vcg, payments, reference, cuts, counts["sep"], counts["unproven"], counts["lp"],
                   counts["qp"], min_revenue, tol, violation, statuses, notes, start,
                   proven_last=proven_last)


def _nearest_point_cvxpy(
    winners: Sequence[str], lower: Mapping[str, float], upper: Mapping[str, float],
    ref: Mapping[str, float], cuts: Sequence[_Cut], cap: float, scale: float, time_limit: float | None,
) -> tuple[dict[str, float], SolveResult] | None:
    """The nearest-point QP through CVXPY + Clarabel: (payments, SolveResult) or None."""
    import cvxpy as cp
    import numpy as np

    from mechopt.solve import solve_cvxpy

    index = {w: k for k, w in enumerate(winners)}
    p = cp.Variable(len(winners))
    lo = np.array([min(lower[w], upper[w]) for w in winners]) / scale
    hi = np.array([upper[w] for w in winners]) / scale
    constraints = [p >= lo, p <= hi, cp.sum(p) <= cap / scale]
    for cut in cuts:
        constraints.append(cp.sum(cp.hstack([p[index[i]] for i in cut.outside])) >= cut.rhs / scale)
    r = np.array([ref[w] for w in winners]) / scale
    problem = cp.Problem(cp.Minimize(cp.sum_squares(p - r)), constraints)
    result = solve_cvxpy(problem, cp.CLARABEL, time_limit=time_limit)
    if not result.has_solution or p.value is None:
        return None
    out = {w: min(max(float(p.value[index[w]]) * scale, lower[w]), upper[w]) for w in winners}
    return out, result


def _result(vcg: Outcome, payments: dict[str, float], reference: str, cuts: Sequence[_Cut],
            separations: int, unproven: int, lps: int, qps: int, min_revenue: float, tol: float,
            violation: float, statuses: list[SolveStatus], notes: list[str], start: float,
            proven_last: bool = True) -> CorePayments:
    status = SolveStatus.worst(statuses)
    proven = proven_last and status.is_optimal
    seconds = time.perf_counter() - start
    outcome = replace(
        vcg,
        payments=payments,
        payment_rule="core",
        status=status,
        seconds=vcg.seconds + seconds,
        notes=tuple(notes),
    )
    return CorePayments(
        outcome=outcome,
        vcg=vcg,
        reference=reference,
        cuts=len(cuts),
        separations=separations,
        unproven=unproven,
        lp_solves=lps,
        qp_solves=qps,
        min_revenue=min_revenue,
        tolerance=tol,
        violation=0.0 if math.isnan(violation) and not cuts and separations == 0 else violation,
        proven=proven,
        seconds=vcg.seconds + seconds,
        coalitions=tuple(c.coalition for c in cuts),
    )


def run_core(
    auction: CombinatorialAuction,
    *,
    reference: str = "vcg",
    executor: Executor | None = None,
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    threads: int | None = None,
    progress: str | None = None,
) -> CorePayments:
    """Winner determination, VCG lower bounds (in parallel through ``executor``) and core
    payments (:func:`core_payments`)."""
    executor = executor or Executor(1)
    allocation = solve_wdp(auction, solver=solver, time_limit=time_limit, threads=threads)
    tasks = [(auction, (w,), solver, time_limit, threads) for w in allocation.winners]
    marginals = executor.map(_marginal_allocation, tasks, progress=progress)
    known = {w: (a.welfare, a.solve) for w, a in zip(allocation.winners, marginals, strict=True)
             if a.solve is not None}
    vcg = vcg_payments(allocation, known=known, solver=solver, time_limit=time_limit, threads=threads)
    return core_payments(
        vcg, reference=reference, solver=solver, time_limit=time_limit, threads=threads,
        seeds=[a.bids for a in marginals if a.is_optimal],
    )


def _marginal_allocation(auction: CombinatorialAuction, exclude: tuple[str, ...], solver: str,
                         time_limit: float | None, threads: int | None) -> Allocation:
    """The optimal allocation without ``exclude`` (a picklable task): its welfare is W_{-i}
    for VCG and its winners a seed coalition for the core constraints."""
    return solve_wdp(auction, exclude=exclude, solver=solver, time_limit=time_limit, threads=threads)
