"""The mechopt CLI through click's CliRunner (real solves)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mechopt.cli import cli
from mechopt.io import load_auction
from mechopt.mechanisms import run_vcg

DATA = Path(__file__).resolve().parent.parent / "data"
SMALL = DATA / "cats" / "L4_s0000.txt"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_solve_prints_a_table_with_status_and_totals():
    res = run("solve", str(SMALL))
    assert res.exit_code == 0, res.output
    assert "status: optimal (proven, gap 0)" in res.output
    assert "revenue" in res.output and "welfare" in res.output


def test_solve_json_has_the_documented_keys_and_matches_the_api():
    res = run("solve", str(SMALL), "--json", "--jobs", "2")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    for key in ("status", "welfare", "revenue", "allocation", "payments", "utilities", "proven_optimal"):
        assert key in data
    outcome = run_vcg(load_auction(SMALL))
    assert data["status"] == "optimal" and data["proven_optimal"] is True
    assert data["payments"] == pytest.approx(dict(outcome.payments))
    assert data["welfare"] == pytest.approx(outcome.welfare)
    for bidder, entry in data["allocation"].items():
        assert entry["bid"] == outcome.allocation.bids[bidder].id
        assert set(entry["items"]) == set(outcome.allocation.bids[bidder].items)


def test_solve_greedy_defaults_to_critical_payments():
    res = run("solve", str(SMALL), "--rule", "greedy", "--json")
    data = json.loads(res.output)
    assert data["rule"] == "greedy" and data["payment_rule"] == "critical"
    assert data["status"] == "exact"


def test_solve_without_payments():
    data = json.loads(run("solve", str(SMALL), "--payments", "none", "--json").output)
    assert data["payments"] == {} and data["revenue"] is None


def test_time_limited_solve_is_labelled_and_exits_3():
    res = run("solve", str(DATA / "cats" / "arbitrary_m0000.txt"), "--time-limit", "0.2", "--payments", "none")
    assert res.exit_code == 3
    assert "NOT PROVEN OPTIMAL" in res.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["solve", "nope.json"], "nope.json: no such file"),
        (["solve", str(SMALL), "--solver", "nosuch"], "solver 'nosuch' is not installed"),
        (["solve", str(SMALL), "--payments", "critical"], "critical payments are defined for the greedy rule only"),
        (["solve", str(SMALL), "--jobs", "0"], "--jobs must be a positive integer"),
        (["solve", str(SMALL), "--time-limit", "-1"], "Invalid value for '--time-limit'"),
        (["solve", str(SMALL), "--rule", "best"], "Invalid value for '--rule'"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(args, message):
    res = CliRunner().invoke(cli, args)
    assert res.exit_code != 0
    assert message in res.output
    assert "Traceback" not in res.output


def test_malformed_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("goods 2\nbids 1\ndummy 0\n0\t5\t9\t#\n")
    res = CliRunner().invoke(cli, ["solve", str(bad)])
    assert res.exit_code == 1
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert lines == [f"Error: {bad}:4: good 9 out of range (goods 0..1, dummy goods 2..1)"]


def test_header_mismatch_is_a_warning_not_an_error(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("goods 2\nbids 3\ndummy 0\n0\t5\t0\t#\n1\t6\t1\t#\n")
    res = CliRunner().invoke(cli, ["solve", str(path), "--json"])
    assert res.exit_code == 0
    assert "warning:" in res.stderr and "header says 3 bids" in res.stderr
    assert json.loads(res.stdout)["welfare"] == 11


def test_a_librarys_deprecation_warning_is_not_shown(monkeypatch, tmp_path):
    """Warnings meant for the command's user are printed (one line, flushed); deprecations,
    meant for the developers of whichever library calls the deprecated API (matplotlib on
    an older pyparsing, say), are not."""
    import warnings

    import mechopt.cli.batch as batch

    real = batch.run_auction

    def noisy(*args, **kwargs):
        warnings.warn("'parseString' deprecated - use 'parse_string'", DeprecationWarning, stacklevel=2)
        warnings.warn("a warning for the user", UserWarning, stacklevel=2)
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "run_auction", noisy)
    path = tmp_path / "x.txt"
    path.write_text("goods 2\nbids 2\ndummy 0\n0\t5\t0\t#\n1\t6\t1\t#\n")
    res = CliRunner().invoke(cli, ["solve", str(path), "--json"])
    assert res.exit_code == 0, res.output
    assert res.stderr == "warning: a warning for the user\n"
    assert json.loads(res.stdout)["welfare"] == 11


@pytest.mark.parametrize("fmt, suffix", [("json", ".json"), ("cats", ".txt")])
def test_generate_writes_loadable_seeded_instances(tmp_path, fmt, suffix):
    out = tmp_path / f"a{suffix}"
    res = run("generate", "-d", "L4", "--items", "10", "--bids", "25", "--seed", "3", "-o", str(out))
    assert res.exit_code == 0, res.output
    first = load_auction(out)
    assert first.n_bids == 25 and len(first.items) == 10
    again = tmp_path / f"b{suffix}"
    run("generate", "-d", "L4", "--items", "10", "--bids", "25", "--seed", "3", "-o", str(again))
    assert [b.value for _, b in load_auction(again).iter_bids()] == [b.value for _, b in first.iter_bids()]


def test_generate_many_into_a_directory(tmp_path):
    res = run("generate", "-d", "arbitrary", "--items", "8", "--bids", "20", "--count", "3", "-o", str(tmp_path / "d"))
    assert res.exit_code == 0, res.output
    files = sorted((tmp_path / "d").glob("*.json"))
    assert len(files) == 3
    assert all(load_auction(f).n_bids == 20 for f in files)


@pytest.mark.parametrize(
    "args, message",
    [
        (["-p", "alpa=0.3"], "L4 has no parameter 'alpa'"),
        (["-p", "alpha"], "expected KEY=VALUE"),
        (["-p", "alpha=2"], "alpha = 2.0 is outside"),
        (["--items", "0"], "Invalid value for '--items'"),
    ],
)
def test_generate_bad_options(tmp_path, args, message):
    res = CliRunner().invoke(cli, ["generate", "-o", str(tmp_path / "x.json"), *args])
    assert res.exit_code != 0
    assert message in res.output
