"""Options shared by several commands, defined once."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from mechopt.parallel import Executor
from mechopt.solve import DEFAULT_SOLVER


def _compose(*decorators: Callable) -> Callable:
    def apply(fn: Callable) -> Callable:
        for deco in reversed(decorators):
            fn = deco(fn)
        return fn

    return apply


solver_options = _compose(
    click.option("--solver", default=DEFAULT_SOLVER, show_default=True,
                 help="MILP solver: highs, scip, gurobi, cplex (pip install 'mechopt[solvers]'), "
                      "or a Pyomo solver name such as gurobi_direct."),
    click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
                 help="Seconds per MILP; a stopped solve is reported as not proven optimal."),
)

executor_options = _compose(
    click.option("--jobs", "-j", type=int, default=1, show_default=True,
                 help="Local worker processes for independent solves (-1: one per core)."),
    click.option("--scheduler", default=None, metavar="ADDRESS",
                 help="Dask scheduler address (tcp://host:8786): run the solves on that cluster."),
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def make_executor(jobs: int, scheduler: str | None) -> Executor:
    return Executor(n_jobs=jobs, scheduler=scheduler)


def echo_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (NaN and infinities are refused, not printed)."""
    click.echo(json.dumps(data, indent=2, allow_nan=False, default=str))


def progress_label(label: str, as_json: bool) -> str | None:
    """A progress bar label when stderr is a terminal and output is for humans."""
    return label if (not as_json and sys.stderr.isatty()) else None
