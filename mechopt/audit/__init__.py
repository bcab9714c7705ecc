"""Shill (false-name) bidder audit of VCG combinatorial auctions.

Winner-exclusion discovery of Matsuo, Ito, Shintani (JSAI 2005; docs/shill-audit.md), the
collusion check of its §4, and the group remedy of Matsuo, Ito, Day, Shintani (AAMAS 2006).
Entry points: :func:`audit_auction` (one auction), :func:`audit_auctions` (many, their solves
flattened over one executor).  False-name splits for experiments: :mod:`mechopt.audit.inject`.
"""

from mechopt.audit.collusion import DEFAULT_THRESHOLD, CollusionCheck, check_collusion
from mechopt.audit.discovery import Discovery, PairEvidence, SuspectedGroup, discover_groups
from mechopt.audit.economies import EconomyResult, SolveSettings, solve_economy
from mechopt.audit.remedy import Remedy, grouped_auction
from mechopt.audit.report import AuditReport, Verdict
from mechopt.audit.runner import audit_auction, audit_auctions, run_procedures
from mechopt.audit.ties import TieCheck, Uniqueness, check_unique_optimum

__all__ = [
    "audit_auction",
    "audit_auctions",
    "run_procedures",
    "AuditReport",
    "Verdict",
    "Discovery",
    "PairEvidence",
    "SuspectedGroup",
    "discover_groups",
    "Remedy",
    "grouped_auction",
    "CollusionCheck",
    "check_collusion",
    "DEFAULT_THRESHOLD",
    "EconomyResult",
    "SolveSettings",
    "solve_economy",
    "TieCheck",
    "Uniqueness",
    "check_unique_optimum",
]
