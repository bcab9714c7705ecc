"""README's result tables are what the commands render from the committed result files, so
they cannot drift: each table of ``mechopt payments reproduce X --table-only`` (the library
function behind it) must appear in README.md line for line, as one contiguous block."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mechopt.benchmarks.payments_reproduce import load_results, markdown_table
from mechopt.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
RESULTS = ROOT / "models" / "payments"

#: experiments whose table README shows (mmca-large's rows are the last column of mmca's)
SHOWN = ("single-item", "mmca", "assignment", "ir-fixes")


def _table(experiment: str) -> list[str]:
    rows = load_results(RESULTS, experiment)
    large = load_results(RESULTS, "mmca-large") if experiment == "mmca" else None
    return [line for line in markdown_table(experiment, rows, large).splitlines() if line.startswith("|")]


@pytest.mark.parametrize("experiment", SHOWN)
def test_readme_table_equals_the_committed_results(experiment):
    table = _table(experiment)
    assert len(table) > 2, f"no rows for {experiment} in {RESULTS}"
    lines = README.splitlines()
    starts = [i for i, line in enumerate(lines) if line == table[0]]
    assert starts, f"README has no table headed {table[0]!r}"
    for start in starts:
        block = lines[start:start + len(table)]
        if block == table:
            assert not lines[start + len(table)].startswith("|"), f"README's {experiment} table has extra rows"
            return
    diff = [line for line in table if line not in lines]
    pytest.fail(f"README's {experiment} table differs from `mechopt payments reproduce {experiment} "
                f"--table-only`; rows not in README: {diff[:3]}")


def test_the_command_prints_the_same_table(tmp_path):
    shutil.copy(RESULTS / "ir-fixes.json", tmp_path / "ir-fixes.json")  # --table-only re-plots into --out
    res = CliRunner().invoke(cli, ["payments", "reproduce", "ir-fixes", "--table-only", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert [line for line in res.stdout.splitlines() if line.startswith("|")] == _table("ir-fixes")
