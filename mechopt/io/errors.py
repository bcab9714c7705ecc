"""Errors and warnings raised while reading instance files."""

from __future__ import annotations

from mechopt.auction import AuctionError

__all__ = ["InstanceFileError", "InstanceFileWarning"]


class InstanceFileError(AuctionError):
    """A file cannot be read as an auction; the message starts with ``file:line:`` when a
    single line is at fault."""


class InstanceFileWarning(UserWarning):
    """A file was read, but something in it deserves attention (e.g. a wrong bid count)."""
