"""A saved payment rule charges auctions of its domain exactly what the evaluator charges."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mechopt.cli import cli
from mechopt.domains import greedy_outcomes, make_domain
from mechopt.domains.evaluate import evaluate
from mechopt.io import write_json
from mechopt.learning import load_payment_rule
from mechopt.learning.deploy import DomainMismatch, auction_profile, rule_payments

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "payments" / "mmca" / "mmca-greedy-gamma0.5-n2-phi1-rbf-l500.json"


def _domain(rule):
    settings = dict(rule.domain)
    return make_domain(settings.pop("domain"), **settings)


def test_cli_charges_the_evaluators_prices_on_the_same_instances(tmp_path):
    rule = load_payment_rule(MODEL)
    profiles = _domain(rule).sample(12, seed=123)
    files = []
    for k in range(profiles.n_instances):
        path = tmp_path / f"a{k:02d}.json"
        write_json(profiles.to_auction(k, name=f"a{k}"), path)
        files.append(str(path))
    out = tmp_path / "r.jsonl"
    res = CliRunner().invoke(cli, ["solve", *files, "--rule", "greedy", "--payments", f"rule:{MODEL}",
                                   "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    expected = evaluate(profiles, greedy_outcomes(profiles), rule.prices).payments  # (N, n)
    charged = np.array([[r["payments"][str(i)] for i in range(profiles.n_agents)] for r in records])
    np.testing.assert_allclose(charged, expected, rtol=0, atol=1e-9)
    assert all(r["payment_rule"] == f"rule:{MODEL}" for r in records)


def test_bidder_and_item_order_follow_the_file():
    rule = load_payment_rule(MODEL)
    profiles = _domain(rule).sample(1, seed=5)
    auction = profiles.to_auction(0)
    back = auction_profile(auction, rule)
    np.testing.assert_array_equal(back.bundles, profiles.bundles)
    np.testing.assert_array_equal(back.values, profiles.values)
    won = {b: bid.items for b, bid in __import__("mechopt").greedy_allocation(auction).bids.items()}
    assert set(rule_payments(rule, auction, won)) == {"0", "1"}


@pytest.mark.parametrize("args, words", [
    ((str(ROOT / "data" / "default.json"), "--rule", "greedy"), "trained for 2 bidders"),
    ((str(ROOT / "data" / "default.json"), "--rule", "optimal"), "trained for the greedy rule"),
])
def test_a_mismatch_is_refused_in_one_line(args, words):
    res = CliRunner().invoke(cli, ["solve", *args, "--payments", f"rule:{MODEL}"])
    assert res.exit_code == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]


def test_bids_per_bidder_mismatch_names_the_bidder():
    rule = load_payment_rule(MODEL)
    auction = _domain(rule).sample(1, seed=1).to_auction(0)
    from mechopt.auction import CombinatorialAuction

    short = CombinatorialAuction.from_bids(
        auction.items, {b.id: [(sorted(bid.items), bid.value) for bid in b.bids[:2]] for b in auction.bidders})
    with pytest.raises(DomainMismatch, match="3 bid"):
        auction_profile(short, rule)
