"""Run shill audits: the algorithm's steps 1–8, the remedies and the collusion check.

An audit is written as a *procedure*: a generator that yields a batch of independent solve
jobs, receives their results, and finally returns an :class:`AuditReport`.  Its rounds are

1. the full auction (step 1);
2. every winner's marginal economy W_{-θ} (its VCG payment and the exclusion runs of step 3)
   and the tie check of the full auction;
3. LP bounds of the pairs W_{-θ,-ι} in which a utility drop is possible at all: a pair
   with a zero-utility winner cannot show one, and a pair whose member loses in the other's
   marginal economy has W_{-θ,-ι} = W_{-θ} exactly (:mod:`mechopt.audit.discovery` gives
   the argument);
4. the MILPs of the pairs whose LP bound does not rule a drop out (step 4: the utilities
   of the other winners without θ) — in waves, skipping a pair once its two winners are
   linked by proven drops (``evidence="spanning"``, :class:`~mechopt.audit.discovery.LinkPlanner`),
   or all at once (``evidence="all"``);
5. if there are suspects: the auction without them (step 8) and the grouped auction
   (AAMAS 2006 remedy);
6. their marginal economies and tie checks.

``solves`` in a report counts MILPs (and tie checks); the LP bounds' seconds are in
``solver_seconds``.

Each economy is solved on the worker's kept model of the auction (bidders left out by fixing
their bids' columns, :mod:`mechopt.mechanisms.resolve`) and gets a feasible
allocation as its MIP start where that pays (the full allocation without the excluded).

:func:`run_procedures` drives any number of procedures in lockstep and flattens each
round's jobs of *all* of them into one :meth:`Executor.map` call, so the workers stay busy
both for one big auction (many winners, many pairs) and for a benchmark of hundreds of small
ones.  Economies already solved in an earlier round are reused (e.g. when the suspects are a
single pair, the exclusion remedy's allocation is the pair's economy from round 2).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

from mechopt.auction import CombinatorialAuction
from mechopt.audit.collusion import DEFAULT_THRESHOLD, check_collusion, check_threshold
from mechopt.audit.core import core_remedy, core_task
from mechopt.audit.discovery import (
    EVIDENCE,
    Discovery,
    LinkPlanner,
    discover_groups,
    no_drop_by_bound,
    pair_incumbent,
    plan_pairs,
)
from mechopt.audit.economies import EconomyResult, SolveSettings, pair_lp_bounds, solve_economy
from mechopt.audit.remedy import Remedy, grouped_auction
from mechopt.audit.report import AuditReport, Verdict
from mechopt.audit.ties import TieCheck, Uniqueness, check_unique_optimum
from mechopt.mechanisms.outcome import Allocation
from mechopt.mechanisms.vcg import vcg_payments
from mechopt.parallel import Executor
from mechopt.solve import DEFAULT_SOLVER, SolveStatus

__all__ = ["audit_auction", "audit_auctions", "run_procedures", "Job"]

#: pairs per LP-bound task (each task re-solves one kept relaxed model)
LP_CHUNK = 40


class Job(NamedTuple):
    """One independent solve: a module-level function and its picklable arguments."""

    fn: Callable[..., Any]
    args: tuple


def _run_job(job: Job) -> Any:
    return job.fn(*job.args)


Procedure = Generator[list[Job], list[Any], Any]


def run_procedures(
    procedures: Iterable[Procedure], executor: Executor, progress: str | None = None
) -> list[Any]:
    """Drive generator procedures in lockstep; return their return values in order.

    Each procedure yields a list of :class:`Job` and is sent the list of their results (same
    order).  All jobs pending in one round go to one ``executor.map`` call.
    """
    procs = list(procedures)
    pending: dict[int, list[Job]] = {}
    done: dict[int, Any] = {}

    def advance(i: int, sent: list[Any] | None) -> None:
        proc = procs[i]
        try:
            jobs = next(proc) if sent is None else proc.send(sent)
            while not jobs:  # an empty batch needs no round trip
                jobs = proc.send([])
        except StopIteration as stop:
            done[i] = stop.value
            return
        pending[i] = list(jobs)

    for i in range(len(procs)):
        advance(i, None)
    round_no = 0
    while pending:
        round_no += 1
        batch = [(i, job) for i, jobs in sorted(pending.items()) for job in jobs]
        label = f"{progress} (round {round_no})" if progress else None
        results = executor.map(_run_job, [(job,) for _, job in batch], progress=label)
        by_proc: dict[int, list[Any]] = {i: [] for i in pending}
        for (i, _), result in zip(batch, results, strict=True):
            by_proc[i].append(result)
        pending = {}
        for i, outs in by_proc.items():
            advance(i, outs)
    return [done[i] for i in range(len(procs))]


# ------------------------------------------------------------------------------------------
# the audit procedure
# ------------------------------------------------------------------------------------------
class _Ledger:
    """Solved economies of one auction (by excluded set) and solve statistics."""

    def __init__(self, auction: CombinatorialAuction, settings: SolveSettings) -> None:
        self.auction = auction
        self.settings = settings
        self.economies: dict[frozenset[str], EconomyResult] = {}
        self.solves = 0
        self.seconds = 0.0
        self.statuses: list[SolveStatus] = []

    def jobs_for(self, excluded_sets: Iterable[frozenset[str]], incumbent=None) -> list[Job]:
        """Jobs for the economies not solved yet; ``incumbent(e)`` gives a feasible start."""
        todo = list(dict.fromkeys(e for e in excluded_sets if e not in self.economies))
        return [
            Job(solve_economy, (self.auction, e, self.settings,
                                incumbent(e) if incumbent is not None else None))
            for e in todo
        ]

    def record(self, results: Iterable[EconomyResult]) -> None:
        for r in results:
            self.economies[r.exclude] = r
            self.count(r.solve)

    def count(self, solve, proven: bool = False) -> None:
        """Count one solve; ``proven``: its answer is a proof whatever its status says (a
        tie check whose no-good model is infeasible proves the optimum unique)."""
        if solve is not None:
            self.solves += 1
            self.seconds += solve.seconds
            self.statuses.append(SolveStatus.OPTIMAL if proven else solve.status)

    def count_tie(self, tie: TieCheck) -> None:
        self.count(tie.solve, proven=tie.uniqueness in (Uniqueness.UNIQUE, Uniqueness.TIED))


def _tie_job(ledger: _Ledger, economy: EconomyResult) -> Job:
    return Job(
        check_unique_optimum,
        (ledger.auction, dict(economy.bids or {}), economy.exclude, ledger.settings),
    )


def _vcg_remedy(
    name: str,
    ledger: _Ledger,
    excluded: frozenset[str],
    tie: TieCheck,
    groups: dict[str, tuple[str, ...]] | None = None,
) -> Remedy:
    """The VCG outcome of ``ledger.auction`` without ``excluded`` from solved economies."""
    main = ledger.economies[excluded]
    allocation: Allocation = main.allocation(ledger.auction)
    marginals = {}
    for w in allocation.winners:
        econ = ledger.economies[excluded | {w}]
        welfare = econ.welfare
        if welfare is None:  # no allocation found: charge the lower bound, status says so
            welfare = allocation.welfare_without(w)
        marginals[w] = (welfare, econ.solve)
    settings = ledger.settings
    outcome = vcg_payments(  # every marginal economy is known: no solve happens here
        allocation, known=marginals, solver=settings.solver, time_limit=settings.time_limit,
        threads=settings.threads,
    )
    return Remedy(name, outcome, tie, tuple(sorted(excluded)), groups)


def _marginal_sets(economy: EconomyResult) -> list[frozenset[str]]:
    return [economy.exclude | {w} for w in (economy.bids or {})]


def _start_from(economy: EconomyResult) -> Callable[[frozenset[str]], dict]:
    """MIP starts for sub-economies of ``economy``: its allocation without the excluded."""
    return lambda e: {b: bid for b, bid in (economy.bids or {}).items() if b not in e}


def _audit_procedure(
    auction: CombinatorialAuction, settings: SolveSettings, threshold: float, core: bool = True,
    prune: bool = True, evidence: str = "spanning", remedies: bool = True,
) -> Procedure:
    """The audit of one auction, then (``core``) one more round: core-selecting payments for
    the plain auction and after each remedy (:mod:`mechopt.audit.core`)."""
    ledgers: dict[str, _Ledger] = {}
    report: AuditReport = yield from _audit_steps(
        auction, settings, threshold, prune, evidence, remedies, ledgers
    )
    computed = [r for r in (report.vcg, report.exclusion, report.grouping) if r is not None]
    if not core or not computed:
        return report
    results = yield [Job(core_task, (r, settings, _core_seeds(r, ledgers[r.name])))
                     for r in computed]
    rows, notes, statuses = [], list(report.notes), [report.status]
    solves, seconds = report.solves, report.solver_seconds
    for remedy, result in zip(computed, results, strict=True):
        if isinstance(result, str):
            notes.append(result)
            continue
        rows.append(core_remedy(remedy, result))
        solves += result.separations + result.lp_solves + result.qp_solves
        seconds += result.seconds - result.vcg.seconds
        statuses.append(result.outcome.status)
        if not result.proven:
            notes.append(f"{rows[-1].name}: {result.summary()}")
    return replace(
        report, core=tuple(rows), notes=tuple(notes), solves=solves, solver_seconds=seconds,
        status=SolveStatus.worst(statuses),
    )


def _core_seeds(remedy: Remedy, ledger: _Ledger) -> list[dict]:
    """Seed coalitions for ``remedy``'s core payments: the proven allocations of the
    economies the audit solved inside the remedy's auction (its winners' marginal economies,
    and for the plain auction the pair economies), one core constraint each for free."""
    excluded = frozenset(remedy.excluded)
    return [
        dict(e.bids or {}) for key, e in ledger.economies.items()
        if key > excluded and e.is_optimal
    ]


def _audit_steps(
    auction: CombinatorialAuction, settings: SolveSettings, threshold: float, prune: bool = True,
    evidence: str = "spanning", remedies: bool = True, ledgers: dict[str, _Ledger] | None = None,
) -> Procedure:
    """Steps 1-8 of the audit of one auction (see the module docstring); ``ledgers`` gets
    the solved economies of each auction cleared, by remedy name."""
    ledger = _Ledger(auction, settings)
    if ledgers is not None:
        ledgers["vcg"] = ledgers["exclusion"] = ledger
    everyone: frozenset[str] = frozenset()
    notes: list[str] = []

    def report(verdict, summary, vcg=None, discovery=None, exclusion=None, grouping=None,
               collusion=None) -> AuditReport:
        return AuditReport(
            auction=auction, verdict=verdict, summary=summary, vcg=vcg, discovery=discovery,
            exclusion=exclusion, grouping=grouping, collusion=collusion, threshold=threshold,
            settings=settings, solves=ledger.solves, solver_seconds=ledger.seconds,
            notes=tuple(notes), status=SolveStatus.worst(ledger.statuses),
        )

    # round 1 -- step 1: GVA on all bidders
    ledger.record((yield ledger.jobs_for([everyone])))
    full = ledger.economies[everyone]
    if not full.is_optimal:
        why = full.solve.status.value
        if full.solve.message and full.solve.message != full.solve.termination.value:
            why += f": {full.solve.message}"  # the solver's own words (e.g. a size limit)
        return report(
            Verdict.INCONCLUSIVE,
            f"the winner determination of the full auction is not proven optimal "
            f"({why}): no winner, utility or verdict can rest on it",
        )
    winners = full.allocation(auction).winners

    # round 2 -- steps 2-3: every winner's marginal economy, and the tie check
    def without_members(e: frozenset[str]) -> dict:
        return {b: bid for b, bid in (full.bids or {}).items() if b not in e}

    singles = [frozenset({w}) for w in winners]
    results = yield [*ledger.jobs_for(singles, without_members), _tie_job(ledger, full)]
    *economies, tie = results
    ledger.record(economies)
    ledger.count_tie(tie)
    vcg = _vcg_remedy("vcg", ledger, everyone, tie)
    notes.extend(_tie_notes("the full auction", tie, main=True))

    # round 3 -- LP bounds of the pair economies in which a drop is possible (plan_pairs);
    # round 4 -- steps 4-5: the MILPs of the pairs no bound rules out, in waves until the
    # groups are known (evidence="spanning") or all at once
    no_drop: set[frozenset[str]] = set()
    linked: set[frozenset[str]] = set()
    upper: dict[frozenset[str], float | None] = {}
    if prune:
        to_check, derived = plan_pairs(winners, ledger.economies)
        ledger.economies.update(derived)
        chunks = [to_check[k : k + LP_CHUNK] for k in range(0, len(to_check), LP_CHUNK)]
        bounds = yield [Job(pair_lp_bounds, (auction, chunk, settings)) for chunk in chunks]
        upper = {pair: bound for chunk in bounds for pair, bound, _ in chunk}
        ledger.seconds += sum(s for chunk in bounds for _, _, s in chunk)
        no_drop = no_drop_by_bound(upper.items(), ledger.economies)
        to_solve = [p for p in to_check if p not in no_drop]
    else:
        to_solve = [frozenset({a, b}) for i, a in enumerate(winners) for b in winners[i + 1 :]]

    def start(e: frozenset[str]) -> dict | None:
        return pair_incumbent(e, ledger.economies)

    if prune and evidence == "spanning" and to_solve:
        planner = LinkPlanner(winners, ledger.economies, to_solve, upper)
        while wave := planner.next_wave():
            ledger.record((yield ledger.jobs_for(wave, start)))
            planner.update(wave)
        linked = planner.linked
    else:
        ledger.record((yield ledger.jobs_for(to_solve, start)))
    if not winners:
        return report(Verdict.NO_WINNERS, "no bid won: there is nothing to audit", vcg)
    if len(winners) == 1:
        return report(
            Verdict.ONE_WINNER,
            f"a single winner ({winners[0]}): by Theorem 1 a schemer gains only when at least "
            "two of its names win, so no shill group can be at work",
            vcg,
        )

    # steps 6-7: suspected groups
    discovery = discover_groups(winners, ledger.economies, no_drop, linked)
    if not discovery.groups:
        if discovery.unresolved:
            return report(
                Verdict.INCONCLUSIVE,
                f"{len(discovery.unresolved)} pair(s) of winners rest on solves that are not "
                "proven optimal; no proven utility drop among the others",
                vcg, discovery,
            )
        return report(
            Verdict.NO_SUSPECTS,
            f"{len(winners)} winners; no winner's utility drops when another is excluded",
            vcg, discovery,
        )

    if not remedies:
        notes.append("remedies not computed: no exclusion, grouping or collusion check")
        return report(Verdict.SUSPECTS, _suspect_summary(discovery), vcg, discovery)

    # round 5 -- step 8 (exclusion) and the grouped auction (AAMAS 2006)
    suspects = frozenset(discovery.suspects)
    merged, members_of = grouped_auction(auction, discovery.groups)
    grouped = _Ledger(merged, settings)
    if ledgers is not None:
        ledgers["grouping"] = grouped
    excl_jobs, group_jobs = ledger.jobs_for([suspects]), grouped.jobs_for([everyone])
    results = yield [*excl_jobs, *group_jobs]
    ledger.record(results[: len(excl_jobs)])
    grouped.record(results[len(excl_jobs) :])
    excl_main, group_main = ledger.economies[suspects], grouped.economies[everyone]

    # round 6 -- their marginal economies and tie checks
    excl_jobs = ledger.jobs_for(_marginal_sets(excl_main), _start_from(excl_main))
    group_jobs = grouped.jobs_for(_marginal_sets(group_main), _start_from(group_main))
    tie_jobs = [
        _tie_job(ledger, excl_main) if excl_main.is_optimal else None,
        _tie_job(grouped, group_main) if group_main.is_optimal else None,
    ]
    results = yield [*excl_jobs, *group_jobs, *(j for j in tie_jobs if j is not None)]
    n_excl, n_solves = len(excl_jobs), len(excl_jobs) + len(group_jobs)
    ledger.record(results[:n_excl])
    grouped.record(results[n_excl:n_solves])
    tie_results = iter(results[n_solves:])
    ties = [next(tie_results) if j is not None else TieCheck(Uniqueness.SKIPPED) for j in tie_jobs]
    for led, t in zip((ledger, grouped), ties, strict=True):
        led.count_tie(t)
    exclusion = (
        _vcg_remedy("exclusion", ledger, suspects, ties[0]) if excl_main.bids is not None else None
    )
    grouping = (
        _vcg_remedy("grouping", grouped, everyone, ties[1], members_of)
        if group_main.bids is not None
        else None
    )
    notes.extend(_tie_notes("the auction without the suspects", ties[0]))
    notes.extend(_tie_notes("the grouped auction", ties[1]))
    ledger.solves += grouped.solves
    ledger.seconds += grouped.seconds
    ledger.statuses += grouped.statuses

    collusion = None
    if exclusion is not None:
        collusion = check_collusion(
            vcg.revenue,
            exclusion.revenue,
            threshold=threshold,
            proven=vcg.is_optimal and exclusion.is_optimal,
            welfare=full.welfare or 0.0,
        )
    else:
        notes.append("the auction without the suspects has no allocation: no collusion check")
    if discovery.unresolved:
        notes.append(
            f"{len(discovery.unresolved)} pair(s) of winners rest on unproven solves: "
            "the list of groups may be incomplete"
        )
    return report(
        Verdict.SUSPECTS, _suspect_summary(discovery), vcg, discovery, exclusion, grouping, collusion
    )


def _suspect_summary(discovery: Discovery) -> str:
    groups = "; ".join("{" + ", ".join(g.members) + "}" for g in discovery.groups)
    n = len(discovery.groups)
    return (
        f"{n} suspected group{'s' if n > 1 else ''} of winners whose utilities drop when a fellow "
        f"member is excluded: {groups}"
    )


def _tie_notes(where: str, tie: TieCheck, main: bool = False) -> list[str]:
    if tie.uniqueness is Uniqueness.TIED:
        alt = ", ".join(f"{b}:{bid.id}" for b, bid in (tie.alternative or {}).items()) or "nobody"
        text = (
            f"{where} has more than one optimal allocation (another one: {alt}); the winners "
            "and payments shown are one of them and revenue may differ between them"
        )
        if main:
            text += (
                "; utilities W - W_-i and the drop signature do not depend on the choice "
                "(a winner of only some optimal allocations has utility 0 and cannot be in a group)"
            )
        return [text]
    if tie.uniqueness is Uniqueness.UNKNOWN:
        return [f"uniqueness of the optimal allocation of {where} is not proven"]
    return []


# ------------------------------------------------------------------------------------------
# public entry points
# ------------------------------------------------------------------------------------------
def audit_auctions(
    auctions: Sequence[CombinatorialAuction],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    executor: Executor | None = None,
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    threads: int | None = None,
    progress: str | None = None,
    core: bool = True,
    prune: bool = True,
    evidence: str = "spanning",
    remedies: bool = True,
) -> list[AuditReport]:
    """Audit several auctions, their solves flattened round by round over ``executor``.

    ``core``: also compute core-selecting payments for the plain auction and after each
    remedy (``AuditReport.core``).  ``prune=False`` solves every pair economy (for checking
    the pruning of :func:`~mechopt.audit.discovery.plan_pairs`; same verdicts, more solves).
    ``evidence``: ``"spanning"`` (default) solves pair economies only until the suspected
    groups are known, so a group's evidence is a connecting set of proven drops; ``"all"``
    solves every pair that can show a drop (:class:`~mechopt.audit.discovery.LinkPlanner`).
    ``remedies=False`` stops after the suspected groups (steps 1–7): no exclusion or grouped
    auction, no collusion check — their VCG economies are often harder MILPs than the
    original auction's.
    """
    if evidence not in EVIDENCE:
        raise ValueError(f"unknown evidence mode {evidence!r} (choose from {', '.join(EVIDENCE)})")
    threshold = check_threshold(threshold)
    settings = SolveSettings(solver, time_limit, threads)
    executor = executor or Executor(1)
    procedures = [
        _audit_procedure(a, settings, threshold, core, prune, evidence, remedies) for a in auctions
    ]
    return run_procedures(procedures, executor, progress)


def audit_auction(
    auction: CombinatorialAuction,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    executor: Executor | None = None,
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    threads: int | None = None,
    progress: str | None = None,
    core: bool = True,
    prune: bool = True,
    evidence: str = "spanning",
    remedies: bool = True,
) -> AuditReport:
    """Audit one auction for shill bidders (Matsuo, Ito, Shintani 2005; AAMAS 2006).

    ``threshold``: share of the VCG revenue whose loss without the suspects raises the
    collusion flag (:mod:`mechopt.audit.collusion`).  ``time_limit`` is per MILP; every
    MILP is solved at MIP gap 0, and anything not proven optimal is reported as such.
    """
    [report] = audit_auctions(
        [auction], threshold=threshold, executor=executor, solver=solver,
        time_limit=time_limit, threads=threads, progress=progress, core=core, prune=prune,
        evidence=evidence, remedies=remedies,
    )
    return report
