"""The ``mechopt`` command line: one click group, thin commands over the public API.

Each command lives in a module of this package named for what it does; this module only
assembles the group and turns errors caused by bad input into one line and exit code 1.
"""

from __future__ import annotations

import sys
import warnings

import click

from mechopt import __version__
from mechopt.auction import AuctionError
from mechopt.parallel import ExecutorError
from mechopt.solve import SolverError

#: exceptions that mean "bad input or a failed solve", reported as one line, never a traceback
USER_ERRORS: tuple[type[BaseException], ...] = (
    AuctionError,
    SolverError,
    ExecutorError,
    ValueError,
    OSError,
)


class MechoptGroup(click.Group):
    """Click group that reports user errors in one line and prints warnings compactly."""

    def invoke(self, ctx: click.Context):
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except click.exceptions.Exit:
                raise
            except click.ClickException:
                raise
            except USER_ERRORS as exc:
                raise click.ClickException(_one_line(exc)) from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {_one_line(Exception(str(message)))}", file=sys.stderr)


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
    "menus",
    "bench",
    "audit",
    "payments.evaluate",
    "payments.learn",
]


def _register() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(f"mechopt.cli.{name}")


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="mechopt")
