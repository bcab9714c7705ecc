"""``mechopt solve``: clear one auction and print allocation, payments and utilities."""

from __future__ import annotations

from pathlib import Path

import click

from mechopt.cli import cli, exit_for
from mechopt.cli.batch import (
    PaymentsType,
    batch_exit_code,
    clear,
    expand_inputs,
    is_batch,
    run_batch,
    solve_task,
    summary_line,
    write_results,
)
from mechopt.cli.options import (
    executor_options,
    json_option,
    make_executor,
    print_json,
    progress_label,
    solver_options,
)
from mechopt.cli.report import bundle_text, console, literal, money, not_proven, status_text
from mechopt.mechanisms import PAYMENT_RULES, RULES, Outcome


@cli.command("solve")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--rule", type=click.Choice(RULES), default="optimal", show_default=True,
              help="Outcome rule: welfare-maximizing MILP or LOS greedy.")
@click.option("--payments", type=PaymentsType(PAYMENT_RULES), default=None,
              help="Payment rule, or rule:PATH for a saved learned payment rule "
                   "(models/payments/...json) [default: vcg for optimal, critical for greedy].")
@click.option("--core-reference", type=click.Choice(["vcg", "zero"]), default="vcg", show_default=True,
              help="With --payments core: the revenue-minimal core point nearest to this one.")
@click.option("--format", "fmt", type=click.Choice(["json", "cats"]), default=None,
              help="Instance format [default: from the file suffix; sniffed for pipes and stdin].")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write one result per auction to this file: .csv (one row per bidder) or "
                   ".jsonl (one JSON record per line); - for stdout.")
@solver_options
@executor_options
@json_option
def solve_command(files, rule, payments, core_reference, fmt, out, solver, time_limit, jobs, scheduler, as_json):
    """Clear the auctions in FILE... (mechopt JSON or CATS .txt).

    FILE may be - (standard input), example:NAME (a shipped example, see mechopt examples) or
    a directory (its *.json and *.txt files, recursively).  Several auctions run as tasks of one
    executor (--jobs); a file that fails is reported on one line and the others go on.
    """
    if payments is None:
        payments = "critical" if rule == "greedy" else "vcg"
    if not is_batch(files, out):
        solve_one(files[0], rule, payments, fmt, solver, time_limit, jobs, scheduler, as_json, core_reference)
        return
    sources = expand_inputs(files)
    with make_executor(jobs, scheduler) as executor:
        results = run_batch(solve_task, sources, (fmt, rule, payments, solver, time_limit, core_reference), executor,
                            progress_label("auctions", as_json))
    finish_batch(results, out, as_json, print_outcome)


def solve_one(file, rule, payments, fmt, solver, time_limit, jobs, scheduler, as_json,
              core_reference="vcg") -> None:
    """One auction: the full report (or its JSON document); errors stop the command."""
    sources = expand_inputs([file])
    auction = sources[0].load(fmt)
    with make_executor(jobs, scheduler) as executor:
        outcome = clear(auction, rule, payments, solver, time_limit, executor=executor,
                        progress=progress_label("marginal economies", as_json), core_reference=core_reference)
    if as_json:
        print_json(outcome.to_dict())
    else:
        print_outcome(outcome)
    exit_for(outcome.status)


def finish_batch(results, out, as_json, show, extra=()) -> None:
    """Write ``--out``, print the records (--json), the reports or one line per auction, exit."""
    if out is not None:
        write_results(results, out, extra)
    if as_json:
        print_json([r.record for r in results])
    elif out is None or str(out) != "-":
        for r in results:
            if r.error is not None:
                if len(results) == 1:
                    click.echo(f"error: {r.error}", err=True)
                continue
            if out is None:
                console().print(f"[bold]== {literal(r.source)}[/bold]")
                show(r.result)
            else:
                rec = r.record
                status = str(rec.get("status"))
                if not rec.get("proven_optimal"):
                    status = not_proven(status)
                console().print(f"{literal(r.source)}: {literal(status)}")
        click.echo(summary_line(results), err=out is not None and str(out) == "-")
    code = batch_exit_code(results)
    if code:
        raise SystemExit(code)


def print_outcome(outcome: Outcome) -> None:
    """Human-readable report: status line, allocation and payment table, totals."""
    from rich.table import Table

    out = console()
    auction = outcome.auction
    out.print(
        f"[bold]{literal(auction.name or 'auction')}[/bold]: {len(auction.items)} items, "
        f"{len(auction.bidders)} bidders, {auction.n_bids} bids; rule [bold]{outcome.rule}[/bold], "
        f"payments [bold]{outcome.payment_rule}[/bold]"
    )
    out.print(status_text(outcome.status, outcome.allocation.solve, exact=outcome.status_label == "exact"))
    table = Table(show_edge=False, header_style="bold")
    table.add_column("bidder")
    table.add_column("bid")
    table.add_column("items")
    table.add_column("value", justify="right")
    if outcome.payments:
        table.add_column("payment", justify="right")
        table.add_column("utility", justify="right")
    utilities = outcome.utilities
    shown = [b for b in auction.bidder_ids if b in outcome.allocation.bids or outcome.payments.get(b)]
    for b in shown:
        bid = outcome.allocation.bids.get(b)
        row = [literal(b), literal(bid.id) if bid else "-", bundle_text(auction, bid.items) if bid else "-",
               money(bid.value if bid else 0.0)]
        if outcome.payments:
            row += [money(outcome.payments[b]), money(utilities[b])]
        table.add_row(*row)
    out.print(table)
    totals = f"welfare {money(outcome.welfare)}"
    if outcome.payments:
        totals += f"   revenue {money(outcome.revenue)}"
    totals += f"   winners {len(outcome.winners)}   {outcome.seconds:.2f} s"
    out.print(totals)
    for note in outcome.notes:
        out.print(f"[yellow]note:[/yellow] {literal(note)}")
