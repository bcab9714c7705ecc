"""``mechopt payments``: the command group; its subcommands live in the modules of this package.

- :mod:`~mechopt.cli.payments.evaluate`: ``payments evaluate`` (baselines; a MODEL through
  :mod:`~mechopt.cli.payments.learn`) and ``bench domains``;
- :mod:`~mechopt.cli.payments.learn`: ``payments learn``, ``payments reproduce``, the model side
  of ``payments evaluate MODEL`` and ``bench learn``.

The modules are registered by :data:`mechopt.cli.COMMAND_MODULES`; this module imports none of
them (no import cycle).
"""

from __future__ import annotations

from mechopt.cli import cli

__all__ = ["payments"]


@cli.group("payments")
def payments() -> None:
    """Payment rules: evaluate baselines (and learned rules) by exact regret and IR violation."""
