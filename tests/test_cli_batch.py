"""Pipes and batches: ``-`` on stdin and stdout, many files and directories in one command,
result files (JSON Lines, CSV) and the batch's exit code."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from mechopt.cli import cli
from mechopt.io import load_auction, parse_auction
from mechopt.mechanisms import run_vcg

DATA = Path(__file__).resolve().parent.parent / "data"
SMALL = DATA / "cats" / "L4_s0000.txt"
DEFAULT = DATA / "default.json"


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_solve_reads_json_and_cats_from_stdin_by_sniffing():
    for path in (DEFAULT, SMALL):
        res = run("solve", "-", "--json", input=path.read_text())
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout)
        assert abs(data["welfare"] - run_vcg(load_auction(path)).welfare) < 1e-9


def test_format_forces_the_parser_on_stdin():
    res = run("solve", "-", "--format", "cats", input=DEFAULT.read_text())
    assert res.exit_code == 1
    assert "<stdin>" in res.stderr


def test_generate_to_stdout_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run("generate", "-o", "-", "--items", "4", "--bids", "6")
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "-").exists()
    auction = parse_auction(res.stdout)
    assert auction.n_bids == 6
    cats = run("generate", "-o", "-", "--format", "cats", "--items", "4", "--bids", "6")
    assert parse_auction(cats.stdout).n_bids == 6
    piped = run("solve", "-", "--json", input=res.stdout)
    assert piped.exit_code == 0 and json.loads(piped.stdout)["proven_optimal"] is True


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "auctions"
    (root / "sub").mkdir(parents=True)
    shutil.copy(DEFAULT, root / "default.json")
    shutil.copy(SMALL, root / "sub" / "small.txt")
    (root / "notes.md").write_text("not an instance")
    return root


def test_batch_jsonl_one_record_per_auction_and_a_bad_file_does_not_stop_the_rest(tmp_path):
    root = _tree(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    out = tmp_path / "results.jsonl"
    res = run("solve", str(root), str(bad), str(DATA / "shill_example.json"), "--out", str(out), "-j", "2")
    assert res.exit_code == 1, res.output
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(bad) in errors[0]
    records = [json.loads(line) for line in out.read_text().splitlines()]  # what pd.read_json(lines=True) reads
    assert [Path(r["file"]).name for r in records] == ["default.json", "small.txt", "bad.json", "shill_example.json"]
    assert records[2]["error"] and str(bad) in records[2]["error"]
    for r in (records[0], records[1], records[3]):
        assert r["error"] is None and r["proven_optimal"] is True
        assert set(r["payments"]) >= set(r["allocation"])
    assert records[0]["revenue"] == run_vcg(load_auction(DEFAULT)).revenue


def test_batch_all_proven_exits_0_and_csv_has_a_row_per_winner(tmp_path):
    out = tmp_path / "r.csv"
    res = run("solve", str(DEFAULT), str(SMALL), "--rule", "greedy", "--out", str(out))
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["file", "bidder", "bid", "items", "value", "payment", "utility", "status", "error"]
    default_rows = [r for r in rows if r["file"] == str(DEFAULT)]
    assert default_rows and all(r["status"] == "exact" for r in default_rows)
    assert all(float(r["utility"]) == float(r["value"]) - float(r["payment"]) for r in default_rows)


def test_batch_not_proven_exits_3(tmp_path):
    big = DATA / "cats" / "arbitrary_m0000.txt"
    res = run("solve", str(SMALL), str(big), "--payments", "none", "--time-limit", "0.001",
              "--out", str(tmp_path / "r.jsonl"))
    assert res.exit_code in (0, 3)
    records = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert (res.exit_code == 3) == (not all(r["proven_optimal"] for r in records))


def test_batch_json_is_a_list_and_out_dash_writes_jsonl_to_stdout(tmp_path):
    res = run("solve", str(DEFAULT), str(SMALL), "--json")
    assert res.exit_code == 0
    assert [r["file"] for r in json.loads(res.stdout)] == [str(DEFAULT), str(SMALL)]
    res = run("solve", str(DEFAULT), str(SMALL), "-o", "-")
    assert res.exit_code == 0
    assert [json.loads(line)["file"] for line in res.stdout.splitlines()] == [str(DEFAULT), str(SMALL)]


def test_audit_batch_writes_a_verdict_per_auction(tmp_path):
    out = tmp_path / "audit.jsonl"
    res = run("audit", str(DATA / "shill_example.json"), str(DEFAULT), str(tmp_path / "missing.json"),
              "--out", str(out))
    assert res.exit_code == 1
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[0]["verdict"] == "suspects" and records[0]["error"] is None
    assert "no such file" in records[2]["error"]
    csv_out = tmp_path / "audit.csv"
    res = run("audit", str(DATA / "shill_example.json"), "--out", str(csv_out))
    assert res.exit_code == 0
    rows = list(csv.DictReader(csv_out.open()))
    assert rows and rows[0]["verdict"] == "suspects"
