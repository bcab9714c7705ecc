"""``mechopt bench``: the benchmarks behind every performance figure in README.md.

Each area adds its own subcommand to the :data:`bench` group from its own module.
"""

from __future__ import annotations

from mechopt.cli import cli


@cli.group("bench")
def bench() -> None:
    """Benchmarks (not tests): print tables of measured seconds and ratios."""
