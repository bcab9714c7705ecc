"""Atomic file writes: write a temporary file beside the target, then rename it.

Two kinds of target must not be renamed over:

* a **symlink** — replacing it would turn the link into a plain file and leave the file it
  points to stale; the write goes atomically to the link's resolved target instead;
* a **non-regular file** (a character device such as ``/dev/null``, a FIFO, a socket) or a
  path under ``/dev`` or ``/proc`` (``/dev/stdout`` may resolve to a terminal, a pipe or the
  shell's redirection file) — a rename would replace the device node itself (as root,
  ``mechopt generate -o /dev/stdout`` turned ``/dev/stdout`` into a regular file); such
  targets are written directly, as ``open(path, "wb")`` would.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

__all__ = ["atomic_write_text", "atomic_write_bytes"]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    if _write_in_place(path):
        with open(path, "wb") as fh:
            fh.write(data)
        return
    path = Path(os.path.realpath(path))  # a symlink stays a symlink: write its target
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates the file 0600; give it the mode a plain open() would (or keep the
        # mode of the file it replaces)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_in_place(path: Path) -> bool:
    """True for targets a rename must not replace: devices, FIFOs, sockets, /dev and /proc."""
    try:
        mode = os.stat(path).st_mode  # follows symlinks
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{path} is a directory")
    absolute = os.path.abspath(path)
    return not stat.S_ISREG(mode) or absolute.startswith(("/dev/", "/proc/"))


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
