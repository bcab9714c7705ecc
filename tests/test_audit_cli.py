"""``mechopt audit`` and ``mechopt bench audit`` end to end (real HiGHS solves)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _audit_brute import vcg_utility
from click.testing import CliRunner

from mechopt.cli import cli
from mechopt.io import load_auction

DATA = Path(__file__).resolve().parent.parent / "data"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_audit_json_carries_the_report():
    result = run("audit", str(DATA / "shill_example.json"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    auction = load_auction(DATA / "shill_example.json")
    assert data["verdict"] == "suspects"
    assert [g["members"] for g in data["groups"]] == [["3", "4"]]
    assert data["utility_table"]["4"]["all"] == pytest.approx(vcg_utility(auction, "4"))
    assert data["utility_table"]["4"]["3"] == pytest.approx(vcg_utility(auction, "4", {"3"}))
    assert data["vcg"]["revenue"] == pytest.approx(data["vcg"]["payments"]["3"] * 2)
    for key in ("exclusion", "grouping", "collusion"):
        assert data[key] is not None
    assert data["grouping"]["tie"]["uniqueness"] == "tied"
    assert data["collusion"]["flagged"] is False


def test_audit_human_report():
    result = run("audit", str(DATA / "false_name_e1_split.json"), "--threshold", "0.9")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "SUSPECTS" in out and "{Xa, Xb}" in out
    assert "u[Xa] falls 60 → 0 when Xb is excluded" in out
    for label in ("plain VCG", "exclusion", "grouping"):
        assert label in out
    assert "FLAGGED" in out  # revenue 40 -> 0 without the suspects, above 90 %


def test_audit_cats_file(tmp_path):
    from mechopt.io import save_auction

    path = tmp_path / "e4.txt"
    save_auction(load_auction(DATA / "false_name_e4_split.json"), path)
    result = run("audit", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["verdict"] == "suspects"


def test_audit_unproven_exits_3_without_accusing():
    result = run("audit", str(DATA / "shill_example.json"), "--time-limit", "1e-9", "--json")
    assert result.exit_code == 3
    data = json.loads(result.output)
    assert data["verdict"] == "inconclusive" and data["groups"] == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["audit", "no/such/file.json"], "no such file"),
        (["audit", "{data}/shill_example.json", "--jobs", "0"], "--jobs"),
        (["audit", "{data}/shill_example.json", "--solver", "nosuchsolver"], "nosuchsolver"),
        (["audit", "{bad}"], "bad.json"),
    ],
)
def test_audit_bad_input_is_one_line(tmp_path, args, message):
    bad = tmp_path / "bad.json"
    bad.write_text('{"items": ["A"], "bidders": [{"id": "x", "bids": [{"items": ["A"], "value": -1}]}]}')
    args = [a.format(data=DATA, bad=bad) for a in args]
    result = run(*args)
    assert result.exit_code == 1
    assert result.output.startswith("Error:") and message in result.output
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_audit_threshold_out_of_range_is_a_usage_error():
    result = run("audit", str(DATA / "shill_example.json"), "--threshold", "1.5")
    assert result.exit_code == 2 and "threshold" in result.output.lower()


def test_bench_audit_small(tmp_path):
    out = tmp_path / "bench.json"
    result = run(
        "bench", "audit", "-d", "L4", "--auctions", "6", "--items", "6", "--bids", "8",
        "--json", "--out", str(out), "--plot", str(tmp_path / "bench.png"),
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert json.loads(out.read_text()) == data
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (row,) = data["settings"]
    assert row["honest"] + row["manipulated"] == 6
    assert row["manipulated"] == 3
    assert row["flagged_manipulated"] <= row["manipulated"]
    assert row["caught_all"] <= row["caught"] <= row["manipulated"]
    assert row["not_proven"] == 0
    if row["manipulated"]:
        assert row["recall"] == pytest.approx(row["flagged_manipulated"] / row["manipulated"])


def test_bench_audit_rejects_unknown_distribution():
    result = run("bench", "audit", "-d", "L4,L9", "--auctions", "2")
    assert result.exit_code == 2 and "L9" in result.output


def test_audit_flags_choose_evidence_remedies_and_core():
    path = str(DATA / "cats" / "L4_s0000.txt")
    short = run("audit", path, "--no-remedies", "--no-core", "--json")
    assert short.exit_code == 0, short.output
    data = json.loads(short.output)
    assert data["exclusion"] is None and data["collusion"] is None and data["core"] == []
    everything = run("audit", path, "--evidence", "all", "--no-core", "--json")
    assert everything.exit_code == 0, everything.output
    full = json.loads(everything.output)
    assert [g["members"] for g in full["groups"]] == [g["members"] for g in data["groups"]]
    assert full["exclusion"] is not None and full["solves"] > data["solves"]
    human = run("audit", path, "--no-remedies", "--no-core")
    assert "linked" in human.output  # pairs not solved because their winners were already linked
    bad = run("audit", path, "--evidence", "some")
    assert bad.exit_code == 2 and "some" in bad.output
