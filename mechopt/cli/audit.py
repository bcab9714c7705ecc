"""``mechopt audit``: shill-bidder audit of one auction; ``mechopt bench audit``: its evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from mechopt.audit import DEFAULT_THRESHOLD, AuditReport, Verdict, audit_auction
from mechopt.audit.discovery import EVIDENCE
from mechopt.audit.economies import SolveSettings
from mechopt.audit.remedy import Remedy
from mechopt.benchmarks.audit import Setting, SettingResult, evaluate_setting
from mechopt.cli import cli, exit_for
from mechopt.cli.bench import bench
from mechopt.cli.options import (
    CommaList,
    executor_options,
    json_option,
    json_text,
    make_executor,
    print_json,
    progress_label,
    solver_options,
)
from mechopt.cli.report import bundle_text, console, literal, money, status_text
from mechopt.generators import DISTRIBUTIONS
from mechopt.io.atomic import atomic_write_text
from mechopt.solve import SolveStatus

threshold_option = click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Collusion flag: share of the VCG revenue that must be lost without the suspects.",
)

VERDICT_STYLE = {
    Verdict.SUSPECTS: "bold red",
    Verdict.INCONCLUSIVE: "bold yellow",
    Verdict.NO_SUSPECTS: "bold green",
    Verdict.ONE_WINNER: "bold green",
    Verdict.NO_WINNERS: "bold",
}


@cli.command("audit")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--format", "fmt", type=click.Choice(["json", "cats"]), default=None,
              help="Instance format [default: from the file suffix; sniffed for pipes and stdin].")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write one result per auction to this file: .csv (one row per VCG winner, with "
                   "the verdict) or .jsonl (one JSON record per line); - for stdout.")
@threshold_option
@click.option("--evidence", type=click.Choice(EVIDENCE), default="spanning", show_default=True,
              help="Which utility drops to compute: 'spanning' solves pair economies only until "
                   "the suspected groups are known (each group's evidence connects its members; "
                   "same groups and verdict), 'all' every pair that can show a drop.")
@click.option("--remedies/--no-remedies", default=True, show_default=True,
              help="Also clear the auction without the suspects and with each group as one "
                   "bidder (VCG of each, the collusion check); --no-remedies stops at the groups.")
@click.option("--core/--no-core", default=True, show_default=True,
              help="Also charge core-selecting payments in the plain auction and after each remedy.")
@solver_options
@executor_options
@json_option
def audit_command(files, fmt, out, threshold, evidence, remedies, core, solver, time_limit, jobs,
                  scheduler, as_json):
    """Audit the VCG auction in FILE for shill (false-name) bidders.

    Winner-exclusion discovery (Matsuo, Ito, Shintani 2005): winners whose VCG utility
    drops when another winner is left out form a suspected group.  Also reports the revenue
    when the suspects are excluded or grouped into one bidder (AAMAS 2006), and flags a
    revenue drop larger than --threshold.  The status line is the worst of all the solves.

    FILE may be -, example:NAME or a directory, and several files are audited as tasks of one
    executor (as for mechopt solve; --out writes one result per auction).
    """
    from mechopt.cli.batch import audit_task, expand_inputs, is_batch, run_batch
    from mechopt.cli.solve import finish_batch

    if is_batch(files, out):
        sources = expand_inputs(files)
        with make_executor(jobs, scheduler) as executor:
            results = run_batch(audit_task, sources, (fmt, threshold, solver, time_limit, evidence, remedies, core),
                                executor,
                                progress_label("auctions", as_json))
        finish_batch(results, out, as_json, print_report, extra=("verdict",))
        return
    auction = expand_inputs(files)[0].load(fmt)
    with make_executor(jobs, scheduler) as executor:
        report = audit_auction(
            auction,
            threshold=threshold,
            executor=executor,
            solver=solver,
            time_limit=time_limit,
            progress=progress_label("audit", as_json),
            evidence=evidence,
            remedies=remedies,
            core=core,
        )
    if as_json:
        print_json(report.to_dict())
    else:
        print_report(report)
    exit_for(report.status)


# ------------------------------------------------------------------------------------------
# human-readable report
# ------------------------------------------------------------------------------------------
def print_report(report: AuditReport) -> None:
    """Verdict, utility table, suspected groups with evidence, remedies, collusion flag."""
    from rich.console import JustifyMethod
    from rich.table import Table

    out = console()
    auction = report.auction
    out.print(
        f"[bold]{literal(auction.name or 'auction')}[/bold]: {len(auction.items)} items, "
        f"{len(auction.bidders)} bidders, {auction.n_bids} bids; shill audit of the VCG outcome "
        f"({report.solves} MILP{'' if report.solves == 1 else 's'} at gap 0)"
    )
    solve = report.vcg.outcome.allocation.solve if report.vcg is not None else None
    out.print(status_text(report.status, solve if solve is not None and solve.status == report.status else None))
    style = VERDICT_STYLE[report.verdict]
    out.print(f"[{style}]verdict: {report.verdict.value.upper()}[/{style}] — {literal(report.summary)}")

    d = report.discovery
    if d is not None:
        out.print("[bold]winners' VCG utility u = W − W₋ᵢ, all bidders in and with one winner excluded[/bold]")
        table = Table(show_edge=False, header_style="bold")
        table.add_column("winner")
        table.add_column("items")
        table.add_column("all in", justify="right")
        for theta in d.winners:
            table.add_column(f"without {literal(theta)}", justify="right")
        bids = report.vcg.outcome.allocation.bids if report.vcg else {}
        for iota in d.winners:
            bid = bids.get(iota)
            row = [literal(iota), bundle_text(auction, bid.items) if bid else "-",
                   _amount(d.utilities[iota])]
            for theta in d.winners:
                if theta == iota:
                    row.append("·")
                    continue
                pair = d.pair(iota, theta)
                cell = "linked" if pair.linked else _amount(pair.utility_without)
                if pair.drop is not None and pair.drop > d.tolerance:
                    cell = f"[red]{cell} (−{money(pair.drop)})[/red]"
                if not pair.proven:
                    cell += " [yellow](not proven)[/yellow]"
                row.append(cell)
            table.add_row(*row)
        out.print(table)
        for k, group in enumerate(d.groups, 1):
            out.print(f"[bold red]suspected group {k}:[/bold red] {{{', '.join(map(literal, group.members))}}}")
            for e in group.evidence:
                assert e.utility is not None and e.utility_without is not None  # proven pairs only
                out.print(
                    f"   u\\[{literal(e.bidder)}] falls {money(e.utility)} → {money(e.utility_without)} "
                    f"when {literal(e.excluded)} is excluded"
                )
        if d.unresolved:
            pairs = ", ".join(f"({literal(a)}, {literal(b)})" for a, b in d.unresolved)
            out.print(f"[yellow]not proven (no verdict on these pairs):[/yellow] {pairs}")

    remedies = [r for r in (report.vcg, report.exclusion, report.grouping) if r is not None]
    remedies += list(report.core)
    if remedies:
        title = "revenue under plain VCG, core payments and each remedy" if len(remedies) > 1 else "VCG outcome"
        out.print(f"[bold]{title}[/bold]")
        table = Table(show_edge=False, header_style="bold")
        for col, justify in (("remedy", "left"), ("revenue", "right"), ("welfare", "right"),
                             ("winners (payment)", "left"), ("status", "left"),
                             ("optimum", "left")):
            table.add_column(col, justify=cast(JustifyMethod, justify))
        for r in remedies:
            table.add_row(*_remedy_row(r))
        out.print(table)
    if report.collusion is not None:
        c = report.collusion
        flag = {True: "[bold red]FLAGGED[/bold red]", False: "not flagged",
                None: "[yellow]undecided[/yellow]"}[c.flagged]
        out.print(f"collusion check: {flag} — {literal(c.explanation)}")
    for note in report.notes:
        out.print(f"[yellow]note:[/yellow] {literal(note)}")


REMEDY_LABEL = {"vcg": "plain VCG", "exclusion": "exclusion", "grouping": "grouping",
                "core": "core payments", "core+exclusion": "core + exclusion",
                "core+grouping": "core + grouping"}


def _remedy_row(remedy: Remedy) -> list[str]:
    outcome = remedy.outcome
    winners = ", ".join(f"{literal(w)} ({money(outcome.payments.get(w, 0.0))})" for w in outcome.winners)
    status = "optimal" if outcome.is_optimal else f"[red]{outcome.status_label}[/red]"
    unique = {
        "unique": "unique",
        "tied": "[yellow]tied[/yellow]",
    }.get(remedy.tie.uniqueness.value, f"[yellow]{remedy.tie.uniqueness.value}[/yellow]")
    return [REMEDY_LABEL[remedy.name], money(remedy.revenue), money(outcome.welfare),
            winners or "-", status, unique]


def _amount(x: float | None) -> str:
    return "?" if x is None else money(x)


# ------------------------------------------------------------------------------------------
# benchmark
# ------------------------------------------------------------------------------------------
@bench.command("audit")
@click.option("--distributions", "-d", "names", type=CommaList(str, choices=DISTRIBUTIONS),
              default="L2,L4,L6,arbitrary", show_default=True,
              help="Comma-separated generator distributions, one setting each.")
@click.option("--items", "n_items", type=click.IntRange(min=2), default=10, show_default=True, help="Items per generated auction.")
@click.option("--bids", "n_bids", type=click.IntRange(min=2), default=20, show_default=True, help="Bids per generated auction.")
@click.option("--auctions", "n_auctions", type=click.IntRange(min=1), default=200, show_default=True,
              help="Audited auctions per setting (honest + manipulated).")
@click.option("--share", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
              help="Share of the auctions that get a profitable false-name split.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the generated auctions.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the results as JSON to this file.")
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (for README.md).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG of detection rates and revenues to this file.")
@threshold_option
@solver_options
@executor_options
@json_option
def bench_audit(names, n_items, n_bids, n_auctions, share, seed, out, markdown, plot,
                threshold, solver, time_limit, jobs, scheduler, as_json):
    """Precision, recall and false positives of the shill audit on injected false-name splits,
    and the revenue of exclusion vs grouping vs plain VCG."""
    settings = SolveSettings(solver, time_limit)
    show_progress = progress_label("bench", as_json) is not None
    results: list[SettingResult] = []
    with make_executor(jobs, scheduler) as executor:
        for name in names:
            results.append(
                evaluate_setting(
                    Setting(name, n_items, n_bids),
                    n_auctions=n_auctions,
                    share=share,
                    seed=seed,
                    threshold=threshold,
                    executor=executor,
                    solve_settings=settings,
                    progress=show_progress,
                )
            )
    data = {
        "command": "mechopt bench audit",
        "items": n_items, "bids": n_bids, "auctions": n_auctions, "share": share, "seed": seed,
        "jobs": jobs, "settings": [r.to_dict() for r in results],
    }
    if out is not None:
        atomic_write_text(out, json_text(data) + "\n")
    if plot is not None:
        from mechopt.benchmarks.audit import plot_bench

        plot_bench(results, plot)
    if as_json:
        print_json(data)
    else:
        print_bench(results, jobs, markdown)
    exit_for(SolveStatus.worst([r.status for r in results]))


def _pct(x: float) -> str:
    return "-" if x != x else f"{100 * x:.0f}%"


BENCH_COLUMNS = (
    "setting", "honest", "manip.", "prec.", "recall", "FPR", "caught", "all", "VCG", "excl.",
    "group", "h.excl.", "h.group", "core", "core+excl.", "core+group", "h.core", "t.core", "pays", "s",
)


def bench_rows(results: list[SettingResult]) -> list[list[str]]:
    """One row per setting, in the order of :data:`BENCH_COLUMNS`."""
    return [
        [
            f"{r.distribution} {r.n_items}x{r.n_bids}", str(r.honest), str(r.manipulated),
            _pct(r.precision), _pct(r.recall), _pct(r.false_positive_rate), _pct(r.caught_rate),
            _pct(r.caught_all_rate),
            _pct(r.revenue_share("vcg_manipulated")), _pct(r.revenue_share("exclusion_manipulated")),
            _pct(r.revenue_share("grouping_manipulated")),
            _pct(r.revenue_share("exclusion_honest")), _pct(r.revenue_share("grouping_honest")),
            _pct(r.revenue_share("core_manipulated")),
            _pct(r.revenue_share("core_exclusion_manipulated")),
            _pct(r.revenue_share("core_grouping_manipulated")),
            _pct(r.revenue_share("core_honest")),
            _pct(r.revenue_share("core_truthful")),
            _pct(r.profitable_under_core_rate),
            f"{r.seconds:.0f}",
        ]
        for r in results
    ]


BENCH_FOOTNOTE = (
    "caught: a suspected group holds >= 2 of the schemer's winning names (all: every one); "
    "VCG/excl./group: revenue of the manipulated auctions under plain VCG / exclusion / grouping "
    "(remedies applied when flagged) as a share of their truthful VCG revenue; h.excl./h.group: "
    "the same for honest auctions as a share of plain VCG; core, core+excl., core+group, "
    "h.core: the same with core-selecting payments; t.core: core revenue of the truthful "
    "auctions behind the manipulated ones / their VCG revenue; pays: share of the manipulated auctions whose split still raises the "
    "schemer's utility under core payments"
)


def print_bench(results: list[SettingResult], jobs: int, markdown: bool = False) -> None:
    rows = bench_rows(results)
    not_proven = sum(r.not_proven for r in results)
    footer = f"{BENCH_FOOTNOTE}; {jobs} job(s); audits resting on unproven solves: {not_proven}"
    if markdown:
        click.echo("| " + " | ".join(BENCH_COLUMNS) + " |")
        click.echo("|" + "|".join("---" if c == "setting" else "---:" for c in BENCH_COLUMNS) + "|")
        for row in rows:
            click.echo("| " + " | ".join(row) + " |")
        click.echo(f"\n{footer}")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold", box=None)
    for col in BENCH_COLUMNS:
        table.add_column(col, justify="left" if col == "setting" else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    out = Console(highlight=False, width=max(110, console().width))
    out.print(table)
    out.print(footer)
