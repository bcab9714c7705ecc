"""``mechopt solve``: clear one auction and print allocation, payments and utilities."""

from __future__ import annotations

import click

from mechopt.cli import cli, exit_for
from mechopt.cli.options import (
    echo_json,
    executor_options,
    json_option,
    make_executor,
    progress_label,
    solver_options,
)
from mechopt.io import load_auction
from mechopt.mechanisms import PAYMENT_RULES, RULES, Outcome, run_auction
from mechopt.report import console, money, status_text


@cli.command("solve")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--rule", type=click.Choice(RULES), default="optimal", show_default=True,
              help="Outcome rule: welfare-maximizing MILP or LOS greedy.")
@click.option("--payments", type=click.Choice(PAYMENT_RULES), default=None,
              help="Payment rule [default: vcg for optimal, critical for greedy].")
@click.option("--core-reference", type=click.Choice(["vcg", "zero"]), default="vcg", show_default=True,
              help="With --payments core: the revenue-minimal core point nearest to this one.")
@click.option("--format", "fmt", type=click.Choice(["json", "cats"]), default=None,
              help="Instance format [default: from the file suffix].")
@solver_options
@executor_options
@json_option
def solve_command(file, rule, payments, core_reference, fmt, solver, time_limit, jobs, scheduler, as_json):
    """Clear the auction in FILE (mechopt JSON or CATS .txt)."""

    auction = load_auction(file, format=fmt)
    if payments is None:
        payments = "critical" if rule == "greedy" else "vcg"
    with make_executor(jobs, scheduler) as executor:
        outcome = run_auction(
            auction,
            rule=rule,
            payments=payments,
            solver=solver,
            time_limit=time_limit,
            executor=executor,
            progress=progress_label("marginal economies", as_json),
            core_reference=core_reference,
        )
    if as_json:
        echo_json(outcome.to_dict())
    else:
        print_outcome(outcome)
    exit_for(outcome.status)


def print_outcome(outcome: Outcome) -> None:
    """Human-readable report: status line, allocation and payment table, totals."""
    from rich.table import Table

    out = console()
    auction = outcome.auction
    out.print(
        f"[bold]{auction.name or 'auction'}[/bold]: {len(auction.items)} items, "
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
        row = [b, bid.id if bid else "-", " ".join(auction.ordered(bid.items)) if bid else "-",
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
        out.print(f"[yellow]note:[/yellow] {note}")
