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
