"""Pruned audits (plan_pairs) give the same verdicts and numbers as solving every pair."""

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


def assert_same(pruned, full):
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
    assert p.groups == f.groups  # members and evidence (every number of a flagged pair)
    assert p.utilities == f.utilities
    assert p.unresolved == f.unresolved
    for mine in p.pairs:
        theirs = f.pair(mine.bidder, mine.excluded)
        assert mine.proven == theirs.proven
        if mine.pruned:  # no MILP: the unpruned audit shows no drop there
            assert theirs.drop <= f.tolerance
        else:
            assert mine.to_dict() == {**theirs.to_dict(), "pruned": False}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_pruned_audit_equals_unpruned_on_the_audit_instances(path):
    auction = load_auction(path)
    [pruned], [full] = audit_auctions([auction]), audit_auctions([auction], prune=False)
    assert_same(pruned, full)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_pruned_audit_equals_unpruned_on_random_auctions(seed):
    auction = random_auction(seed, max_bidders=6)
    [pruned], [full] = audit_auctions([auction]), audit_auctions([auction], prune=False)
    assert_same(pruned, full)


def test_pruning_saves_solves_on_a_cats_file():
    auction = load_auction(DATA / "cats" / "L4_s0000.txt")
    [pruned], [full] = audit_auctions([auction]), audit_auctions([auction], prune=False)
    assert pruned.solves < full.solves
