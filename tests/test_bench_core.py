"""``mechopt bench core`` on small CATS files: the table's numbers are consistent."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mechopt.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_bench_core_json():
    files = [str(ROOT / "data/cats/paths_s0000.txt"), str(ROOT / "data/cats/L2_s0000.txt")]
    result = CliRunner().invoke(cli, ["bench", "core", *files, "--jobs", "1", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["file"] for r in rows] == ["paths_s0000.txt", "L2_s0000.txt"]
    for r in rows:
        assert r["proven"] and r["status"] == "optimal"
        assert r["core_revenue"] >= r["vcg_revenue"] - 1e-6 * max(1.0, r["vcg_revenue"])
        assert r["separations"] >= 1  # (seed cuts from the marginal economies need no MILP)
        assert 0 <= r["core_only_s"] <= r["core_s"]
    paths = rows[0]
    assert paths["cuts"] >= 1 and paths["core_revenue"] > paths["vcg_revenue"]


def test_bench_core_markdown():
    result = CliRunner().invoke(
        cli, ["bench", "core", str(ROOT / "data/cats/paths_s0000.txt"), "-j", "1", "--markdown"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("| file | bids | winners | VCG revenue | core revenue |")
