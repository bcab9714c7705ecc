"""Measure the shill audit on random auctions with injected false-name splits.

For one *setting* (distribution, items, bids) the evaluation draws auctions from
:func:`mechopt.generators.generate_auction`.  Each seed is assigned a role: with probability
``share`` it is to be manipulated — :func:`~mechopt.audit.inject.find_profitable_split` looks
for a split of a bidder's bundle bid over new names that raises its VCG utility, and the
manipulated auction replaces the original; seeds where no profitable split exists are
counted and skipped — otherwise it stays honest.  Seeds are drawn until ``n_auctions``
auctions are collected, then every auction is audited (all audits' solves flattened over one
executor, see :mod:`mechopt.audit.runner`).  :func:`plot_bench` draws the results as a PNG.

Metrics (an auction is *flagged* when the audit names a suspected group):

* precision = flagged manipulated / flagged;  recall = flagged manipulated / manipulated;
* false-positive rate = flagged honest / honest;
* caught = share of manipulated auctions where one suspected group contains at least two of
  the schemer's winning false names (a profitable split has at least two, by Theorem 1);
  caught_all = share where one group contains all of them (a name whose part meets no
  competing bundle bid shows no drop, so a 3-way split is often caught only in part);
* revenue: totals over the auctions, as a share of the truthful VCG revenue (manipulated) or
  of the plain VCG revenue (honest), for plain VCG and for the policies "exclude the
  suspects if flagged" and "group the suspects if flagged" (an unflagged auction keeps its
  VCG revenue under every policy); the same under core-selecting payments (``core``: core
  payments on the auction as it is; ``core_exclusion`` / ``core_grouping``: core payments
  after the remedy when flagged);
* schemers' gain under core payments: for every manipulated auction the truthful auction is
  cleared with core payments too, and the split *still pays under core* when the schemer's
  utility from its names' core payments exceeds its truthful core utility (tolerance 1e-9 of
  the welfare, as for VCG).
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from mechopt.audit.collusion import DEFAULT_THRESHOLD
from mechopt.audit.economies import SolveSettings, welfare_tolerance
from mechopt.audit.inject import InjectedSplit, find_profitable_split, schemer_utility
from mechopt.audit.report import AuditReport
from mechopt.audit.runner import audit_auctions
from mechopt.errors import InputError
from mechopt.generators import generate_auction
from mechopt.io.atomic import atomic_write_bytes
from mechopt.mechanisms.core import run_core
from mechopt.parallel import Executor
from mechopt.solve import SolveStatus

__all__ = ["Setting", "SettingResult", "evaluate_setting", "auction_seed", "plot_bench"]


@dataclass(frozen=True)
class Setting:
    """One row of the benchmark: where the random auctions come from."""

    distribution: str
    n_items: int
    n_bids: int


def auction_seed(base_seed: int, k: int) -> int:
    """Seed of the k-th auction of a run (reproducible, distinct across k)."""
    return base_seed * 1_000_003 + k


def _is_manipulated_role(base_seed: int, k: int, share: float) -> bool:
    return bool(np.random.default_rng([base_seed, k, 7]).random() < share)


def _inject_task(setting: Setting, seed: int, settings: SolveSettings) -> InjectedSplit | None:
    auction = generate_auction(
        setting.distribution, n_items=setting.n_items, n_bids=setting.n_bids, seed=seed
    )
    return find_profitable_split(auction, seed, settings)


@dataclass(frozen=True)
class SettingResult:
    """Metrics of one setting (see the module docstring); counts are auctions."""

    distribution: str
    n_items: int
    n_bids: int
    honest: int
    manipulated: int
    injection_failed: int
    flagged_honest: int
    flagged_manipulated: int
    caught: int
    caught_all: int
    not_proven: int
    tied: int
    revenue_truthful: float
    revenue_vcg_manipulated: float
    revenue_exclusion_manipulated: float
    revenue_grouping_manipulated: float
    revenue_vcg_honest: float
    revenue_exclusion_honest: float
    revenue_grouping_honest: float
    seconds: float
    status: SolveStatus = SolveStatus.OPTIMAL
    """The worst status of all solves of all audits of the setting."""
    revenue_core_manipulated: float = math.nan
    revenue_core_exclusion_manipulated: float = math.nan
    revenue_core_grouping_manipulated: float = math.nan
    revenue_core_honest: float = math.nan
    revenue_core_truthful: float = math.nan
    """Core revenue of the truthful auctions behind the manipulated ones."""
    profitable_under_core: int = 0
    """Manipulated auctions whose split still raises the schemer's utility under core payments."""
    core_not_proven: int = 0
    """Auctions (or their truthful originals) whose core payments are not proven."""

    @property
    def precision(self) -> float:
        flagged = self.flagged_honest + self.flagged_manipulated
        return self.flagged_manipulated / flagged if flagged else math.nan

    @property
    def recall(self) -> float:
        return self.flagged_manipulated / self.manipulated if self.manipulated else math.nan

    @property
    def false_positive_rate(self) -> float:
        return self.flagged_honest / self.honest if self.honest else math.nan

    @property
    def caught_rate(self) -> float:
        return self.caught / self.manipulated if self.manipulated else math.nan

    @property
    def caught_all_rate(self) -> float:
        return self.caught_all / self.manipulated if self.manipulated else math.nan

    @property
    def profitable_under_core_rate(self) -> float:
        """Share of the manipulated auctions whose split still pays under core payments."""
        return self.profitable_under_core / self.manipulated if self.manipulated else math.nan

    def revenue_share(self, which: str) -> float:
        """``<policy>_<population>`` revenue over the population's reference revenue."""
        policy, population = which.rsplit("_", 1)
        ref = self.revenue_vcg_honest if population == "honest" else self.revenue_truthful
        value = getattr(self, f"revenue_{policy}_{population}")
        return value / ref if ref > 0 else math.nan

    def to_dict(self) -> dict:
        data = asdict(self)
        data["status"] = self.status.value
        data.update(
            precision=self.precision,
            recall=self.recall,
            false_positive_rate=self.false_positive_rate,
            caught_rate=self.caught_rate,
            caught_all_rate=self.caught_all_rate,
            profitable_under_core_rate=self.profitable_under_core_rate,
        )
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in data.items()}


