"""Outcome rules applied to a batch of type profiles: the outcome of every agent of every instance.

:func:`apply_rule` takes profiles from :mod:`mechopt.domains.distributions` and a rule name and
returns :class:`RuleOutcomes` with ``outcomes`` ``(N, n)`` int64 — a bundle bitmask per
agent for combinatorial domains (0 = nothing), an item index for the assignment.

Rules:

=============  ===================  ==========================================================
domain         rule                 how
=============  ===================  ==========================================================
single-item    ``optimal``          highest value wins (ties: lowest agent index); exact
mmca           ``optimal``          winner determination MILP (:func:`mechopt.solve_wdp`,
                                    Pyomo + HiGHS, gap 0), cross-checked against the exact
                                    dynamic program :func:`~mechopt.domains.welfare.welfare_table`
mmca           ``greedy``           LOS greedy, score v/√|S| (vectorized; exact)
assignment     ``egalitarian``      leximin by ordered-outcomes MILPs
                                    (:func:`mechopt.mechanisms.assignment.egalitarian_assignment`)
assignment     ``optimal``          utilitarian, max total value (``utilitarian`` is a synonym)
=============  ===================  ==========================================================

MILP rules run instance chunks through :class:`mechopt.parallel.Executor` (one persistent
HiGHS object per chunk).  With ``require_optimal=True`` (the default) an instance whose
solve is not proven optimal raises :class:`mechopt.solve.NotProvenOptimal` (a limit was
reached) or :class:`mechopt.solve.SolverError` (a failure): labels that feed a learner must
be exact.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from mechopt.domains.distributions import AssignmentProfiles, XORProfiles
from mechopt.domains.welfare import greedy_outcomes, welfare_table
from mechopt.errors import InputError
from mechopt.parallel import Executor
from mechopt.solve import DEFAULT_SOLVER, SolverError, SolveStatus, not_optimal_error

__all__ = ["RuleOutcomes", "apply_rule", "rule_names", "RULE_ALIASES", "WELFARE_CHECK_RTOL"]

#: accepted synonyms of rule names
RULE_ALIASES = {"utilitarian": "optimal"}
#: solver threads per MILP: these MILPs are tiny and run in parallel processes, where
#: HiGHS' own threads only compete (measured: one thread halves the time per solve)
SOLVER_THREADS = 1
#: relative tolerance between the MILP's welfare and the exact dynamic program's
WELFARE_CHECK_RTOL = 1e-9


@dataclass(frozen=True)
class RuleOutcomes:
    """Outcomes of one rule on a batch: ``outcomes`` ``(N, n)``, the least favourable solver
    ``status`` over all instances, ``statuses`` per instance, the number of MILP solves and
    the wall-clock seconds of the whole call."""

    outcomes: np.ndarray
    rule: str
    status: SolveStatus
    statuses: tuple[SolveStatus, ...]
    n_solves: int
    seconds: float

    @property
    def is_optimal(self) -> bool:
        return self.status.is_optimal


def rule_names(profiles: XORProfiles | AssignmentProfiles) -> tuple[str, ...]:
    """The rules defined for this kind of profiles."""
    if isinstance(profiles, AssignmentProfiles):
        return ("egalitarian", "optimal")
    return ("optimal", "greedy")


# --------------------------------------------------------------------------------------
# picklable tasks (one chunk of instances each)
# --------------------------------------------------------------------------------------
def _wdp_chunk(bundles: np.ndarray, values: np.ndarray, n_items: int, solver: str,
               time_limit: float | None) -> tuple[np.ndarray, list[SolveStatus], int]:
    """Optimal CA outcomes of a chunk via the Pyomo WDP; welfare checked against the DP."""
    from mechopt.mechanisms.wdp import solve_wdp
    from mechopt.solve import get_solver

    profiles = XORProfiles(bundles, values, n_items)
    exact = welfare_table(profiles)[:, profiles.full_mask]
    opt = get_solver(solver)
    outcomes = np.zeros(bundles.shape[:2], dtype=np.int64)
    statuses: list[SolveStatus] = []
    for k in range(len(profiles)):
        allocation = solve_wdp(
            profiles.to_auction(k), solver=opt, time_limit=time_limit, mip_gap=0.0, threads=SOLVER_THREADS
        )
        for bidder, bid in allocation.bids.items():
            outcomes[k, int(bidder)] = XORProfiles.bundle_mask(bid.items)
        statuses.append(allocation.status)
        welfare = allocation.welfare
        if allocation.is_optimal and abs(welfare - exact[k]) > WELFARE_CHECK_RTOL * max(1.0, abs(exact[k])):
            raise SolverError(
                f"winner determination reported optimal welfare {welfare!r} but the exact "
                f"optimum is {exact[k]!r}"
            )
    return outcomes, statuses, len(profiles)


def _egalitarian_chunk(values: np.ndarray, solver: str,
                       time_limit: float | None) -> tuple[np.ndarray, list[SolveStatus], int]:
    from mechopt.mechanisms.assignment import egalitarian_assignment
    from mechopt.solve import get_solver

    opt = get_solver(solver)
    outcomes = np.zeros(values.shape[:2], dtype=np.int64)
    statuses: list[SolveStatus] = []
    n_solves = 0
    for k in range(len(values)):
        result = egalitarian_assignment(values[k], solver=opt, time_limit=time_limit, threads=SOLVER_THREADS)
        outcomes[k] = result.items
        statuses.append(result.status)
        n_solves += len(result.solves)
    return outcomes, statuses, n_solves


def _chunks(n_instances: int, executor: Executor, chunk_size: int | None) -> list[slice]:
    if chunk_size is None:
        per_worker = math.ceil(n_instances / max(1, executor.workers * 4))
        chunk_size = max(1, min(50, per_worker))
    if chunk_size < 1:
        raise InputError(f"chunk size must be positive, got {chunk_size}")
    return [slice(lo, min(lo + chunk_size, n_instances)) for lo in range(0, n_instances, chunk_size)]


def _run_chunks(fn, make_args, n_instances, n_agents, executor, chunk_size, progress):
    slices = _chunks(n_instances, executor, chunk_size)
    results = executor.map(fn, [make_args(s) for s in slices], progress=progress)
    outcomes = np.zeros((n_instances, n_agents), dtype=np.int64)
    statuses: list[SolveStatus] = []
    n_solves = 0
    for s, (chunk_outcomes, chunk_statuses, chunk_solves) in zip(slices, results, strict=True):
        outcomes[s] = chunk_outcomes
        statuses.extend(chunk_statuses)
        n_solves += chunk_solves
    return outcomes, statuses, n_solves


# --------------------------------------------------------------------------------------
# the public entry point
# --------------------------------------------------------------------------------------
def apply_rule(
    profiles: XORProfiles | AssignmentProfiles,
    rule: str,
    *,
    executor: Executor | None = None,
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    chunk_size: int | None = None,
    progress: str | None = None,
    require_optimal: bool = True,
) -> RuleOutcomes:
    """Outcome of every agent of every instance under ``rule`` (see the module docstring)."""
    start = time.perf_counter()
    rule = RULE_ALIASES.get(rule, rule)
    allowed = rule_names(profiles)
    if rule not in allowed:
        kind = "assignment" if isinstance(profiles, AssignmentProfiles) else "combinatorial auction"
        raise InputError(f"unknown rule {rule!r} for the {kind} domain (choose from {', '.join(allowed)})")
    executor = executor or Executor(1)
    n_inst, n = profiles.n_instances, profiles.n_agents
    n_solves = 0
    if isinstance(profiles, XORProfiles):
        if rule == "greedy":
            outcomes = greedy_outcomes(profiles)
            statuses = [SolveStatus.OPTIMAL] * n_inst
        elif profiles.n_items == 1 and profiles.n_bids == 1:  # single item: highest value wins
            winner = profiles.values[:, :, 0].argmax(axis=1)
            outcomes = np.zeros((n_inst, n), dtype=np.int64)
            outcomes[np.arange(n_inst), winner] = 1
            statuses = [SolveStatus.OPTIMAL] * n_inst
        else:
            outcomes, statuses, n_solves = _run_chunks(
                _wdp_chunk,
                lambda s: (profiles.bundles[s], profiles.values[s], profiles.n_items, solver, time_limit),
                n_inst, n, executor, chunk_size, progress,
            )
    else:
        if rule == "optimal":
            from mechopt.mechanisms.assignment import utilitarian_assignment

            outcomes = np.stack([utilitarian_assignment(v).items for v in profiles.values])
            statuses = [SolveStatus.OPTIMAL] * n_inst
        else:
            outcomes, statuses, n_solves = _run_chunks(
                _egalitarian_chunk,
                lambda s: (profiles.values[s], solver, time_limit),
                n_inst, n, executor, chunk_size, progress,
            )
    status = SolveStatus.worst(statuses)
    if require_optimal and not status.is_optimal:
        bad = statuses.index(status)
        count = sum(not s.is_optimal for s in statuses)
        hint = f"; raise the {status.termination.value}" if status.is_limit else ""
        raise not_optimal_error(
            status,
            f"rule {rule!r}: {count} instance(s) not proven optimal (worst: instance {bad}, "
            f"{status.value}){hint}",
        )
    return RuleOutcomes(outcomes, rule, status, tuple(statuses), n_solves, time.perf_counter() - start)
