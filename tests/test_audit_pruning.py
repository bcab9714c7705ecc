"""Pruned audits (plan_pairs, LinkPlanner) give the same verdicts and numbers as solving
every pair."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_audit_properties import random_auction

from mechopt.audit import audit_auctions
from mechopt.io import load_auction

DATA = Path(__file__).resolve().parent.parent / "data"
FILES = sorted(DATA.glob("*.json")) + [DATA / "cats" / "L4_s0000.txt", DATA / "cats" / "paths_s0000.txt"]


def revenue(remedy):
    return None if remedy is None else remedy.revenue


def assert_connects(group):
    """The evidence of a group links all its members (a connected graph of proven drops)."""
    parent = {m: m for m in group.members}

    def root(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for e in group.evidence:
        assert e.proven and not e.pruned and not e.linked
        parent[root(e.bidder)] = root(e.excluded)
    assert len({root(m) for m in group.members}) == 1


def assert_same(pruned, full, evidence="spanning"):
    assert pruned.verdict is full.verdict
    assert pruned.summary == full.summary
    assert pruned.status == full.status
    assert pruned.vcg.outcome.payments == full.vcg.outcome.payments
    assert revenue(pruned.exclusion) == revenue(full.exclusion)
    assert revenue(pruned.grouping) == revenue(full.grouping)
    assert (pruned.collusion is None) == (full.collusion is None)
    if pruned.collusion is not None:
        assert pruned.collusion.to_dict() == full.collusion.to_dict()
    assert pruned.solves <= full.solves
    if full.discovery is None:
        assert pruned.discovery is None
        return
    p, f = pruned.discovery, full.discovery
    if evidence == "all":
        assert p.groups == f.groups  # members and evidence (every number of a flagged pair)
    else:  # the same groups; each one's evidence: exact drops of the full audit that connect it
        assert [g.members for g in p.groups] == [g.members for g in f.groups]
        for mine, theirs in zip(p.groups, f.groups, strict=True):
            assert set(mine.evidence) <= set(theirs.evidence)
            assert_connects(mine)
    assert p.utilities == f.utilities
    assert p.unresolved == f.unresolved
    group_of = {m: k for k, g in enumerate(f.groups) for m in g.members}
    for mine in p.pairs:
        theirs = f.pair(mine.bidder, mine.excluded)
        assert mine.proven == theirs.proven
        if mine.pruned:  # no MILP: the unpruned audit shows no drop there
            assert theirs.drop <= f.tolerance
        elif mine.linked:  # no MILP: both are members of one group of the full audit
            assert evidence == "spanning"
            assert group_of[mine.bidder] == group_of[mine.excluded]
        else:
            assert mine.to_dict() == {**theirs.to_dict(), "pruned": False}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_pruned_audit_equals_unpruned_on_the_audit_instances(path):
    auction = load_auction(path)
    [full] = audit_auctions([auction], prune=False)
    for evidence in ("spanning", "all"):
        [pruned] = audit_auctions([auction], evidence=evidence)
        assert_same(pruned, full, evidence)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_pruned_audit_equals_unpruned_on_random_auctions(seed):
    auction = random_auction(seed, max_bidders=6)
    [full] = audit_auctions([auction], prune=False)
    for evidence in ("spanning", "all"):
        [pruned] = audit_auctions([auction], evidence=evidence)
        assert_same(pruned, full, evidence)


def test_pruning_saves_solves_on_a_cats_file():
    auction = load_auction(DATA / "cats" / "L4_s0000.txt")
    [pruned], [full] = audit_auctions([auction]), audit_auctions([auction], prune=False)
    assert pruned.solves < full.solves


def test_spanning_evidence_skips_pairs_of_linked_winners():
    """L4_s0000 has one group of 7 winners: once they are linked, the other pairs need no MILP."""
    auction = load_auction(DATA / "cats" / "L4_s0000.txt")
    [spanning], [every] = (audit_auctions([auction], evidence=e, core=False) for e in ("spanning", "all"))
    linked = [p for p in spanning.discovery.pairs if p.linked]
    assert linked and all(p.utility_without is None and p.proven for p in linked)
    assert spanning.solves < every.solves
    [group] = spanning.discovery.groups
    assert set(group.evidence) <= set(every.discovery.groups[0].evidence)
    assert_connects(group)


def test_no_remedies_stops_at_the_groups():
    auction = load_auction(DATA / "shill_example.json")
    [short], [full] = (audit_auctions([auction], remedies=r) for r in (False, True))
    assert short.groups == full.groups and short.verdict is full.verdict
    assert short.exclusion is None and short.grouping is None and short.collusion is None
    assert full.exclusion is not None and short.solves < full.solves
    assert any("remedies not computed" in n for n in short.notes)


def test_unknown_evidence_mode_is_refused():
    with pytest.raises(ValueError, match="unknown evidence mode"):
        audit_auctions([load_auction(DATA / "shill_example.json")], evidence="some")


def test_scip_audits_prune_with_highs_lp_bounds_and_match_the_unpruned_audit():
    """SCIP's kept LPs are slow (LP_BOUND_SOLVERS), so its pair bounds come from HiGHS' kept
    relaxed model; the pruned SCIP audit still equals the unpruned one, pair by pair."""
    pytest.importorskip("pyscipopt")
    from mechopt.audit.economies import LP_BOUND_SOLVERS, SolveSettings, pair_lp_bounds
    from mechopt.mechanisms.resolve import _ECONOMY_SOLVERS, HighsEconomySolver, forget_kept_models

    assert "scip" not in LP_BOUND_SOLVERS
    auction = load_auction(DATA / "cats" / "L4_s0000.txt")
    forget_kept_models()
    pairs = [frozenset(p) for p in (("b0", "b1"), ("b2", "b3"))]
    [(_, bound, _), _] = pair_lp_bounds(auction, pairs, SolveSettings(solver="scip"))
    assert bound is not None
    relaxed = [m for (_, name, relax), m in _ECONOMY_SOLVERS.items() if relax]
    assert len(relaxed) == 1 and isinstance(relaxed[0], HighsEconomySolver)
    [full] = audit_auctions([auction], prune=False, solver="scip")
    [pruned] = audit_auctions([auction], evidence="all", solver="scip")
    assert_same(pruned, full, "all")
    assert pruned.solves < full.solves
