"""Core-selecting payments in the shill audit: one more row of the remedies table.

VCG is not false-name-proof (Yokoo, Sakurai, Matsubara, GEB 2004): a bidder that splits its
bundle bid over several names can lower what it pays, and revenue falls below what losers
offered.  Core-selecting payments (:mod:`mechopt.mechanisms.core`) charge the winners at
least what any blocking coalition of bidders offers, so they can take back part of the
schemer's gain without accusing anybody.  The audit computes them for the plain auction
(row ``core``) and after each remedy (``core+exclusion``, ``core+grouping``), from the VCG
outcomes it already has (their marginal economies are the lower bounds, no re-solve), and
the allocations of every economy it solved inside that auction (marginal and pair
economies) as seed constraints, one free core constraint each.  On medium L4 the seeds took
the plain auction's core payments from 18 separation MILPs (2.7 s) to 13 (0.8 s); the
remedies' rows, with only their marginal economies as seeds, did not change.  The
separation MILPs, LPs and QPs count as solves of the audit and their worst status enters
its status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from mechopt.auction import Bid
from mechopt.audit.economies import SolveSettings
from mechopt.audit.remedy import Remedy
from mechopt.mechanisms.core import CorePayments, core_payments
from mechopt.solve import SolverError, SolverNotFound

__all__ = ["core_task", "core_remedy", "CORE_ROWS"]

#: remedy name -> name of its core-payment row
CORE_ROWS = {"vcg": "core", "exclusion": "core+exclusion", "grouping": "core+grouping"}


def core_task(
    remedy: Remedy, settings: SolveSettings, seeds: Sequence[Mapping[str, Bid]] = ()
) -> CorePayments | str:
    """Core payments for ``remedy``'s VCG outcome (a picklable task); the reason as a string
    when they cannot be computed (an unproven allocation, a solver failure).  ``seeds``:
    allocations of sub-economies the audit solved anyway (``core_payments``' seed
    constraints)."""
    if not remedy.outcome.allocation.is_optimal:
        return f"{remedy.name}: the allocation is not proven optimal, no core payments"
    try:
        return core_payments(
            remedy.outcome, solver=settings.solver, time_limit=settings.time_limit,
            threads=settings.threads, seeds=seeds,
        )
    except SolverNotFound:
        raise
    except SolverError as exc:
        return f"{remedy.name}: core payments failed: {exc}"


def core_remedy(remedy: Remedy, core: CorePayments) -> Remedy:
    """``remedy`` with its VCG payments replaced by ``core``'s (same auction, tie check)."""
    outcome = replace(core.outcome, details={"core": core.to_dict()})
    return replace(remedy, name=CORE_ROWS[remedy.name], outcome=outcome)
