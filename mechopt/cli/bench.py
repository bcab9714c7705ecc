"""``mechopt bench``: the benchmarks behind every performance figure in README.md.

Each area adds its own subcommand to the :data:`bench` group from its own module.
"""

from __future__ import annotations

from pathlib import Path

import click

from mechopt.cli import cli
from mechopt.cli.options import json_option, print_json
from mechopt.cli.report import console, literal, markdown_option, print_table


@cli.group("bench")
def bench() -> None:
    """Benchmarks (not tests): print tables of measured seconds and ratios."""


@bench.command("wdp")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--repeat", type=click.IntRange(min=1), default=5, show_default=True,
              help="Repeats of the build/solve comparison (medians are reported).")
@click.option("--vcg/--no-vcg", default=True, show_default=True, help="Also time VCG with 1 and 2 jobs.")
@click.option("--vcg-repeat", type=click.IntRange(min=1), default=3, show_default=True,
              help="Repeats of the VCG timings (medians are reported).")
@markdown_option
@json_option
def bench_wdp(files, repeat, vcg, vcg_repeat, markdown, as_json):
    """Pyomo overhead vs raw highspy, and VCG with 1 vs 2 jobs, on CATS files.

    FILES default to data/cats/*_m0000.txt (run from the repository root).
    """
    from mechopt.benchmarks.wdp import benchmark_wdp_file, default_files

    paths = list(files) or list(default_files())
    if not paths:
        raise click.UsageError("no files given and no data/cats/*_m0000.txt here")
    rows = []
    out = console()
    for path in paths:
        if not as_json and not markdown:
            out.print(f"[dim]measuring {literal(path)} ...[/dim]")
        rows.append(benchmark_wdp_file(path, repeats=repeat, vcg=vcg, vcg_repeats=vcg_repeat))
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    columns = ("file", "bids", "winners", "build s", "solve s", "raw highspy s", "overhead", "layer s",
               "VCG 1 job s", "VCG 2 jobs s", "speed-up")
    table = [
        [
            str(r.file), str(r.bids), str(r.winners), f"{r.build_s:.3f}", f"{r.solve_s:.3f}",
            f"{r.raw_s:.3f}", f"{r.overhead:+.1%}", f"{r.layer_s:.3f}",
            "-" if r.vcg_1 is None else f"{r.vcg_1:.2f}",
            "-" if r.vcg_2 is None else f"{r.vcg_2:.2f}",
            "-" if r.vcg_speedup is None else f"{r.vcg_speedup:.2f}x",
        ]
        for r in rows
    ]
    print_table(columns, table, markdown=markdown, left=("file",))
