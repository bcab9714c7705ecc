"""``mechopt payments evaluate`` and ``mechopt bench domains`` end to end."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mechopt.cli import cli


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("MECHOPT_CACHE", str(tmp_path))

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_second_price_row(run):
    result = run("payments", "evaluate", "--domain", "single-item", "--agents", "2,4", "--test", "300", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["settings"]["n_agents"] for r in rows] == [2, 4]
    for r in rows:
        assert r["payment"] == "second-price" and r["regret"] == 0 and r["ir_violation"] == 0
        assert r["accuracy"] == 1 and r["labels"] == "optimal"


def test_mmca_sweep_and_cache(run):
    args = ("payments", "evaluate", "--domain", "mmca", "--rule", "greedy", "--agents", "3",
            "--gamma", "0.5,1.5", "--test", "100", "--json")
    rows = json.loads(run(*args).output)
    assert [r["settings"]["gamma"] for r in rows] == [0.5, 1.5]
    assert rows[0]["regret"] > rows[1]["regret"] > 0
    assert not rows[0]["from_cache"]
    again = json.loads(run(*args).output)
    assert all(r["from_cache"] for r in again)
    assert [r["regret"] for r in again] == [r["regret"] for r in rows]


def test_optimal_rule_and_human_output(run):
    result = run("payments", "evaluate", "--domain", "mmca", "--agents", "3", "--test", "20", "--no-cache")
    assert result.exit_code == 0, result.output
    assert "vcg" in result.output and "0.000" in result.output and "MILPs at gap 0" in result.output


def test_assignment_baselines(run):
    result = run("payments", "evaluate", "--domain", "assignment", "--agents", "3", "--test", "10", "--json")
    rows = json.loads(result.output)
    assert [r["payment"] for r in rows] == ["vcg", "tot-vcg", "eg-vcg"]
    assert all(r["welfare_ratio"] is None and r["rule"] == "egalitarian" for r in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--domain", "mmca", "--payment", "eg-vcg"), "not defined for domain 'mmca'"),
        (("--domain", "single-item", "--rule", "greedy"), "rule 'greedy' is not defined"),
        (("--domain", "assignment", "--gamma", "1"), "--gamma applies to --domain mmca only"),
        (("--domain", "mmca", "--alpha", "1.5"), "alpha (decay) must lie in"),
        (("--domain", "mmca", "--agents", "1"), "number of agents"),
        (("--domain", "mmca", "--agents", "two"), "comma-separated list"),
        (("--domain", "mmca", "--test", "0"), "--test"),
        (("--domain", "poker",), "poker"),
        (("--domain", "assignment", "--agents", "7", "--test", "2", "--no-cache", "--time-limit", "1e-6"),
         "raise the time limit"),
        (("--domain", "mmca", "--agents", "6", "--test", "2", "--no-cache", "--time-limit", "1e-6"),
         "not proven optimal"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(run, args, message):
    result = run("payments", "evaluate", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_bench_domains_smoke(run):
    result = run("bench", "domains", "--instances", "3", "--jobs", "1", "--assignment-agents", "3", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["task"] for r in rows] == ["mmca-optimal", "mmca-greedy", "assignment-egalitarian"]
    assert rows[0]["milp_solves"] == 3 and rows[2]["milp_solves"] == 9
    assert all(r["status"] == "optimal" and r["seconds"] > 0 for r in rows)
    human = run("bench", "domains", "--instances", "2", "--jobs", "1", "--task", "mmca-greedy")
    assert human.exit_code == 0 and "mmca-greedy" in human.output and "exact" in human.output
    bad = run("bench", "domains", "--jobs", "0", "--task", "mmca-greedy")
    assert bad.exit_code == 1 and "positive" in bad.output
