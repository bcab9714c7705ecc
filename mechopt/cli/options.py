"""Options shared by several commands, defined once."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
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
                 help="Pyomo solver name (HiGHS through the persistent pyomo.contrib.solver interface)."),
    click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
                 help="Seconds per MILP; a stopped solve is reported as not proven optimal."),
)

def check_jobs(ctx: click.Context | None, param: click.Parameter | None, value: Any) -> Any:
    """Click callback: worker counts (one or a list) are positive or -1 (the Executor's
    ``n_jobs``, named here by the CLI's flag)."""
    for jobs in value if isinstance(value, (list, tuple)) else [value]:
        if jobs == 0 or jobs < -1:
            raise click.ClickException(f"--jobs must be a positive integer or -1, got {jobs!r}")
    return value


executor_options = _compose(
    click.option("--jobs", "-j", type=int, default=1, show_default=True, callback=check_jobs,
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


class CommaList(click.ParamType):
    """``2,3,4`` → ``[2, 3, 4]`` with each element converted by ``kind`` (and, with
    ``choices``, checked against them)."""

    name = "list"

    def __init__(self, kind: type, choices: Sequence[str] | None = None) -> None:
        self.kind = kind
        self.choices = None if choices is None else tuple(choices)

    def convert(self, value, param, ctx):
        if isinstance(value, (list, tuple)):
            return list(value)
        parts = [p.strip() for p in str(value).split(",") if p.strip()]
        if not parts:
            self.fail(f"{value!r} is empty", param, ctx)
        try:
            items = [self.kind(p) for p in parts]
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of {self.kind.__name__}s", param, ctx)
        if self.choices is not None:
            for item in items:
                if item not in self.choices:
                    self.fail(f"unknown value {item!r} (choose from {', '.join(self.choices)})", param, ctx)
        return items