def _policy_revenue(report: AuditReport, remedy: str) -> float:
    """Revenue the auctioneer collects when applying ``remedy`` to flagged auctions only
    (``core``, ``core_exclusion``, ``core_grouping``: with core payments; an auction without
    a core row counts with its VCG revenue)."""
    if report.vcg is None:
        return 0.0
    if remedy.startswith("core"):
        plain = report.core_row("core") or report.vcg
        after = remedy.removeprefix("core").lstrip("_")
        chosen = report.core_row(f"core+{after}") if after and report.accuses else None
        return (chosen or plain).revenue
    chosen = getattr(report, remedy) if report.accuses else None
    return (chosen or report.vcg).revenue


def _truthful_core_task(injected: InjectedSplit, settings: SolveSettings) -> tuple[float, float, bool]:
    """Core revenue of the truthful auction, the schemer's utility in it, proven."""
    core = run_core(
        injected.original, solver=settings.solver, time_limit=settings.time_limit,
        threads=settings.threads,
    )
    bid = core.outcome.allocation.bids.get(injected.schemer)
    utility = (bid.value if bid else 0.0) - core.payments.get(injected.schemer, 0.0)
    return core.revenue, utility, core.proven


def _profitable_under_core(report: AuditReport, injected: InjectedSplit, truthful_utility: float) -> bool:
    row = report.core_row("core")
    if row is None:
        return True  # no core payments: the split's VCG gain stands
    outcome = row.outcome
    utility = schemer_utility(
        injected.original, injected.schemer, injected.names, outcome.allocation.bids, outcome.payments
    )
    return utility > truthful_utility + welfare_tolerance(outcome.welfare)


def _caught(report: AuditReport, injected: InjectedSplit, everyone: bool = False) -> bool:
    names = set(injected.winning_names)
    need = len(names) if everyone else 2
    return any(len(names & set(group)) >= need for group in report.groups)


