"""``mechopt bench core``: core-selecting payments vs VCG on CATS files."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from mechopt.cli import exit_for
from mechopt.cli.bench import bench
from mechopt.cli.options import json_option, make_executor, print_json
from mechopt.cli.report import console
from mechopt.solve import SolveStatus


@bench.command("core")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=2, show_default=True,
              help="Worker processes for the VCG marginal economies.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds per MILP/LP/QP (a row that hits it is marked not proven).")
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (for README.md).")
@json_option
def bench_core(files, jobs, time_limit, markdown, as_json):
    """VCG revenue vs core revenue, cuts, seconds, core time / VCG time, on CATS files.

    FILES default to data/cats/*_m0000.txt (run from the repository root).
    """
    from mechopt.benchmarks.core import benchmark_core_file
    from mechopt.benchmarks.wdp import _warm, default_files

    paths = list(files) or list(default_files())
    if not paths:
        raise click.UsageError("no files given and no data/cats/*_m0000.txt here")
    rows = []
    out = console()
    with make_executor(jobs, None) as executor:
        _warm(executor)
        for path in paths:
            if not as_json and not markdown:
                out.print(f"[dim]measuring {path} ...[/dim]")
            rows.append(benchmark_core_file(path, executor, time_limit))
    status = SolveStatus.worst([r.status for r in rows])
    if as_json:
        print_json([r.to_dict() for r in rows])
        exit_for(status)
        return
    cols = ("file", "bids", "winners", "VCG revenue", "core revenue", "core/VCG", "cuts",
            "separations", "VCG s", "core s", "core s / VCG s", "proven")
    cells = [
        [r.file.removesuffix("_m0000.txt"), str(r.bids), str(r.winners), f"{r.vcg_revenue:.2f}",
         f"{r.core_revenue:.2f}",
         f"{r.core_revenue / r.vcg_revenue:.3f}" if r.vcg_revenue > 0 else "-",
         str(r.cuts), str(r.separations), f"{r.vcg_s:.2f}", f"{r.core_s:.2f}", f"{r.ratio:.2f}×",
         "yes" if r.proven else "NOT PROVEN"]
        for r in rows
    ]
    footer = (f"{jobs} job(s); VCG s: mechopt solve --payments vcg; core s: mechopt solve "
              "--payments core (WDP, marginal economies in parallel, then separation MILPs, LPs, "
              "QPs; nearest point to VCG)")
    if markdown:
        click.echo("| " + " | ".join(cols) + " |")
        click.echo("|" + "|".join("---" if c == "file" else "---:" for c in cols) + "|")
        for row in cells:
            click.echo("| " + " | ".join(row) + " |")
        click.echo(f"\n{footer}")
    else:
        table = Table(header_style="bold", show_edge=False)
        for col in cols:
            table.add_column(col, justify="left" if col == "file" else "right")
        for row in cells:
            table.add_row(*row)
        out.print(table)
        out.print(footer)
    exit_for(status)
