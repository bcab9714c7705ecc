"""Options shared by several commands, defined once."""

from __future__ import annotations

import functools
import json
import math
import numbers
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

import click

from mechopt.cli import USER_ERRORS, one_line
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

def check_jobs(ctx: click.Context | None, param: click.Parameter | None, value: Any) -> Any:
    """Click callback: worker counts (one or a list) are positive or -1 (the Executor's
    ``n_jobs``, named here by the CLI's flag)."""
    for jobs in value if isinstance(value, (list, tuple)) else [value]:
        if jobs == 0 or jobs < -1:
            raise click.ClickException(f"--jobs must be a positive integer or -1, got {jobs!r}")
    return value


executor_options = _compose(
    click.option("--jobs", "-j", type=int, default=1, show_default=True,
                 help="Local worker processes for independent solves (-1: one per core)."),
    click.option("--scheduler", default=None, metavar="ADDRESS",
                 help="Dask scheduler address (tcp://host:8786): run the solves on that cluster."),
)

def json_option(fn: Callable) -> Callable:
    """The ``--json`` flag.  Under it stdout carries one JSON document and nothing else: the
    command runs with file descriptor 1 pointed at stderr (stray prints of libraries, C code
    and worker processes included) and :func:`print_json` writes to the real stdout; an
    error that stops the command is printed as ``{"error": ...}`` as well as on stderr."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("as_json"):
            return fn(*args, **kwargs)
        with _stdout_for_json_only():
            try:
                return fn(*args, **kwargs)
            except click.exceptions.Exit:
                raise
            except click.ClickException as exc:
                print_json({"error": exc.format_message()})
                raise
            except BrokenPipeError:
                raise
            except USER_ERRORS as exc:
                print_json({"error": one_line(exc)})
                raise

    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(run)


#: the real stdout while a ``--json`` command runs with file descriptor 1 on stderr
_json_out: TextIO | None = None


@contextmanager
def _stdout_for_json_only() -> Iterator[None]:
    global _json_out
    try:
        fd, err = sys.stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # not a real file (click's CliRunner): nothing to guard
        yield
        return
    if _json_out is not None:
        yield
        return
    from mechopt.quiet import redirect_fd

    with os.fdopen(os.dup(fd), "w", encoding=sys.stdout.encoding or "utf-8") as out, redirect_fd(fd, err):
        _json_out = out
        try:
            yield
        finally:
            _json_out = None


def make_executor(jobs: int, scheduler: str | None) -> Executor:
    """The executor of ``--jobs``/``--scheduler``.  ``--jobs`` is checked here, inside the
    command, rather than by a click callback, so that under ``--json`` its error is JSON too."""
    check_jobs(None, None, jobs)
    return Executor(n_jobs=jobs, scheduler=scheduler)


def json_text(data: Any) -> str:
    """``data`` as strict JSON text.  NaN and infinities become ``null``; the paths of the
    values replaced are listed under ``"non_finite"`` (of the top-level object, or of each
    object in a top-level list) and named in a warning on stderr."""
    if isinstance(data, list):
        data = [_mark(item) for item in data]
    else:
        data = _mark(data)
    return json.dumps(data, indent=2, allow_nan=False, default=str)


def print_json(data: Any) -> None:
    """Print ``data`` as one strict JSON document on stdout (see :func:`json_text`)."""
    click.echo(json_text(data), file=_json_out)


def _mark(data: Any) -> Any:
    bad: list[str] = []
    clean = _finite(data, "", bad)
    if bad:
        click.echo(f"warning: non-finite value(s) printed as null: {', '.join(bad)}", err=True)
        if isinstance(clean, dict):
            clean["non_finite"] = bad
    return clean


def _finite(obj: Any, path: str, bad: list[str]) -> Any:
    if isinstance(obj, dict):
        return {k: _finite(v, f"{path}.{k}" if path else str(k), bad) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v, f"{path}[{i}]", bad) for i, v in enumerate(obj)]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        x = float(obj)
        if not math.isfinite(x):
            bad.append(path or "(value)")
            return None
        return x
    return obj


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