def evaluate_setting(
    setting: Setting,
    *,
    n_auctions: int = 200,
    share: float = 0.5,
    seed: int = 0,
    threshold: float = DEFAULT_THRESHOLD,
    executor: Executor | None = None,
    solve_settings: SolveSettings | None = None,
    progress: bool = False,
) -> SettingResult:
    """Draw, manipulate and audit ``n_auctions`` auctions of ``setting``; return the metrics."""
    if n_auctions < 1:
        raise InputError(f"number of auctions must be positive, got {n_auctions}")
    if not (0.0 <= share <= 1.0):
        raise InputError(f"share of manipulated auctions must be in [0, 1], got {share}")
    start = time.perf_counter()
    executor = executor or Executor(1)
    solve_settings = solve_settings or SolveSettings()
    label = f"{setting.distribution}" if progress else None
    n_manip_target = round(n_auctions * share)
    n_honest_target = n_auctions - n_manip_target
    honest_seeds: list[int] = []
    injected: list[InjectedSplit] = []
    failed = 0
    k = 0
    while len(honest_seeds) < n_honest_target or len(injected) < n_manip_target:
        need = n_manip_target - len(injected)
        batch: list[int] = []  # seeds to manipulate: about twice the manipulations still needed
        while len(batch) < 2 * need or (need == 0 and len(honest_seeds) < n_honest_target):
            if k > 50 * n_auctions + 100:
                raise InputError(
                    f"{setting.distribution}: found only {len(injected)} profitable splits in "
                    f"{k} auctions; lower the share of manipulated auctions"
                )
            s, manipulate = auction_seed(seed, k), _is_manipulated_role(seed, k, share)
            k += 1
            if manipulate:
                batch.append(s)
            elif len(honest_seeds) < n_honest_target:
                honest_seeds.append(s)
        if batch:
            found = executor.map(
                _inject_task,
                [(setting, s, solve_settings) for s in batch],
                progress=f"{label}: injecting splits" if label else None,
            )
            for result in found:
                if result is None:
                    failed += 1
                elif len(injected) < n_manip_target:
                    injected.append(result)
    honest = [
        generate_auction(
            setting.distribution, n_items=setting.n_items, n_bids=setting.n_bids, seed=s
        )
        for s in honest_seeds
    ]
    auctions = honest + [inj.auction for inj in injected]
    reports = audit_auctions(
        auctions,
        threshold=threshold,
        executor=executor,
        solver=solve_settings.solver,
        time_limit=solve_settings.time_limit,
        threads=solve_settings.threads,
        progress=f"{label}: audits" if label else None,
    )
    honest_reports, manip_reports = reports[: len(honest)], reports[len(honest) :]
    truthful_core = executor.map(
        _truthful_core_task, [(inj, solve_settings) for inj in injected],
        progress=f"{label}: truthful core payments" if label else None,
    )
    return SettingResult(
        distribution=setting.distribution,
        n_items=setting.n_items,
        n_bids=setting.n_bids,
        honest=len(honest),
        manipulated=len(injected),
        injection_failed=failed,
        flagged_honest=sum(r.accuses for r in honest_reports),
        flagged_manipulated=sum(r.accuses for r in manip_reports),
        caught=sum(_caught(r, inj) for r, inj in zip(manip_reports, injected, strict=True)),
        caught_all=sum(
            _caught(r, inj, everyone=True) for r, inj in zip(manip_reports, injected, strict=True)
        ),
        not_proven=sum(_not_proven(r) for r in reports),
        tied=sum(bool(r.vcg and r.vcg.tie.tied) for r in reports),
        revenue_truthful=math.fsum(inj.truthful_revenue for inj in injected),
        revenue_vcg_manipulated=_total(manip_reports, "vcg"),
        revenue_exclusion_manipulated=_total(manip_reports, "exclusion"),
        revenue_grouping_manipulated=_total(manip_reports, "grouping"),
        revenue_vcg_honest=_total(honest_reports, "vcg"),
        revenue_exclusion_honest=_total(honest_reports, "exclusion"),
        revenue_grouping_honest=_total(honest_reports, "grouping"),
        seconds=time.perf_counter() - start,
        status=SolveStatus.worst([r.status for r in reports]),
        revenue_core_manipulated=_total(manip_reports, "core"),
        revenue_core_exclusion_manipulated=_total(manip_reports, "core_exclusion"),
        revenue_core_grouping_manipulated=_total(manip_reports, "core_grouping"),
        revenue_core_honest=_total(honest_reports, "core"),
        revenue_core_truthful=math.fsum(rev for rev, _, _ in truthful_core),
        profitable_under_core=sum(
            _profitable_under_core(r, inj, u)
            for r, inj, (_, u, _) in zip(manip_reports, injected, truthful_core, strict=True)
        ),
        core_not_proven=sum(not proven for _, _, proven in truthful_core)
        + sum(any(not row.is_optimal for row in r.core) for r in reports),
    )


def _total(reports: Sequence[AuditReport], policy: str) -> float:
    if policy == "vcg":
        return math.fsum(r.vcg.revenue if r.vcg else 0.0 for r in reports)
    return math.fsum(_policy_revenue(r, policy) for r in reports)


def _not_proven(report: AuditReport) -> bool:
    return report.verdict.value == "inconclusive" or not report.is_optimal


def plot_bench(results: Sequence[SettingResult], path: str | os.PathLike) -> None:
    """Two panels: precision / recall / false-positive rate, and the revenue of manipulated
    auctions (share of truthful VCG revenue) under plain VCG, exclusion and grouping."""
    from matplotlib.figure import Figure  # no pyplot: leaves the user's backend alone

    labels = [f"{r.distribution}\n{r.n_items}x{r.n_bids}" for r in results]
    x = np.arange(len(results))
    fig = Figure(figsize=(11, 4))
    left, right = fig.subplots(1, 2)
    detection = {
        "precision": [r.precision for r in results],
        "recall": [r.recall for r in results],
        "false-positive rate": [r.false_positive_rate for r in results],
    }
    revenue = {
        "plain VCG": [r.revenue_share("vcg_manipulated") for r in results],
        "exclusion": [r.revenue_share("exclusion_manipulated") for r in results],
        "grouping": [r.revenue_share("grouping_manipulated") for r in results],
    }
    for ax, series, title in (
        (left, detection, "Detection (auction flagged)"),
        (right, revenue, "Revenue of manipulated auctions / truthful VCG revenue"),
    ):
        width = 0.8 / len(series)
        for k, (name, values) in enumerate(series.items()):
            ax.bar(x + (k - (len(series) - 1) / 2) * width, values, width, label=name)
        ax.set_xticks(x, labels)
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, max(1.05, max(max(v) for v in series.values()) * 1.1))
        ax.axhline(1.0, color="grey", linewidth=0.5)
        ax.legend(fontsize=8)
    n = sum(r.honest + r.manipulated for r in results) // max(1, len(results))
    fig.suptitle(f"Shill audit on injected false-name splits ({n} auctions per setting)", fontsize=11)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    atomic_write_bytes(path, buffer.getvalue())
