"""The solves behind an audit: optimal welfare of an auction without some bidders.

Every quantity of the shill audit is a difference of optimal welfares ``W_{-E}`` of the
auction without a set ``E`` of bidders (Matsuo, Ito, Shintani 2005, steps 1–5; see
:mod:`mechopt.audit.discovery`).  Each such "economy" is one independent MILP; this module
holds the picklable task that solves one of them (:func:`solve_economy`, run through
:class:`mechopt.parallel.Executor`) and its typed result (:class:`EconomyResult`).

Audits never relax the MIP gap: every solve asks for proven optimality (gap 0), and a
result that is not proven optimal keeps its status so that no verdict can rest on it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mechopt.auction import Bid, CombinatorialAuction
from mechopt.errors import InputError
from mechopt.mechanisms.outcome import Allocation
from mechopt.mechanisms.resolve import economy_solver
from mechopt.mechanisms.vcg import _warm_start_pays
from mechopt.solve import DEFAULT_SOLVER, SolverError, SolveResult, SolverNotFound, SolveStatus

__all__ = ["SolveSettings", "EconomyResult", "solve_economy", "pair_lp_bounds", "welfare_tolerance"]

#: two welfare values closer than this (relative to |W|) are treated as equal
WELFARE_RTOL = 1e-9

#: MILP solvers whose own kept LP relaxation gives the pair bounds; every other solver's
#: bounds come from HiGHS' (always installed).  The bounds only prune pairs (case 3 of
#: :mod:`mechopt.audit.discovery`); the welfare they are compared with comes from the MILP
#: solver's proven solves.  Medium L4's 741 pair LPs, one kept relaxed model each: HiGHS
#: 0.49 s, Gurobi 0.30 s, CPLEX 0.21 s, SCIP 10.95 s (it presolves and transforms the
#: problem anew after every bound change); the bounds agreed to 9e-10.
LP_BOUND_SOLVERS = frozenset({"highs", "gurobi", "cplex"})


def welfare_tolerance(welfare: float) -> float:
    """Absolute tolerance for comparing welfare differences of an auction of welfare ``W``.

    Purely relative (``WELFARE_RTOL · |W|``, no floor of 1), so that multiplying every value
    by the same factor never changes a verdict; welfare is an exact sum of bid values, so
    W = 0 needs no tolerance at all.
    """
    return WELFARE_RTOL * abs(welfare)


@dataclass(frozen=True)
class SolveSettings:
    """How each MILP of an audit is solved (always at MIP gap 0).

    ``time_limit`` is per MILP; a solve it stops is reported as not proven optimal.
    """

    solver: str = DEFAULT_SOLVER
    time_limit: float | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.time_limit is not None and not (self.time_limit > 0):
            raise InputError(f"time limit must be positive, got {self.time_limit}")


@dataclass(frozen=True)
class EconomyResult:
    """Optimal allocation of ``auction.without(exclude)`` as the solver reported it.

    ``bids`` maps each winner to its accepted bid; it is None when the solver returned no
    allocation at all (time limit before any incumbent, solver failure).  ``welfare`` is the
    exact (``math.fsum``) sum of the accepted bids' values, never the solver's objective.
    """

    exclude: frozenset[str]
    bids: Mapping[str, Bid] | None
    solve: SolveResult
    reserve_value: float = 0.0
    """The seller's reserve value of the items the allocation leaves unsold (0 without reserves)."""

    @property
    def is_optimal(self) -> bool:
        return self.bids is not None and self.solve.is_optimal

    @property
    def welfare(self) -> float | None:
        if self.bids is None:
            return None
        return math.fsum([*(bid.value for bid in self.bids.values()), self.reserve_value])

    def allocation(self, auction: CombinatorialAuction) -> Allocation:
        """This result as an :class:`Allocation` of ``auction`` (which must be the solved one)."""
        if self.bids is None:
            raise SolverError(f"no allocation was found ({self.solve.status.value})")
        return Allocation(auction, dict(self.bids), "optimal", self.solve, self.exclude)


def solve_economy(
    auction: CombinatorialAuction,
    exclude: Iterable[str],
    settings: SolveSettings,
    incumbent: Mapping[str, Bid] | None = None,
) -> EconomyResult:
    """Solve the winner determination problem of ``auction`` without ``exclude`` (a task).

    Solved on this process's kept model of ``auction`` (:func:`~mechopt.mechanisms.resolve.economy_solver`:
    the excluded bidders' variables fixed to 0), not on a model built for this economy;
    ``incumbent`` is a feasible allocation handed over as a MIP start where that pays
    (:data:`mechopt.mechanisms.vcg.WARM_START`).

    A solver that returns no allocation does not raise: the result carries the status
    (the solver's reason, e.g. ``solver error``) and ``bids=None``, so that the audit can say
    which verdicts are affected.  A solver that is not installed still raises
    :class:`SolverNotFound` (a configuration error, not an unproven result).
    """
    excluded = frozenset(str(b) for b in exclude)
    try:
        allocation = economy_solver(auction, settings.solver).solve(
            excluded,
            incumbent=incumbent,
            warm_start=_warm_start_pays(settings.solver),
            time_limit=settings.time_limit,
            threads=settings.threads,
        )
    except SolverNotFound:
        raise
    except SolverError as exc:
        status = exc.status or SolveStatus.ERROR
        failed = SolveResult(status, None, None, 0.0, settings.solver, str(exc))
        return EconomyResult(excluded, None, failed)
    assert allocation.solve is not None  # solve_wdp always reports its solve
    bids = dict(allocation.bids)
    kept = auction.welfare_of(bids.values()) - math.fsum(b.value for b in bids.values())
    return EconomyResult(excluded, bids, allocation.solve, kept if auction.reserves else 0.0)


def pair_lp_bounds(
    auction: CombinatorialAuction, pairs: Iterable[frozenset[str]], settings: SolveSettings
) -> list[tuple[frozenset[str], float | None, float]]:
    """Upper bounds of W_{-E} from the LP relaxation, for each set ``E`` in ``pairs`` (a task).

    Re-solves one kept relaxed model (the simplex restarts from the previous basis after
    the bound changes): the MILP solver's own for :data:`LP_BOUND_SOLVERS`, else HiGHS'.
    Returns ``(E, bound or None when not proven, seconds)`` per set.
    """
    lp_solver = settings.solver if settings.solver in LP_BOUND_SOLVERS else DEFAULT_SOLVER
    kept = economy_solver(auction, lp_solver, relax=True)
    out = []
    for pair in pairs:
        result = kept.bound(pair, threads=settings.threads)
        out.append((pair, result.objective if result.is_optimal else None, result.seconds))
    return out
