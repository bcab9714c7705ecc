"""The typed result of a shill audit: verdict, evidence, remedies, collusion flag."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from mechopt.auction import CombinatorialAuction
from mechopt.audit.collusion import CollusionCheck
from mechopt.audit.discovery import Discovery
from mechopt.audit.economies import SolveSettings
from mechopt.audit.remedy import Remedy
from mechopt.solve import SolveStatus

__all__ = ["Verdict", "AuditReport"]


class Verdict(enum.Enum):
    """What an audit concludes.  Only ``SUSPECTS`` accuses anyone, and only on proven solves."""

    NO_WINNERS = "no winners"
    """No bid won: there is nothing to audit."""
    ONE_WINNER = "one winner"
    """A single winner: by Theorem 1 a schemer gains only if at least two of its names win."""
    NO_SUSPECTS = "no suspects"
    """Every pair of winners was checked on proven optimal solves; no utility drop."""
    SUSPECTS = "suspects"
    """At least one group of winners with proven mutual utility drops."""
    INCONCLUSIVE = "inconclusive"
    """A solve the verdict needs is not proven optimal; nobody is accused on its strength."""


@dataclass(frozen=True)
class AuditReport:
    """Everything ``mechopt audit`` prints, as data.

    ``vcg`` is the plain VCG outcome (None only when the winner determination returned no
    allocation); ``discovery`` the utility table, pair evidence and groups (None with fewer
    than two winners or an unproven main solve); ``exclusion`` / ``grouping`` the two
    remedies and ``collusion`` the revenue check (None unless there are suspects).
    ``solves`` counts the MILPs behind the report; ``solver_seconds`` adds up their times;
    ``status`` is the worst of their statuses.
    """

    auction: CombinatorialAuction
    verdict: Verdict
    summary: str
    vcg: Remedy | None
    discovery: Discovery | None
    exclusion: Remedy | None
    grouping: Remedy | None
    collusion: CollusionCheck | None
    threshold: float
    settings: SolveSettings
    solves: int
    solver_seconds: float
    notes: tuple[str, ...] = ()
    status: SolveStatus = SolveStatus.OPTIMAL
    """The least favourable status of all the audit's solves (tie checks included)."""
    core: tuple[Remedy, ...] = field(default=())
    """Core-selecting payments (:mod:`mechopt.audit.core`): rows ``core`` (plain auction),
    ``core+exclusion`` and ``core+grouping`` (after each remedy) where they were computed."""

    def core_row(self, name: str) -> Remedy | None:
        """The core row named ``core``, ``core+exclusion`` or ``core+grouping`` (or None)."""
        return next((r for r in self.core if r.name == name), None)

    @property
    def is_optimal(self) -> bool:
        """True when every solve behind the report is proven optimal."""
        return self.status.is_optimal

    @property
    def suspects(self) -> tuple[str, ...]:
        return self.discovery.suspects if self.discovery is not None else ()

    @property
    def groups(self) -> tuple[tuple[str, ...], ...]:
        if self.discovery is None:
            return ()
        return tuple(g.members for g in self.discovery.groups)

    @property
    def accuses(self) -> bool:
        """True when the audit names suspects (always on proven optimal solves only)."""
        return self.verdict is Verdict.SUSPECTS

    def utility_table(self) -> dict[str, dict[str, float | None]]:
        """``{winner ι: {"all": u_ι, θ: u_ι^{~θ}, ...}}`` — the table of steps 2–5."""
        if self.discovery is None:
            return {}
        table: dict[str, dict[str, float | None]] = {}
        for iota in self.discovery.winners:
            row: dict[str, float | None] = {"all": self.discovery.utilities[iota]}
            for theta in self.discovery.winners:
                if theta != iota:
                    row[theta] = self.discovery.pair(iota, theta).utility_without
            table[iota] = row
        return table

    def to_dict(self) -> dict:
        """JSON-ready form (the output of ``mechopt audit --json``)."""
        d = self.discovery
        return {
            "auction": self.auction.name,
            "items": len(self.auction.items),
            "bidders": len(self.auction.bidders),
            "bids": self.auction.n_bids,
            "verdict": self.verdict.value,
            "summary": self.summary,
            "winners": list(d.winners) if d else (list(self.vcg.outcome.winners) if self.vcg else []),
            "utility_table": self.utility_table(),
            "pairs": [p.to_dict() for p in d.pairs] if d else [],
            "groups": [g.to_dict() for g in d.groups] if d else [],
            "unresolved_pairs": [list(p) for p in d.unresolved] if d else [],
            "drop_tolerance": d.tolerance if d else None,
            "vcg": self.vcg.to_dict() if self.vcg else None,
            "exclusion": self.exclusion.to_dict() if self.exclusion else None,
            "grouping": self.grouping.to_dict() if self.grouping else None,
            "collusion": self.collusion.to_dict() if self.collusion else None,
            "core": [r.to_dict() for r in self.core],
            "threshold": self.threshold,
            "solver": self.settings.solver,
            "time_limit": self.settings.time_limit,
            "solves": self.solves,
            "solver_seconds": self.solver_seconds,
            "status": self.status.value,
            "proven_optimal": self.is_optimal,
            "notes": list(self.notes),
        }
