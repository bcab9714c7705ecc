"""Many auctions in one command: input expansion, the per-file tasks of ``solve`` and ``audit``,
result files (``--out results.jsonl`` / ``.csv``) and the batch's exit code.

Inputs are files, directories (searched recursively for ``*.json`` and ``*.txt``), ``-``
(standard input, read once) and ``example:NAME`` (an example shipped with the package).  Each
auction is one task of the command's executor; a file that cannot be read or solved becomes a
record with an ``error`` and a one-line message on stderr, and the other files go on.

One record per auction: the command's ``--json`` document plus ``file`` (and ``error``, None
when there is none).  JSON Lines (``.jsonl``) holds one record per line
(``pandas.read_json(path, lines=True)``); CSV holds one row per bidder that wins or pays
(:data:`CSV_COLUMNS`), a row with an empty bidder for an auction without any, and one row
with its ``error`` for a failed file.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import click

from mechopt.cli import EXIT_FAILURE, EXIT_NOT_PROVEN, USER_ERRORS, one_line
from mechopt.io import STDIN, load_auction, parse_auction
from mechopt.mechanisms import run_auction

__all__ = [
    "Source",
    "expand_inputs",
    "PaymentsType",
    "BatchResult",
    "run_batch",
    "write_results",
    "batch_exit_code",
    "CSV_COLUMNS",
]

#: suffixes of the instance files found in a directory
INSTANCE_SUFFIXES = (".json", ".txt")
#: columns of ``--out results.csv``
CSV_COLUMNS = ("file", "bidder", "bid", "items", "value", "payment", "utility", "status", "error")


@dataclass(frozen=True)
class Source:
    """One auction to read: ``label`` names it in output; ``path`` (None for stdin) or ``text``."""

    label: str
    path: str | None = None
    text: str | None = None

    def load(self, fmt: str | None):
        if self.text is not None:
            return parse_auction(self.text, fmt, source="<stdin>", name="stdin")
        assert self.path is not None
        return load_auction(self.path, format=fmt)


def expand_inputs(inputs: Sequence[str]) -> list[Source]:
    """The auctions named by ``inputs`` in order (module docstring).  Missing files are kept:
    reading them fails in their own task, with their own error record."""
    from mechopt.examples import EXAMPLE_PREFIX, example_path

    sources: list[Source] = []
    stdin_read = False
    for name in inputs:
        if name == STDIN:
            if stdin_read:
                raise click.UsageError("'-' (standard input) can be given only once")
            stdin_read = True
            sources.append(Source("-", text=sys.stdin.read()))
        elif name.startswith(EXAMPLE_PREFIX):
            sources.append(Source(name, path=str(example_path(name))))
        elif Path(name).is_dir():
            found = sorted(p for p in Path(name).rglob("*")
                           if p.suffix.lower() in INSTANCE_SUFFIXES and p.is_file())
            if not found:
                click.echo(f"warning: {name}: no *.json or *.txt instance files", err=True)
            sources.extend(Source(str(p), path=str(p)) for p in found)
        else:
            sources.append(Source(name, path=name))
    return sources


def is_batch(inputs: Sequence[str], out: Path | None) -> bool:
    """More than one auction, a directory or a result file: the batch report, not the one-file report."""
    return out is not None or len(inputs) != 1 or Path(inputs[0]).is_dir()


# ------------------------------------------------------------------------------------------
# --payments NAME | rule:PATH
# ------------------------------------------------------------------------------------------
class PaymentsType(click.ParamType):
    """A payment rule name, or ``rule:PATH`` for a saved learned payment rule."""

    name = "payments"

    def __init__(self, choices: Sequence[str]) -> None:
        self.choices = tuple(choices)

    def get_metavar(self, param, ctx=None) -> str:  # click 8.2 passes ctx
        return "[" + "|".join(self.choices) + "|rule:PATH]"

    def convert(self, value, param, ctx):
        from mechopt.learning.deploy import RULE_PREFIX

        if value in self.choices:
            return value
        if isinstance(value, str) and value.startswith(RULE_PREFIX) and len(value) > len(RULE_PREFIX):
            return value
        self.fail(f"{value!r} is not one of {', '.join(self.choices)} or rule:PATH", param, ctx)


@lru_cache(maxsize=8)
def load_rule(spec: str):
    """The payment rule of ``rule:PATH`` (cached per process: every task of a batch uses it)."""
    from mechopt.learning.deploy import RULE_PREFIX
    from mechopt.learning.payment_rule import load_payment_rule

    return load_payment_rule(spec[len(RULE_PREFIX):])


def clear(auction, rule: str, payments: str, solver: str, time_limit: float | None, executor=None,
          progress: str | None = None, core_reference: str = "vcg"):
    """``run_auction``, or the learned rule's prices for ``payments`` = ``rule:PATH``."""
    from mechopt.learning.deploy import RULE_PREFIX, run_with_rule

    if payments.startswith(RULE_PREFIX):
        return run_with_rule(auction, rule, load_rule(payments), label=payments, solver=solver,
                             time_limit=time_limit, executor=executor)
    return run_auction(auction, rule=rule, payments=payments, solver=solver, time_limit=time_limit,
                       executor=executor, progress=progress, core_reference=core_reference)


