"""Core-selecting payments by constraint generation (docs/auctions.md#core-selecting-payments).

VCG payments can be far below what losing bidders offered: in data/shill_example.json the
winners pay 18 in all while bidder 5 alone bid 20 for both items.  A payment vector is in
the *core* when no coalition K of bidders, together with the seller, prefers to trade on its
own:

    Σ_{i ∈ W∖K} p_i ≥ W(K) − Σ_{i ∈ W∩K} v_i      for every coalition K,    0 ≤ p_i ≤ v_i

(Day and Milgrom, "Core-selecting package auctions", IJGT 2008).  There is one constraint
per coalition, so they are generated (Day and Raghavan, Management Science 2007): the
separation MILP (:func:`mechopt.formulations.core.build_separation_model`, gap 0) finds the
most blocking coalition at the current payments, its constraint is added, and so on until
no coalition blocks by more than the tolerance.  The payments are the revenue-minimal core
point nearest the reference point (VCG or zero) in Euclidean norm (Day and Cramton,
Operations Research 2012).  Each round here:

1. the revenue LP over the constraints found so far gives R_LP, a lower bound on the
   minimal core revenue R*;
2. the nearest-point QP gives q, the point nearest the reference among those satisfying the
   constraints with Σ p ≤ R_LP + tolerance;
3. the separation MILP at q: the constraint of every coalition that blocks is added (step 1
   again); when none blocks, q is in the core and its revenue is at most R_LP + tolerance
   ≤ R* + tolerance, so it is revenue-minimal and R_LP is R* to the tolerance; the QP's
   feasible set contains every core point with revenue ≤ R_LP + tolerance, so q is the
   nearest of them.

Day and Raghavan separate at the LP's point until R* is proven and only then turn to the
nearest point; separating at q from the start reached the same point with fewer MILPs on
the medium CATS files (paths: 13-16 instead of 39-41 MILPs, matching 16-18 instead of 18-24,
with the other changes below), presumably because the LP's points are vertices that jump
between the coalitions' constraints while q moves little.

*Several cuts per MILP*: Day and Raghavan add the most blocking coalition, the MILP's
optimum.  With HiGHS every solution the branch and bound meets on the way (heuristics,
incumbents) is a coalition too; all that block at q are added, most blocking first.  This
halved the MILPs on L4 (23 to 12-13).  Only the last MILP, which finds nothing blocking,
has to be solved to proven optimality; every MILP is solved at gap 0 anyway (stopping one
early once an incumbent blocked by a margin gave more, not fewer, MILPs and no saving).

With HiGHS (the default) the MILPs and LPs run on highspy objects built from the same
rows (:mod:`mechopt.formulations.core_highspy`): only the winners' costs change between
separations; HiGHS' restarts after root reductions are off and the MILPs use one thread
(:data:`~mechopt.formulations.core_highspy.SEPARATION_OPTIONS`), which took a recorded
sequence of L4's 16 separations from 8.5-9.4 s to 2.5-2.7 s; the efficient allocation (the
optimum of the last separation) is the MIP start, which took it on to 1.1 s.  With the plain
names ``gurobi`` and ``cplex`` the separations run the same way on a kept gurobipy / cplex
model (:mod:`mechopt.formulations.core_gurobi`, :mod:`mechopt.formulations.core_cplex`: the
solution pool's blocking solutions are the extra cuts, the WDP's options), the payment LP
on highspy; with Gurobi ``core_payments`` from the VCG outcome took L4 1.2 → 0.7 s, L6 3.6
→ 1.0 s, regions 3.6 → 1.0 s against the Pyomo path (two runs each; paths and matching
unchanged).  Other solvers go through the Pyomo models and take one cut per separation.

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
combinatorial auctions", AAAI 2015).  The separation MILPs form a sequence (each depends on
the payments of the previous QP) and run one at a time on one persistent model.  The
nearest-point QP goes to Clarabel's own API (:mod:`mechopt.formulations.core_qp`) when the
payment LP is on highspy — with HiGHS, Gurobi and CPLEX (HiGHS' QP solver can die of a
floating point exception on its thin feasible set) — and through Pyomo to other solvers,
with Clarabel as the fallback should they stop with an error (said in the notes).
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
from mechopt.formulations.core_highspy import HighsPayments, HighsSeparation, SeparationColumns
from mechopt.formulations.wdp import objective_scale, read_wdp_allocation
from mechopt.mechanisms.outcome import Allocation, Outcome
from mechopt.mechanisms.resolve import economy_solver
from mechopt.mechanisms.vcg import _warm_start_pays, vcg_payments
from mechopt.parallel import Executor
from mechopt.solve import (
    DEFAULT_SOLVER,
    NotProvenOptimal,
    SolverError,
    SolveResult,
    SolveStatus,
    Termination,
    get_solver,
    solve_model,
    solver_backend,
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
#: with HiGHS, Gurobi and CPLEX, solve the separation MILPs in the solver's own API and the
#: payment LP on highspy (:func:`_separation_class`); False: through Pyomo, as for other
#: solvers
RAW_HIGHS = True
#: a HiGHS separation adds the cut of every solution it met that blocks (False: only the
#: most blocking one, as Day and Raghavan)
MULTI_CUT = True
#: start every HiGHS separation from the efficient allocation (the optimum of the last one)
WARM_START = True


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


def _is_highs(name: str) -> bool:
    backend = solver_backend(name)
    return backend is not None and backend.name == "highs"


def _renew(opt: Any, model: Any) -> None:
    """Hand a classic Pyomo persistent solver (``cplex_persistent``, ...) the model as it is
    now.  Such a solver compiles the model once (``set_instance``) and ignores later changes
    unless told of each one, so the new surpluses of a separation and the cuts added to the
    payment LP went unseen: ``--solver cplex_persistent`` stopped after two separations on
    medium L4 with a revenue of 54,611.90 against the core's 55,131.11, labelled proven.
    The contrib interfaces (``pyomo.contrib.solver``) detect changes themselves."""
    from pyomo.solvers.plugins.solvers.persistent_solver import PersistentSolver

    if isinstance(opt, PersistentSolver):
        opt.set_instance(model)


def _separation_class(solver: Any) -> Any:
    """The separation MILP in the solver's own API: highspy for HiGHS (any HiGHS name),
    gurobipy and cplex for the plain names ``gurobi`` and ``cplex``; None: through Pyomo."""
    if not isinstance(solver, str):
        return None
    if _is_highs(solver):
        return HighsSeparation
    if solver not in ("gurobi", "cplex"):
        return None
    from functools import partial

    from mechopt.formulations.core_cplex import CplexSeparation
    from mechopt.formulations.core_gurobi import GurobiSeparation
    from mechopt.mechanisms.wdp import WDP_OPTIONS

    kept = GurobiSeparation if solver == "gurobi" else CplexSeparation
    return partial(kept, options=WDP_OPTIONS[solver])


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
    ``zero``.  ``time_limit`` is per MILP/LP/QP.  The QP goes to Clarabel (polished to
    the exact optimum, :func:`mechopt.solve.solve_clarabel`) with HiGHS, Gurobi and CPLEX,
    and through Pyomo to other solvers (Clarabel when they reject it).  An allocation that is
    not proven optimal and has no core payments raises :class:`NotProvenOptimal`.
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

    separation = _separation_class(solver) if RAW_HIGHS else None
    scale = objective_scale(auction)
    if separation is not None:
        hsep: SeparationColumns | None = separation(auction, values)
        # the payment LP on highspy whatever the MILP solver: an LP of at most one column
        # per winner, solved exactly by the simplex method
        hpay: HighsPayments | None = HighsPayments(winners, lower, values, scale)
        efficient = {b.id for bid in allocation.bids.values() for b in (bid.components or (bid,))}
    else:
        # one persistent solver object per problem kind: Pyomo's HiGHS interface keeps the
        # Hessian of a quadratic objective when the model switches back to a linear one
        hsep = hpay = None
        opt = get_solver(solver) if isinstance(solver, str) else solver
        pay_opt = {kind: get_solver(solver) if isinstance(solver, str) else solver for kind in ("lp", "qp")}
        sep = build_separation_model(auction, values)
        pay = build_payment_model(auction, lower, values)
    cuts: list[_Cut] = []
    seen: dict[tuple[str, ...], float] = {}
    counts = {"sep": 0, "unproven": 0, "lp": 0, "qp": 0}

    def make_cut(chosen: Mapping[str, Bid]) -> _Cut:
        coalition = tuple(b for b in auction.bidder_ids if b in chosen)
        inside = [w for w in winners if w in chosen]
        outside = [w for w in winners if w not in chosen]
        rhs = auction.welfare_of(chosen.values()) - math.fsum(values[w] for w in inside) - unsold
        return _Cut(coalition, outside, rhs)

    def separate(p: Mapping[str, float]) -> tuple[list[_Cut], float, bool]:
        """Blocking coalitions at ``p``: (their cuts, most violated first; the largest
        violation found; whether the MILP was proven optimal at gap 0)."""
        surplus = {w: max(values[w] - p[w], 0.0) for w in winners}
        counts["sep"] += 1
        if hsep is not None:
            hsep.set_surplus(surplus)
            # a coalition K blocks when its value in the separation MILP, B(K), exceeds
            # revenue + unsold + tol (B(K) − revenue − unsold is its constraint's violation)
            threshold = math.fsum(p[w] for w in winners) + unsold + tol
            try:
                solved = hsep.solve(time_limit=time_limit, threads=threads,
                                    collect_above=threshold if MULTI_CUT else math.inf,
                                    start=efficient if WARM_START else None)
            except ValueError as exc:
                raise SolverError(str(exc)) from None
            status, coalitions = solved.status, solved.coalitions
        else:
            for w in winners:
                sep.surplus[w] = surplus[w]
            _renew(opt, sep)
            result = solve_model(sep, opt, time_limit=time_limit, threads=threads)
            status = result.status
            coalitions = []
            if result.has_solution:
                try:
                    coalitions = [dict(read_wdp_allocation(sep))]
                except ValueError as exc:
                    raise SolverError(str(exc)) from None
        statuses.append(status)
        if not status.is_optimal:
            counts["unproven"] += 1
        if not coalitions:
            return [], math.nan, False
        found: dict[tuple[str, ...], tuple[float, _Cut]] = {}
        for chosen in coalitions:
            cut = make_cut(chosen)
            found.setdefault(cut.coalition, (_violation(cut, p), cut))
        violation = max(v for v, _ in found.values())
        blocking = sorted((vc for vc in found.values() if vc[0] > tol), key=lambda vc: -vc[0])
        return [c for _, c in blocking], violation, status.is_optimal

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
        if hpay is not None:
            hpay.add_cut(cut.outside, cut.rhs)
        else:
            add_core_cut(pay, cut.outside, cut.rhs)

    def clip(x: Mapping[str, float]) -> dict[str, float]:
        return {w: min(max(x[w], lower[w]), values[w]) for w in winners}

    def empty_core() -> NotProvenOptimal:
        # the core of an allocation that is not efficient can be empty: some coalition then
        # does better than the allocation whatever the winners pay (a limit, not a failure)
        return NotProvenOptimal(
            f"no core payments: the allocation is not proven optimal ({vcg.status.value}) and "
            "a coalition found does better than it whatever the winners pay")

    def no_lp_solution(status: SolveStatus) -> SolverError:
        if status.termination is Termination.INFEASIBLE and not vcg.status.is_optimal:
            return empty_core()
        return SolverError(f"core payment LP returned no solution: {status.value}")

    if not vcg.status.is_optimal and any(lower[w] > values[w] + tol for w in winners):
        raise empty_core()  # a marginal economy beat the allocation: VCG above a bid

    def solve_lp() -> tuple[dict[str, float], float]:
        """Payments and revenue of the revenue LP (min Σ p over the cuts)."""
        counts["lp"] += 1
        if hpay is not None:
            status, x, revenue = hpay.solve_lp(time_limit, threads)
            statuses.append(status)
            if not status.has_solution:
                raise no_lp_solution(status)
            return clip(x), revenue
        pay.distance.deactivate()
        pay.revenue_cap.deactivate()
        pay.revenue.activate()
        _renew(pay_opt["lp"], pay)
        result: SolveResult = solve_model(pay, pay_opt["lp"], time_limit=time_limit, threads=threads)
        statuses.append(result.status)
        if not result.has_solution:
            raise no_lp_solution(result.status)
        return clip({w: (pay.p[w].value or 0.0) * scale for w in winners}), pyo.value(pay.revenue) * scale

    def note_unpolished(result: SolveResult) -> None:
        if result.polished is False:
            notes_qp.append("nearest point to Clarabel's tolerance only (~1e-4 relative): "
                            "its polishing step found no certified optimum")

    def solve_qp(cap: float) -> dict[str, float]:
        """The payments nearest the reference over the cuts with Σ p ≤ cap."""
        counts["qp"] += 1
        if hpay is not None:
            # not HiGHS' QP solver: on the thin feasible sets of this QP (Σ p ≤ R* + 1e-9·W
            # against cuts at R*) highspy 1.16 can die of a floating point exception (SIGFPE,
            # the whole process) — found by the brute-force property test; Clarabel solves it
            fallback = _nearest_point_clarabel(winners, lower, values, ref, cuts, cap, scale, time_limit)
            if fallback is None:
                statuses.append(SolveStatus.ERROR)
                raise SolverError("core payment QP returned no solution (Clarabel)")
            statuses.append(fallback[1].status)
            note_unpolished(fallback[1])
            return fallback[0]
        else:
            pay.revenue.deactivate()
            pay.revenue_cap.activate()
            pay.distance.activate()
            pay.cap.set_value(cap / scale)
            _renew(pay_opt["qp"], pay)
            try:
                result: SolveResult = solve_model(pay, pay_opt["qp"], time_limit=time_limit, threads=threads)
            except SolverError as exc:  # e.g. gurobi_direct: "objective contains nonlinear terms"
                result = SolveResult(SolveStatus.ERROR, None, None, 0.0, str(solver), str(exc))
            if result.is_optimal:
                statuses.append(result.status)
                return clip({w: (pay.p[w].value or 0.0) * scale for w in winners})
            failed = result.status
        # HiGHS' QP solver occasionally stops with an error on these small, degenerate
        # QPs; the same QP by Clarabel (interior point) is the fallback
        fallback = _nearest_point_clarabel(winners, lower, values, ref, cuts, cap, scale, time_limit)
        if fallback is None:
            statuses.append(failed)
            raise SolverError(f"core payment QP returned no solution: {failed.value}")
        notes_qp.append(f"nearest-point QP by Clarabel after {solver}: {failed.value}")
        statuses.append(fallback[1].status)
        note_unpolished(fallback[1])
        return fallback[0]

    notes_qp: list[str] = []
    p = dict(lower)
    min_revenue = math.fsum(p.values())
    violation = math.nan
    proven_last = False
    ref = {w: (lower[w] if reference == "vcg" else 0.0) for w in winners}
    if hpay is None:
        for w in winners:
            pay.ref[w] = ref[w] / scale

    def next_point() -> tuple[dict[str, float], float]:
        """R_LP, the revenue LP's value over the cuts so far, and the point nearest the
        reference among the cuts' points with revenue ≤ R_LP + REVENUE_RTOL · W.  R_LP is a
        lower bound on the minimal core revenue, so once no coalition blocks at this point it
        is a revenue-minimal core point (to the tolerances) and R_LP is R*."""
        _, r_lp = solve_lp()
        return solve_qp(r_lp + REVENUE_RTOL * abs(welfare)), r_lp

    taking_part = set(auction.bidder_ids)  # (a property that builds its tuple on each call)
    for seed in seeds:
        chosen = {b: bid for b, bid in seed.items() if b in taking_part}
        cut = make_cut(chosen)
        if not cut.outside or cut.coalition in seen or cut.rhs <= math.fsum(lower[w] for w in cut.outside) + tol:
            continue  # implied by the VCG lower bounds (or nothing to add)
        add(cut)
    if cuts:
        p, min_revenue = next_point()
    while True:
        if counts["sep"] >= MAX_SEPARATIONS:
            raise SolverError(f"core constraint generation did not end within {MAX_SEPARATIONS} MILPs")
        found, violation, proven_last = separate(p)
        if not found:
            break
        for cut in found:
            add(cut)
        p, min_revenue = next_point()
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


def _nearest_point_clarabel(
    winners: Sequence[str], lower: Mapping[str, float], upper: Mapping[str, float],
    ref: Mapping[str, float], cuts: Sequence[_Cut], cap: float, scale: float, time_limit: float | None,
) -> tuple[dict[str, float], SolveResult] | None:
    """The nearest-point QP (:mod:`mechopt.formulations.core_qp`) by Clarabel: (payments,
    SolveResult) or None.  Clarabel's own API, not CVXPY: no compilation per QP (under
    cProfile CVXPY's was 1.8 s of the L4 audit's 12 s; in wall time the saving is smaller,
    README *Benchmark: solvers side by side*); Clarabel solves one in about a millisecond."""
    from mechopt.formulations.core_qp import build_nearest_point_qp
    from mechopt.solve import solve_clarabel

    index = {w: k for k, w in enumerate(winners)}
    qp = build_nearest_point_qp(
        lower=[min(lower[w], upper[w]) / scale for w in winners],
        upper=[upper[w] / scale for w in winners],
        reference=[ref[w] / scale for w in winners],
        cap=cap / scale,
        cut_columns=[[index[i] for i in cut.outside] for cut in cuts],
        cut_rhs=[cut.rhs / scale for cut in cuts],
    )
    x, result = solve_clarabel(qp, time_limit=time_limit)
    if x is None:
        return None
    out = {w: min(max(float(x[index[w]]) * scale, lower[w]), upper[w]) for w in winners}
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
    # on this process's kept model, which the marginal economies re-solve on 1 job
    allocation = economy_solver(auction, solver).solve(time_limit=time_limit, threads=threads)
    incumbent = dict(allocation.bids)  # without w, a MIP start of w's marginal economy
    tasks = [(auction, (w,), solver, time_limit, threads, incumbent) for w in allocation.winners]
    marginals = executor.map(_marginal_allocation, tasks, progress=progress)
    known = {w: (a.welfare, a.solve) for w, a in zip(allocation.winners, marginals, strict=True)
             if a.solve is not None}
    vcg = vcg_payments(allocation, known=known, solver=solver, time_limit=time_limit, threads=threads)
    return core_payments(
        vcg, reference=reference, solver=solver, time_limit=time_limit, threads=threads,
        seeds=[a.bids for a in marginals if a.is_optimal],
    )


def _marginal_allocation(auction: CombinatorialAuction, exclude: tuple[str, ...], solver: str,
                         time_limit: float | None, threads: int | None,
                         incumbent: Mapping[str, Bid] | None = None) -> Allocation:
    """The optimal allocation without ``exclude`` (a picklable task): its welfare is W_{-i}
    for VCG and its winners a seed coalition for the core constraints.  Solved on the
    worker's kept model (:func:`~mechopt.mechanisms.resolve.economy_solver`), from
    ``incumbent`` (the main allocation) as MIP start where that pays, as for VCG."""
    return economy_solver(auction, solver).solve(
        exclude, incumbent=incumbent, warm_start=_warm_start_pays(solver),
        time_limit=time_limit, threads=threads,
    )
