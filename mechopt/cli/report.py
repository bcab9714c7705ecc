"""Shared bits of human-readable output (rich console, money formatting, status lines)."""

from __future__ import annotations

from mechopt.solve import SolveResult, SolveStatus

__all__ = ["console", "money", "status_text"]


def console(stderr: bool = False):
    """A rich console; when output is not a terminal, wide enough that tables never wrap."""
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 200
    return Console(highlight=False, width=width, stderr=stderr)


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
    return f"[bold red]status: {status.value.upper()} — NOT PROVEN OPTIMAL{extra}[/bold red]"
