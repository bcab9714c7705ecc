"""Shared bits of human-readable output (rich console, money formatting, status lines)."""

from __future__ import annotations

from mechopt.solve import SolveResult, SolveStatus

__all__ = ["bundle_text", "console", "literal", "money", "status_text"]


def literal(value: object) -> str:
    """``value`` as text that rich prints literally: markup such as ``[bold]`` is escaped, and
    control and other non-printable characters are shown as Python escapes (``\\x1b``,
    ``\\n``; a backslash then shows as ``\\\\``, so the two cannot be confused).  Every
    piece of user data (ids, names, file names, notes) goes through this before rich prints it.

    The result never ends in a backslash (a final one shows as ``\\x5c``), so it reads the
    same alone in a table cell and followed by a markup tag in a longer string."""
    from rich.markup import escape

    text = str(value)
    if "\\" in text or not text.isprintable():
        text = "".join(ch if ch.isprintable() and ch != "\\" else repr(ch)[1:-1] for ch in text)
        if text.endswith("\\"):
            text = text[:-2] + "\\x5c"
    return escape(text)


def bundle_text(auction, items) -> str:
    """A bundle for human output: its items in the auction's order, each :func:`literal`."""
    return " ".join(literal(g) for g in auction.ordered(items))


def console(stderr: bool = False):
    """A rich console; when output is not a terminal, wide enough that tables never wrap."""
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 200
    return Console(highlight=False, emoji=False, width=width, stderr=stderr)


def money(x: float) -> str:
    """Format an amount with up to 6 significant decimals, dropping trailing zeros."""
    if x == 0:
        return "0"
    text = f"{x:,.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def status_text(status: SolveStatus, solve: SolveResult | None = None, exact: bool = False) -> str:
    """One line saying whether a result is proven optimal; loud when it is not.

    ``exact`` marks a result computed without a solver (e.g. the greedy rule)."""
    if exact and status.is_optimal:
        return "[green]status: exact (no MILP involved)[/green]"
    if status.is_optimal:
        return "[green]status: optimal (proven, gap 0)[/green]"
    extra = ""
    if solve is not None and solve.gap is not None:
        extra = f", gap {solve.gap:.2%}"
    text = status.value.upper()
    if "NOT PROVEN OPTIMAL" not in text:
        text += " — NOT PROVEN OPTIMAL"
    return f"[bold red]status: {text}{extra}[/bold red]"
