"""The WDP benchmark runs end to end (its figures are not asserted: timings are not tests)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mechopt.cli import cli

SMALL = Path(__file__).resolve().parent.parent / "data" / "cats" / "L6_s0000.txt"


def test_bench_wdp_json_has_every_column():
    res = CliRunner().invoke(cli, ["bench", "wdp", str(SMALL), "--repeat", "1", "--vcg-repeat", "1", "--json"])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.output)
    assert row["file"] == "L6_s0000.txt" and row["bids"] == 40 and row["winners"] >= 1
    for key in ("build_s", "solve_s", "raw_s", "overhead", "layer_s", "vcg_1", "vcg_2", "vcg_speedup"):
        assert isinstance(row[key], float), key


def test_bench_wdp_solvers_side_by_side_json():
    res = CliRunner().invoke(cli, ["bench", "wdp", str(SMALL), "--solver", "highs", "--json"])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.output[res.output.index("["):])
    assert row["solver"] == "highs" and row["winners"] >= 1
    for key in ("raw_wdp_s", "wdp_s", "raw_vcg_s", "vcg_1", "vcg_2", "audit_s", "vcg_vs_raw",
                "vcg_speedup", "audit_vs_vcg", "pool_s", "no_core_s", "no_core_vs_vcg", "groups_s"):
        assert isinstance(row[key], float), key


def test_bench_wdp_unknown_solver_fails_before_timing():
    res = CliRunner().invoke(cli, ["bench", "wdp", str(SMALL), "--solver", "highs,nosuch"])
    assert res.exit_code == 1
    assert "solver 'nosuch' is not installed" in res.output
