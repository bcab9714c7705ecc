"""``mechopt examples``: the example auctions shipped with the package (``example:NAME``)."""

from __future__ import annotations

import click

from mechopt.cli import cli
from mechopt.cli.options import json_option, print_json
from mechopt.cli.report import console, literal


@cli.command("examples")
@json_option
def examples_command(as_json):
    """List the example auctions that ship with mechopt.

    Use one as example:NAME wherever a FILE is read, e.g. mechopt solve example:default.
    """
    from rich.table import Table

    from mechopt.examples import list_examples
    from mechopt.io import load_auction

    rows = []
    for name, path in list_examples().items():
        auction = load_auction(path)
        rows.append({"name": f"example:{name}", "items": len(auction.items), "bidders": len(auction.bidders),
                     "bids": auction.n_bids, "description": auction.name or "", "path": str(path)})
    if as_json:
        print_json(rows)
        return
    table = Table(show_edge=False, header_style="bold")
    for col, justify in (("name", "left"), ("items", "right"), ("bidders", "right"), ("bids", "right"),
                         ("description", "left")):
        table.add_column(col, justify=justify)
    for r in rows:
        table.add_row(literal(r["name"]), str(r["items"]), str(r["bidders"]), str(r["bids"]),
                      literal(r["description"]))
    console().print(table)
    click.echo(f"{len(rows)} examples; e.g. mechopt solve example:default")
