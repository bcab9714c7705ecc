"""The base of every error mechopt raises on purpose.

Each error derives from :class:`MechoptError` and from the builtin exception it would have
been without it (after qpsolvers and linopy), so ``except ValueError`` keeps catching bad
input and ``except RuntimeError`` failed solves:

- :class:`InputError` (``ValueError``): bad input — an option or setting out of range, an
  invalid auction, a file whose content cannot be used.  Subclasses live where they are
  raised: :class:`~mechopt.auction.AuctionError` (and ``ValueRangeError``,
  :class:`~mechopt.io.InstanceFileError`), ``MenuFileError`` (:mod:`mechopt.menus.store`),
  ``ModelFileError`` (:mod:`mechopt.learning.payment_rule`), ``RejectedFit`` and
  ``NotFittedError`` (:mod:`mechopt.learning.cutting_plane`), ``NonFiniteTrainingError``
  (:mod:`mechopt.menus.trainer`).
- ``RuntimeError`` failures: :class:`~mechopt.solve.SolverError` (and ``SolverNotFound``,
  ``InfeasibleProblem``, ``NotProvenOptimal``), :class:`~mechopt.parallel.ExecutorError`.

API misuse (an argument of the wrong type) stays a plain ``TypeError``, and an error that
is not a ``MechoptError`` is a bug: the command line reports a ``MechoptError`` in one line
and lets anything else show its traceback.

This module is the package's lowest layer: it imports nothing from mechopt.
"""

from __future__ import annotations

__all__ = ["MechoptError", "InputError"]


class MechoptError(Exception):
    """An error mechopt raises on purpose (bad input or a failure it can name)."""


class InputError(MechoptError, ValueError):
    """Bad input: an option, setting, instance or file content that cannot be used."""