# ------------------------------------------------------------------------------------------
# tasks
# ------------------------------------------------------------------------------------------
@dataclass
class BatchResult:
    """One auction of a batch: its record, the result object (None after an error)."""

    source: str
    record: dict[str, Any]
    result: Any = None
    error: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def proven(self) -> bool:
        return self.error is None and bool(self.record.get("proven_optimal"))


def outcome_rows(label: str, outcome, status: str) -> list[dict[str, Any]]:
    """CSV rows of an outcome: every bidder that wins or pays."""
    auction = outcome.auction
    utilities = outcome.utilities if outcome.payments else {}
    rows = []
    for b in auction.bidder_ids:
        bid = outcome.allocation.bids.get(b)
        if bid is None and not outcome.payments.get(b):
            continue
        rows.append({
            "file": label, "bidder": b, "bid": bid.id if bid else "",
            "items": " ".join(auction.ordered(bid.items)) if bid else "",
            "value": bid.value if bid else 0.0,
            "payment": outcome.payments.get(b, "") if outcome.payments else "",
            "utility": utilities.get(b, "") if outcome.payments else "",
            "status": status, "error": "",
        })
    return rows or [{"file": label, "status": status, "error": ""}]


def _guard(source: Source, body: Callable[[], BatchResult]) -> BatchResult:
    try:
        return body()
    except click.ClickException as exc:
        message = exc.format_message()
    except USER_ERRORS as exc:
        message = one_line(exc)
    if source.label not in message:
        message = f"{source.label}: {message}"
    return BatchResult(source.label, {"file": source.label, "error": message}, error=message,
                       rows=[{"file": source.label, "status": "error", "error": message}])


def solve_task(source: Source, fmt: str | None, rule: str, payments: str, solver: str,
               time_limit: float | None, core_reference: str = "vcg", executor=None) -> BatchResult:
    """Read and clear one auction (runs in a worker of the batch's executor)."""

    def body() -> BatchResult:
        outcome = clear(source.load(fmt), rule, payments, solver, time_limit, executor=executor,
                        core_reference=core_reference)
        record = {"file": source.label, **outcome.to_dict(), "error": None}
        return BatchResult(source.label, record, outcome, rows=outcome_rows(source.label, outcome,
                                                                             outcome.status_label))

    return _guard(source, body)


def audit_task(source: Source, fmt: str | None, threshold: float, solver: str,
               time_limit: float | None, evidence: str = "spanning", remedies: bool = True,
               core: bool = True, executor=None) -> BatchResult:
    """Read and audit one auction (runs in a worker of the batch's executor)."""
    from mechopt.audit import audit_auction
    from mechopt.parallel import Executor

    def body() -> BatchResult:
        report = audit_auction(source.load(fmt), threshold=threshold, executor=executor or Executor(1),
                               solver=solver, time_limit=time_limit, evidence=evidence,
                               remedies=remedies, core=core)
        record = {"file": source.label, **report.to_dict(), "error": None}
        rows = (outcome_rows(source.label, report.vcg.outcome, report.status.value)
                if report.vcg is not None else [{"file": source.label, "status": report.status.value, "error": ""}])
        for row in rows:
            row["verdict"] = report.verdict.value
        return BatchResult(source.label, record, report, rows=rows)

    return _guard(source, body)


def run_batch(task: Callable[..., BatchResult], sources: Sequence[Source], args: tuple, executor,
              progress: str | None) -> list[BatchResult]:
    """Run ``task(source, *args)`` for every source: one auction per task of ``executor`` (a
    single auction keeps the executor for its own solves, e.g. VCG's marginal economies)."""
    if len(sources) == 1:
        return [task(sources[0], *args, executor)]
    results = executor.map(task, [(s, *args) for s in sources], progress=progress)
    for r in results:
        if r.error is not None:
            click.echo(f"error: {r.error}", err=True)
    return results


# ------------------------------------------------------------------------------------------
# result files and exit code
# ------------------------------------------------------------------------------------------
def jsonl_text(results: Sequence[BatchResult]) -> str:
    from mechopt.cli.options import _mark

    return "".join(json.dumps(_mark(r.record), allow_nan=False, default=str) + "\n" for r in results)


def csv_text(results: Sequence[BatchResult], extra: Sequence[str] = ()) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=[*CSV_COLUMNS, *extra], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in results:
        for row in r.rows:
            writer.writerow(row)
    return buf.getvalue()


def write_results(results: Sequence[BatchResult], out: Path, extra: Sequence[str] = ()) -> None:
    """``out``: ``.csv`` → CSV rows, anything else → JSON Lines; ``-`` → standard output."""
    text = csv_text(results, extra) if out.suffix.lower() == ".csv" else jsonl_text(results)
    if str(out) == "-":
        click.echo(text, nl=False)
        return
    from mechopt.io.atomic import atomic_write_text

    atomic_write_text(out, text)


def batch_exit_code(results: Sequence[BatchResult]) -> int:
    """0 when every auction is proven, 1 when one failed, else 3 (one is not proven)."""
    if any(r.error is not None for r in results):
        return EXIT_FAILURE
    if not all(r.proven for r in results):
        return EXIT_NOT_PROVEN
    return 0


def summary_line(results: Sequence[BatchResult]) -> str:
    failed = sum(r.error is not None for r in results)
    proven = sum(r.proven for r in results)
    return (f"{len(results)} auction(s): {proven} proven, {len(results) - proven - failed} NOT PROVEN, "
            f"{failed} failed")
