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
@click.option("--solver", "solvers", default=None, metavar="LIST",
              help="Compare solvers side by side (comma-separated: highs,scip,gurobi,cplex): raw "
                   "API vs mechopt for the WDP, raw sequential VCG vs mechopt's on 1 and 2 jobs, "
                   "and the audit; --repeat applies (default there: 1 run).")
@click.option("--audit/--no-audit", default=True, show_default=True,
              help="With --solver: also time the shill audit (1 job), up to the suspected "
                   "groups, with the remedies but no core rows, and in full (remedies and core "
                   "rows).")
@markdown_option
@json_option
def bench_wdp(files, repeat, vcg, vcg_repeat, solvers, audit, markdown, as_json):
    """Pyomo overhead vs raw highspy, and VCG with 1 vs 2 jobs, on CATS files.

    FILES default to data/cats/*_m0000.txt (run from the repository root).
    """
    from mechopt.benchmarks.wdp import benchmark_wdp_file, default_files

    paths = list(files) or list(default_files())
    if not paths:
        raise click.UsageError("no files given and no data/cats/*_m0000.txt here")
    if solvers:
        from mechopt.solve import get_solver

        names = [s.strip() for s in solvers.split(",") if s.strip()]
        for name in names:
            get_solver(name)  # a missing solver fails before any timing
        ctx = click.get_current_context()
        runs = repeat if ctx.get_parameter_source("repeat") == click.core.ParameterSource.COMMANDLINE else 1
        _bench_solvers(paths, names, runs, vcg, audit, as_json, markdown)
        return
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


def _with_count(seconds: float | None, solves: int | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f} ({solves})"


def _bench_solvers(paths, names, repeats, vcg2, audit, as_json, markdown) -> None:
    from mechopt.benchmarks.wdp import benchmark_solvers_file

    out = console()
    rows = []
    for path in paths:
        if not as_json and not markdown:
            out.print(f"[dim]measuring {literal(path)} with {', '.join(names)} ...[/dim]")
        rows.extend(benchmark_solvers_file(path, names, repeats=repeats, vcg2=vcg2, audit=audit))
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    columns = ("file", "solver", "winners", "raw WDP s", "WDP s", "raw seq. VCG s", "VCG 1 job s",
               "VCG/raw", "VCG 2 jobs s", "speed-up", "pool s", "groups s (MILPs)", "groups/VCG",
               "no core s (MILPs)", "no core/VCG", "audit s (MILPs)", "audit/VCG")

    def num(x, fmt):
        return "-" if x is None else format(x, fmt)

    table = [
        [
            str(r.file), r.solver, str(r.winners), f"{r.raw_wdp_s:.3f}", f"{r.wdp_s:.3f}",
            f"{r.raw_vcg_s:.2f}", f"{r.vcg_1:.2f}", f"{r.vcg_vs_raw:.2f}x", num(r.vcg_2, ".2f"),
            num(r.vcg_speedup, ".2f") + ("x" if r.vcg_speedup else ""), num(r.pool_s, ".2f"),
            _with_count(r.groups_s, r.groups_solves),
            num(r.groups_vs_vcg, ".1f") + ("x" if r.groups_vs_vcg else ""),
            _with_count(r.no_core_s, r.no_core_solves),
            num(r.no_core_vs_vcg, ".1f") + ("x" if r.no_core_vs_vcg else ""),
            _with_count(r.audit_s, r.audit_solves),
            num(r.audit_vs_vcg, ".1f") + ("x" if r.audit_vs_vcg else ""),
        ]
        for r in rows
    ]
    print_table(columns, table, markdown=markdown, left=("file", "solver"))
