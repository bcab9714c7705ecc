"""Shared bits of human-readable output (rich console, money formatting, status lines)."""

from __future__ import annotations

from mechopt.solve import SolveResult, SolveStatus

__all__ = ["bundle_text", "console", "literal", "money", "not_proven", "settings_text", "status_text", "print_table", "markdown_option"]


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


#: amounts at least this large (in absolute value) are printed in scientific notation
MONEY_SCIENTIFIC_ABOVE = 1e15


def money(x: float) -> str:
    """An amount of money (a value, payment, price, revenue or welfare) for human output.

    From 1 up to 10^15 (absolute value): thousands separators and up to 6 decimals, trailing
    zeros dropped (``3,923.418014``, ``120``); below 1: 6 significant digits (``0.549201``,
    ``3.25e-06`` — never rounded to ``0.000003``); from 10^15 on: 6 significant digits in
    scientific notation (``1e+25``, not a 26-digit integer).  NaN and infinities print as
    ``nan``/``inf``; zero (and −0) as ``0``."""
    x = float(x)
    if x == 0:
        return "0"
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    if abs(x) < 1 or abs(x) >= MONEY_SCIENTIFIC_ABOVE:
        return f"{x:.6g}"
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
    return f"[bold red]status: {not_proven(status.value)}{extra}[/bold red]"


def not_proven(status: str) -> str:
    """A status that is not proven optimal, loud, saying NOT PROVEN OPTIMAL exactly once
    (``time limit (feasible, not proven optimal)`` already says it)."""
    text = str(status).upper()
    return text if "NOT PROVEN" in text else f"{text} — NOT PROVEN OPTIMAL"


#: the ``--markdown`` flag of every ``bench`` command
MARKDOWN_HELP = "Print the table(s) as Markdown (for README.md)."


def markdown_option(fn):
    """``--markdown``: print the command's tables as Markdown instead of rich tables."""
    import click

    return click.option("--markdown", is_flag=True, help=MARKDOWN_HELP)(fn)


def print_table(columns: list[str] | tuple[str, ...], rows: list[list[str]], *, markdown: bool = False,
                title: str | None = None, left: tuple[str, ...] = (), footer: str | None = None) -> None:
    """One table of plain-text cells: a rich table, or Markdown with ``markdown`` (the title
    and footer as paragraphs).  Columns named in ``left`` are left-aligned, the others right."""
    import click

    if markdown:
        if title:
            click.echo(f"{title}\n")
        click.echo("| " + " | ".join(columns) + " |")
        click.echo("|" + "|".join("---" if c in left else "---:" for c in columns) + "|")
        for row in rows:
            click.echo("| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |")
        if footer:
            click.echo(f"\n{footer}")
        return
    from rich.table import Table

    out = console()
    if title:
        out.print(literal(title))
    table = Table(show_edge=False, header_style="bold")
    for col in columns:
        table.add_column(literal(col), justify="left" if col in left else "right")
    for row in rows:
        table.add_row(*(literal(cell) for cell in row))
    out.print(table)
    if footer:
        out.print(literal(footer))


def settings_text(settings: dict, skip: tuple[str, ...] = ()) -> str:
    """Settings as readable text, ``kind combinatorial, attribute phi1, normalize yes``: never
    a Python dict (nested dicts are flattened as ``kernel.name rbf``)."""
    parts: list[str] = []

    def add(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                add(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, bool):
            parts.append(f"{prefix} {'yes' if value else 'no'}")
        elif value is None:
            parts.append(f"{prefix} -")
        elif isinstance(value, (list, tuple)):
            parts.append(f"{prefix} {','.join(map(str, value))}")
        elif isinstance(value, float):
            parts.append(f"{prefix} {value:g}")
        else:
            parts.append(f"{prefix} {value}")

    add("", {k: v for k, v in settings.items() if k not in skip})
    return ", ".join(literal(p) for p in parts)
