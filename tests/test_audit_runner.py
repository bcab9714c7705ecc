"""Degenerate auctions, unproven solves, ties, parallel runs, collusion rule, injection.

Expected numbers come from enumeration (tests/_audit_brute.py) or from the definitions
(collusion rule), computed in the tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _audit_brute import best_welfare, optimal_allocations, paid, vcg_utility

from mechopt.auction import CombinatorialAuction
from mechopt.audit import (
    SolveSettings,
    Uniqueness,
    Verdict,
    audit_auction,
    audit_auctions,
    check_collusion,
    check_unique_optimum,
    discover_groups,
    solve_economy,
)
from mechopt.audit.collusion import check_threshold
from mechopt.audit.inject import find_profitable_split, schemer_utility, split_bidder
from mechopt.audit.ties import build_alternative_optimum_model
from mechopt.io import load_auction
from mechopt.mechanisms import run_vcg
from mechopt.parallel import Executor

DATA = Path(__file__).resolve().parent.parent / "data"
TINY = 1e-9  # a time limit no MILP meets: HiGHS stops before finding any allocation


def test_no_winners_when_every_bid_is_worthless():
    auction = CombinatorialAuction.from_bids(["A", "B"], {"x": [(["A"], 0)], "y": [(["A", "B"], 0)]})
    report = audit_auction(auction)
    assert report.verdict is Verdict.NO_WINNERS
    assert not report.accuses and report.groups == ()
    assert report.vcg.revenue == 0


def test_one_winner_cannot_be_a_shill_group():
    auction = CombinatorialAuction.from_bids(["A", "B"], {"x": [(["A", "B"], 5)], "y": [(["A"], 3)]})
    report = audit_auction(auction)
    assert report.verdict is Verdict.ONE_WINNER
    assert report.vcg.outcome.payments["x"] == pytest.approx(best_welfare(auction.without(["x"])))


def test_substitutes_are_not_suspects():
    # two single-item winners with separate single-item rivals: no bundle links them
    auction = CombinatorialAuction.from_bids(
        ["A", "B"],
        {"a": [(["A"], 5)], "b": [(["B"], 6)], "ra": [(["A"], 2)], "rb": [(["B"], 1)]},
    )
    assert audit_auction(auction).verdict is Verdict.NO_SUSPECTS
    report = audit_auction(auction, prune=False)  # every pair solved: its numbers shown
    assert report.verdict is Verdict.NO_SUSPECTS
    assert report.discovery.pair("a", "b").drop == pytest.approx(
        vcg_utility(auction, "a") - vcg_utility(auction, "a", {"b"})
    )
    assert report.exclusion is None and report.grouping is None and report.collusion is None


def test_unproven_main_solve_gives_no_verdict():
    auction = load_auction(DATA / "shill_example.json")
    report = audit_auction(auction, time_limit=TINY)
    assert report.verdict is Verdict.INCONCLUSIVE
    assert not report.accuses and report.suspects == ()
    assert "not" in report.summary or "no solution" in report.summary
    assert report.to_dict()["verdict"] == "inconclusive"


def test_unproven_pair_is_unresolved_not_accused():
    """Real solves: the full auction and the singles proven, the pair {3, 4} stopped by
    the time limit -> the pair is listed as unresolved and nobody is accused."""
    auction = load_auction(DATA / "shill_example.json")
    proven, stopped = SolveSettings(), SolveSettings(time_limit=TINY)
    economies = {e: solve_economy(auction, e, proven) for e in map(frozenset, ([], ["3"], ["4"]))}
    pair = frozenset({"3", "4"})
    economies[pair] = solve_economy(auction, pair, stopped)
    assert not economies[pair].is_optimal
    discovery = discover_groups(("3", "4"), economies)
    assert discovery.groups == ()
    assert discovery.unresolved == (("3", "4"),)
    assert not discovery.pair("3", "4").proven


def test_tie_check_against_enumeration():
    auction = load_auction(DATA / "false_name_e4_split.json")
    grouped = auction.merged(["Xa", "Xb"], "X")
    alloc = solve_economy(grouped, (), SolveSettings())
    tie = check_unique_optimum(grouped, alloc.bids, (), SolveSettings())
    assert tie.uniqueness is Uniqueness.TIED
    assert len(optimal_allocations(grouped)) == 3
    alt_ids = frozenset(b.id for b in tie.alternative.values() if b.value > 0)
    assert alt_ids in optimal_allocations(grouped)
    assert alt_ids != frozenset(b.id for b in alloc.bids.values())
    unique = load_auction(DATA / "false_name_e1_split.json")
    main = solve_economy(unique, (), SolveSettings())
    assert check_unique_optimum(unique, main.bids, (), SolveSettings()).uniqueness is Uniqueness.UNIQUE


def test_tie_model_components_are_documented():
    import pyomo.environ as pyo

    auction = load_auction(DATA / "shill_example.json")
    main = solve_economy(auction, (), SolveSettings())
    m = build_alternative_optimum_model(auction, main.bids, main.welfare)
    for comp in m.component_objects((pyo.Set, pyo.Var, pyo.Constraint, pyo.Param), descend_into=True):
        if comp.name.endswith("_index") or comp.name.endswith("_domain"):
            continue
        assert comp.doc, comp.name


def test_parallel_audits_match_serial():
    files = ["shill_example.json", "false_name_e1_split.json", "false_name_e3_split.json"]
    auctions = [load_auction(DATA / f) for f in files]
    serial = audit_auctions(auctions)
    with Executor(2) as executor:
        parallel = audit_auctions(auctions, executor=executor)
    for s, p in zip(serial, parallel, strict=True):
        assert s.verdict is p.verdict and s.groups == p.groups
        assert s.vcg.revenue == pytest.approx(p.vcg.revenue)
        assert s.grouping.revenue == pytest.approx(p.grouping.revenue)
        assert s.solves == p.solves


def test_exclusion_reuses_the_pair_economy():
    # suspects {3, 4}: the exclusion allocation is round 2's W_-{3,4}, not solved again
    report = audit_auction(load_auction(DATA / "shill_example.json"))
    round1 = 1  # the full auction
    round2 = 2 + 1 + 1  # W_-3, W_-4, W_-{3,4}, tie check
    round3 = 1  # the grouped auction (the exclusion economy W_-{3,4} is reused)
    round4 = len(report.exclusion.outcome.winners) + len(report.grouping.outcome.winners) + 2
    core = [r.outcome.details["core"] for r in report.core]  # round 5: core payments
    round5 = sum(c["separations"] + c["lp_solves"] + c["qp_solves"] for c in core)
    assert report.solves == round1 + round2 + round3 + round4 + round5
    assert audit_auction(load_auction(DATA / "shill_example.json"), core=False).solves == (
        round1 + round2 + round3 + round4
    )


def test_core_rows_of_the_shill_example():
    # VCG 18 (9 + 9) although bidder 5 alone bid 20: core payments charge 10 + 10 = 20
    report = audit_auction(load_auction(DATA / "shill_example.json"))
    assert [r.name for r in report.core] == ["core", "core+exclusion", "core+grouping"]
    assert report.core_row("core").revenue == pytest.approx(20.0, abs=1e-6)
    assert report.core_row("core+exclusion").revenue == pytest.approx(18.0, abs=1e-6)
    assert report.core_row("core+grouping").revenue == pytest.approx(20.0, abs=1e-6)
    assert report.is_optimal
    assert report.to_dict()["core"][0]["core"]["vcg_revenue"] == 18.0


# --------------------------------------------------------------------------- collusion
def test_collusion_rule():
    # strict: a drop of exactly threshold * revenue is not flagged
    assert check_collusion(10.0, 5.0, threshold=0.5).flagged is False
    assert check_collusion(10.0, 4.0, threshold=0.5).flagged is True
    assert check_collusion(10.0, 12.0, threshold=0.0).flagged is False
    assert check_collusion(0.0, 0.0, threshold=0.0).flagged is False
    undecided = check_collusion(10.0, 0.0, proven=False)
    assert undecided.flagged is None and "not proven" in undecided.explanation
    assert "+0%" in check_collusion(18.0, 18.0).explanation


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "x"])
def test_collusion_threshold_is_validated(bad):
    with pytest.raises(ValueError, match="threshold"):
        check_threshold(bad)
    with pytest.raises(ValueError, match="threshold"):
        audit_auction(load_auction(DATA / "false_name_e1_split.json"), threshold=bad)


def test_bad_time_limit_is_rejected():
    with pytest.raises(ValueError, match="time limit"):
        SolveSettings(time_limit=0)


# --------------------------------------------------------------------------- injection
def test_split_bidder_replaces_the_schemer():
    truthful = load_auction(DATA / "false_name_e1_truthful.json")
    split, names = split_bidder(truthful, "X", [["A"], ["B"]], [80, 80])
    assert names == ("X~1", "X~2")
    assert split.bidder_ids == ("b1", "X~1", "X~2")
    reference = load_auction(DATA / "false_name_e1_split.json")
    assert best_welfare(split) == best_welfare(reference)
    outcome = run_vcg(split)
    assert schemer_utility(truthful, "X", names, *paid(outcome)) == pytest.approx(
        schemer_utility(truthful, "X", ["Xa", "Xb"], *paid(run_vcg(reference)))
    )
    with pytest.raises(ValueError, match="one value per part"):
        split_bidder(truthful, "X", [["A"], ["B"]], [80])


def test_find_profitable_split_is_really_profitable():
    truthful = load_auction(DATA / "false_name_e1_truthful.json")
    found = find_profitable_split(truthful, seed=1)
    assert found is not None
    assert len(found.winning_names) >= 2
    assert found.truthful_utility == pytest.approx(vcg_utility(truthful, found.schemer))
    replay = run_vcg(found.auction)
    assert schemer_utility(truthful, found.schemer, found.names, *paid(replay)) == pytest.approx(
        found.split_utility
    )
    assert found.split_utility > found.truthful_utility
    # the honest E3 pair has no bundle bid to split
    assert find_profitable_split(load_auction(DATA / "false_name_e3_split.json"), seed=1) is None
