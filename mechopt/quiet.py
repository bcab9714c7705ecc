"""Keep library chatter off stdout (stdout belongs to the command's output, e.g. ``--json``).

HiGHS prints its banner ("Running HiGHS ...") from C++ to file descriptor 1 when the first
``highspy.Highs`` object of the process is constructed — before any option such as
``output_flag=False`` can be set on it.  Pyomo's HiGHS interface captures it; CVXPY's
``solver=cp.HIGHS`` and raw highspy do not.  :func:`quiet_highs` constructs that first
object with file descriptor 1 pointed at ``/dev/null``, so later ones print nothing.
:func:`redirect_fd` is the primitive, also used by the CLI's ``--json`` safety net.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quiet_highs", "redirect_fd"]

_highs_quiet = False


@contextmanager
def redirect_fd(fd: int, target_fd: int) -> Iterator[None]:
    """Point file descriptor ``fd`` at ``target_fd`` for the duration (C-level writes too)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    saved = os.dup(fd)
    try:
        os.dup2(target_fd, fd)
        yield
    finally:
        try:
            sys.stdout.flush()
        except (AttributeError, ValueError, OSError):
            pass
        os.dup2(saved, fd)
        os.close(saved)


def quiet_highs() -> None:
    """Swallow HiGHS' one-time banner (once per process; cheap afterwards)."""
    global _highs_quiet
    if _highs_quiet:
        return
    import highspy

    with open(os.devnull, "w") as devnull, redirect_fd(1, devnull.fileno()):
        highspy.Highs().setOptionValue("output_flag", False)
    _highs_quiet = True
