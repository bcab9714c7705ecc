"""The ``mechopt`` command line: one click group, thin commands over the public API.

Each command lives in a module of this package named for what it does; this module only
assembles the group and owns the exit codes (:data:`EXIT_CODES_HELP`, shown in every
command's ``--help``): bad input and failures (a :class:`~mechopt.errors.MechoptError`, or
an OSError from file access) become one line and exit code 1, a result that is not proven
optimal because a limit was reached exit code 3 (:func:`exit_for`), and Ctrl-C one line
"interrupted" and exit code 130.  Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
import warnings

import click

from mechopt import __version__
from mechopt.errors import MechoptError
from mechopt.solve import NotProvenOptimal, SolveStatus, Termination

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2  # click's own
EXIT_NOT_PROVEN = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

EXIT_CODES_HELP = (
    "Exit codes: 0 proven optimal; 1 bad input or failure (solver error); 2 usage error; "
    "3 not proven optimal (a time or iteration limit was reached); 130 interrupted (Ctrl-C)."
)

#: exceptions that mean "bad input or a failed solve", reported as one line, never a
#: traceback: mechopt's own errors (bad input, solver and executor failures) and OSError,
#: which the CLI meets only in file access (an output path that cannot be written, a file
#: that cannot be read: the message names the file).  Anything else, a bare ValueError
#: included, is a bug and keeps its traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (MechoptError, OSError)


class NotProvenError(click.ClickException):
    """A result had to be proven optimal and a limit stopped the solver first."""

    exit_code = EXIT_NOT_PROVEN


def exit_for(status: SolveStatus) -> None:
    """End a command that printed its result with the exit code of ``status``.

    Returns for a proven result (exit code 0); exits 3 after a limit, 1 after anything
    else that is not proven (solver error, unknown stop, ...).
    """
    if status.is_optimal:
        return
    if status.termination is Termination.INTERRUPTED:
        raise KeyboardInterrupt
    raise SystemExit(EXIT_NOT_PROVEN if status.is_limit else EXIT_FAILURE)


def interrupted() -> None:
    """Say "interrupted" on stderr (one line, no traceback)."""
    click.echo("interrupted", err=True)


class MechoptCommand(click.Command):
    """A command whose ``--help`` ends with the exit codes."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("epilog", EXIT_CODES_HELP)
        super().__init__(*args, **kwargs)


class MechoptGroup(click.Group):
    """Click group that reports user errors in one line, prints warnings compactly and
    turns Ctrl-C into exit code 130 (click's own handling would print "Aborted!", exit 1)."""

    command_class = MechoptCommand
    group_class = type  # subgroups are MechoptGroups too

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("epilog", EXIT_CODES_HELP)
        super().__init__(*args, **kwargs)

    def invoke(self, ctx: click.Context):
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            # deprecations are for the developers of the library that calls the deprecated
            # API (e.g. matplotlib on an older pyparsing), not for the command's user
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except click.exceptions.Exit:
                raise
            except click.ClickException:
                raise
            except KeyboardInterrupt:
                interrupted()
                raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
            except NotProvenOptimal as exc:
                raise NotProvenError(one_line(exc)) from None
            except BrokenPipeError:
                raise  # the reader went away (| head): click exits quietly, not an input error
            except USER_ERRORS as exc:
                raise click.ClickException(one_line(exc)) from None


def one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # flushed: the warning belongs before whatever follows, and click 8.2.0's CliRunner
    # reads its captured stderr without flushing it
    print(f"warning: {one_line(Exception(str(message)))}", file=sys.stderr, flush=True)


@click.group(cls=MechoptGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mechopt")
def cli() -> None:
    """Computational mechanism design on mathematical programming.

    Clear combinatorial auctions exactly (WDP, VCG, LOS greedy), audit them for shill
    bidders, learn payment rules and train menus.
    """


#: modules whose commands attach themselves to :data:`cli` (one line per area)
COMMAND_MODULES = [
    "solve",
    "generate",
    "examples",
    "menus",
    "menus_cats",
    "bench",
    "audit",
    "payments.evaluate",
    "payments.learn",
    "bench_core",
]


def _register() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(f"mechopt.cli.{name}")


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (Ctrl-C outside a command, e.g. while importing: 130)."""
    try:
        cli.main(args=argv, prog_name="mechopt")
    except KeyboardInterrupt:
        interrupted()
        sys.exit(EXIT_INTERRUPTED)
