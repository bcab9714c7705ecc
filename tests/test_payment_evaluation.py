"""Outcome rules on batches and the exact incentive evaluator with its baselines."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mechopt import CombinatorialAuction, solve_wdp
from mechopt.domains.distributions import (
    AssignmentProblem,
    AssignmentProfiles,
    MultiMindedCA,
    SingleItemAuction,
    XORProfiles,
)
from mechopt.domains.evaluate import (
    assignment_vcg_prices,
    baseline_prices,
    evaluate,
    second_price,
    vcg_prices,
)
from mechopt.domains.rules import apply_rule
from mechopt.domains.welfare import greedy_outcomes, welfare_table
from mechopt.mechanisms.assignment import leximin_by_enumeration
from mechopt.parallel import Executor


# --------------------------------------------------------------------------------------
# outcome rules
# --------------------------------------------------------------------------------------
def test_optimal_rule_uses_the_wdp_and_returns_feasible_optimal_allocations():
    x = MultiMindedCA(n_agents=4, gamma=0.5).sample(25, seed=1)
    labels = apply_rule(x, "optimal")
    assert labels.is_optimal and labels.n_solves == 25
    out = labels.outcomes
    for k in range(25):
        used = 0
        for i in range(4):
            if out[k, i]:
                assert out[k, i] in x.bundles[k, i]  # one of the agent's own bids
                assert used & out[k, i] == 0  # no item sold twice
                used |= int(out[k, i])
    welfare = x.value_of(out).sum(axis=1)
    np.testing.assert_allclose(welfare, welfare_table(x)[:, x.full_mask], atol=1e-12)


def test_parallel_labels_equal_serial_labels():
    x = MultiMindedCA(n_agents=3).sample(12, seed=2)
    serial = apply_rule(x, "optimal", executor=Executor(1))
    with Executor(2) as ex:
        parallel = apply_rule(x, "optimal", executor=ex, chunk_size=3)
    np.testing.assert_array_equal(serial.outcomes, parallel.outcomes)


def test_single_item_and_assignment_rules():
    x = SingleItemAuction(3).sample(50, seed=3)
    out = apply_rule(x, "optimal").outcomes
    assert np.all(out.sum(axis=1) == 1)
    np.testing.assert_array_equal(out.argmax(axis=1), x.values[:, :, 0].argmax(axis=1))
    a = AssignmentProblem(4).sample(5, seed=3)
    eg = apply_rule(a, "egalitarian")
    ut = apply_rule(a, "utilitarian")
    assert eg.n_solves == 20
    for k in range(5):
        assert sorted(eg.outcomes[k]) == [0, 1, 2, 3] and sorted(ut.outcomes[k]) == [0, 1, 2, 3]
        best, winners = leximin_by_enumeration(a.values[k])
        assert any(np.array_equal(eg.outcomes[k], w) for w in winners)
    assert np.all(a.value_of(ut.outcomes).sum(1) >= a.value_of(eg.outcomes).sum(1) - 1e-12)


def test_unknown_rules_are_rejected():
    with pytest.raises(ValueError, match="unknown rule 'egalitarian'"):
        apply_rule(MultiMindedCA().sample(2, seed=0), "egalitarian")
    with pytest.raises(ValueError, match="unknown rule 'greedy'"):
        apply_rule(AssignmentProblem(3).sample(2, seed=0), "greedy")


# --------------------------------------------------------------------------------------
# baselines: the acceptance checks of the issue
# --------------------------------------------------------------------------------------
def test_second_price_has_zero_regret_and_zero_ir_violation_under_the_optimal_rule():
    for n in (2, 5):
        x = SingleItemAuction(n).sample(500, seed=n)
        out = apply_rule(x, "optimal").outcomes
        result = evaluate(x, out, baseline_prices("single-item", "second-price"))
        assert result.regret == 0.0 and result.max_regret == 0.0
        assert result.ir_violation == 0.0 and result.accuracy == 1.0 and result.welfare_ratio == 1.0
        # the winner pays the second-highest value
        v = np.sort(x.values[:, :, 0], axis=1)
        np.testing.assert_allclose(result.payments.sum(axis=1), v[:, -2])


def test_vcg_has_zero_regret_under_the_optimal_ca_rule():
    x = MultiMindedCA(n_agents=4, gamma=0.5).sample(40, seed=4)
    out = apply_rule(x, "optimal").outcomes
    result = evaluate(x, out, vcg_prices)
    assert result.max_regret < 1e-12 and result.ir_violation == 0.0 and result.accuracy == 1.0


def test_vcg_under_the_greedy_rule_has_real_positive_regret():
    x = MultiMindedCA(n_agents=4, gamma=0.5).sample(200, seed=5)
    out = greedy_outcomes(x)
    result = evaluate(x, out, vcg_prices)
    assert result.regret > 0.01 and result.accuracy < 0.9
    # take the worst case and realize the gain: agent i reports only the bundle S* that
    # maximizes its utility at VCG prices, with a huge value; greedy then grants S* first and
    # the price, which does not depend on i's report, stays the same.
    k, i = np.unravel_index(np.argmax(result.regrets), result.regrets.shape)
    prices = vcg_prices(x.take(k).without_agent(i))[0]
    v = x.take(k).expand()[0, i]
    target = int(np.argmax(v - prices))
    assert target != 0
    bundles = x.bundles[k : k + 1].copy()
    values = x.values[k : k + 1].copy()
    bundles[0, i, :] = target
    values[0, i, :] = 1e6
    lie = greedy_outcomes(XORProfiles(bundles, values, x.n_items))[0, i]
    assert lie == target
    gain = (v[lie] - prices[lie]) - result.utilities[k, i]
    assert gain == pytest.approx(result.regrets[k, i]) and gain > 0


def test_vcg_prices_equal_marginal_economies_solved_by_the_milp():
    x = MultiMindedCA(n_agents=3, n_items=3, n_bundles=2).sample(2, seed=6)
    for k in range(2):
        for i in range(3):
            prices = vcg_prices(x.take(k).without_agent(i))[0]
            auction = x.to_auction(k).without([str(i)])
            full = solve_wdp(auction).welfare
            for s in range(8):
                left = [g for g in auction.items if not int(s) >> int(g) & 1]
                restricted = _restrict(auction, left)
                rest = solve_wdp(restricted).welfare if restricted is not None else 0.0
                assert prices[s] == pytest.approx(full - rest, abs=1e-12)


def _restrict(auction: CombinatorialAuction, items: list[str]) -> CombinatorialAuction | None:
    bids = {
        b.id: [(bid.items, bid.value) for bid in b.bids if bid.items <= set(items)] for b in auction.bidders
    }
    bids = {b: v for b, v in bids.items() if v}
    if not bids or not items:
        return None
    return CombinatorialAuction.from_bids(items, bids)


def test_assignment_baselines_against_enumeration():
    rng = np.random.default_rng(7)
    values = rng.random((3, 4, 4))
    x = AssignmentProfiles(values)
    for i in range(4):
        others = x.without_agent(i)
        got = {kind: assignment_vcg_prices(others, kind) for kind in ("vcg", "tot-vcg", "eg-vcg", "vcg-paper")}
        for k in range(3):
            v = others.values[k]  # (3, 4)

            def util(items, v=v):
                return max(v[np.arange(3), list(p)].sum() for p in itertools.permutations(items, 3))

            def lex(items, v=v):
                return leximin_by_enumeration(v[:, list(items)])[0]

            for j in range(4):
                rest = [c for c in range(4) if c != j]
                assert got["vcg"][k, j] == pytest.approx(util(range(4)) - util(rest))
                assert got["tot-vcg"][k, j] == pytest.approx(lex(range(4)).sum() - lex(rest).sum())
                assert got["eg-vcg"][k, j] == pytest.approx(lex(range(4))[0] - lex(rest)[0])
                assert got["vcg-paper"][k, j] == pytest.approx(util(range(4)) - lex(rest).sum())


def test_tot_and_eg_vcg_charge_the_papers_payments_at_the_egalitarian_outcome():
    x = AssignmentProblem(4).sample(15, seed=8)
    out = apply_rule(x, "egalitarian").outcomes
    utilities = x.value_of(out)
    tot = evaluate(x, out, baseline_prices("assignment", "tot-vcg"))
    eg = evaluate(x, out, baseline_prices("assignment", "eg-vcg"))
    lit = evaluate(x, out, baseline_prices("assignment", "vcg-paper"))
    for i in range(4):
        best = np.stack([leximin_by_enumeration(v)[0] for v in x.without_agent(i).values])
        others_now = np.delete(utilities, i, axis=1)
        np.testing.assert_allclose(tot.payments[:, i], best.sum(1) - others_now.sum(1), atol=1e-6)
        np.testing.assert_allclose(eg.payments[:, i], best[:, 0] - others_now.min(1), atol=1e-6)
        # the paper's vcg: the others' best total welfare under ANY allocation minus theirs now
        utilitarian = np.array([max(v[np.arange(3), list(p)].sum() for p in itertools.permutations(range(4), 3))
                                for v in x.without_agent(i).values])
        np.testing.assert_allclose(lit.payments[:, i], utilitarian - others_now.sum(1), atol=1e-6)
    assert tot.welfare_ratio is None  # no null outcome in the assignment
    # vcg-paper = tot-vcg + an item-independent amount: same regret and accuracy, higher payments
    np.testing.assert_allclose(lit.regrets, tot.regrets, atol=1e-9)
    assert lit.accuracy == tot.accuracy and np.all(lit.payments >= tot.payments - 1e-9)


# --------------------------------------------------------------------------------------
# the evaluator itself
# --------------------------------------------------------------------------------------
def test_metrics_of_a_hand_made_price_function():
    # two agents, one item: a posted price of 0.5 for the item, nothing for the null outcome
    x = XORProfiles(np.ones((2, 2, 1), dtype=np.int64), np.array([[[0.8], [0.3]], [[0.2], [0.4]]]), 1)
    out = np.array([[1, 0], [0, 1]])  # the highest value wins

    def posted(others):
        return np.tile([0.0, 0.5], (others.n_instances, 1))

    r = evaluate(x, out, posted)
    # utilities: 0.3, 0 | 0, -0.1 ; regrets: 0, 0 | 0, 0.1 (the loser of instance 0 is fine)
    np.testing.assert_allclose(r.utilities, [[0.3, 0.0], [0.0, -0.1]])
    np.testing.assert_allclose(r.regrets, [[0.0, 0.0], [0.0, 0.1]])
    assert r.ir_violation == pytest.approx(0.25) and r.regret == pytest.approx(0.025)
    assert r.accuracy == pytest.approx(0.75) and r.accuracy_source == "utility-maximizer"
    assert r.welfare_ratio == pytest.approx((1.0 + 0.0) / 2)  # instance 1 loses all its welfare
    with_predictions = evaluate(x, out, posted, predictions=np.array([[1, 0], [0, 0]]))
    assert with_predictions.accuracy == pytest.approx(0.75) and with_predictions.accuracy_source == "predictions"


def test_evaluator_rejects_bad_price_functions_and_outcomes():
    x = SingleItemAuction(2).sample(3, seed=0)
    out = apply_rule(x, "optimal").outcomes
    with pytest.raises(ValueError, match="shape"):
        evaluate(x, out, lambda o: np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        evaluate(x, out, lambda o: np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="outcomes must have shape"):
        evaluate(x, out[:, :1], second_price)
    with pytest.raises(ValueError, match="lie in"):
        evaluate(x, out + 5, second_price)
    with pytest.raises(ValueError, match="predictions"):
        evaluate(x, out, second_price, predictions=np.zeros(3))


def test_baseline_lookup_errors():
    with pytest.raises(ValueError, match="not defined for domain 'mmca'"):
        baseline_prices("mmca", "tot-vcg")
    with pytest.raises(ValueError, match="unknown payment rule"):
        baseline_prices("mmca", "first-price")
    with pytest.raises(ValueError, match="single-item domain only"):
        second_price(MultiMindedCA().sample(1, seed=0))


def test_price_function_sees_only_the_other_agents():
    x = MultiMindedCA(n_agents=3).sample(4, seed=9)
    seen = []

    def spy(others):
        seen.append(others)
        return np.zeros((others.n_instances, others.n_outcomes))

    evaluate(x, greedy_outcomes(x), spy)
    assert [o.n_agents for o in seen] == [2, 2, 2]
    np.testing.assert_array_equal(seen[1].values, x.values[:, [0, 2]])


def test_large_assignment_baselines_fall_back_to_the_milps(monkeypatch):
    import mechopt.domains.evaluate as ev

    others = AssignmentProblem(4).sample(3, seed=10).without_agent(0)
    enumerated = {k: assignment_vcg_prices(others, k) for k in ("tot-vcg", "eg-vcg")}
    monkeypatch.setattr(ev, "ENUMERATE_BELOW", 0)  # force the ordered-outcomes MILPs
    for kind, prices in enumerated.items():
        np.testing.assert_allclose(assignment_vcg_prices(others, kind), prices, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 4), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_property_vcg_zero_regret_for_any_optimal_allocation_even_with_ties(n, m, b, seed):
    rng = np.random.default_rng(seed)
    bundles = rng.integers(1, 2**m, (1, n, b))
    values = rng.integers(0, 3, (1, n, b)).astype(float)  # many ties between allocations
    x = XORProfiles(bundles, values, m)
    result = evaluate(x, apply_rule(x, "optimal").outcomes, vcg_prices)
    assert result.max_regret < 1e-12 and result.ir_violation == 0.0


def test_regret_lp_is_the_best_linear_leximin_price_on_its_training_set():
    from mechopt.learning.regret_lp import AssignmentRegretLP, fit_linear_prices
    from mechopt.learning.structured import leximin_attributes

    x = AssignmentProblem(4).sample(40, seed=12)
    out = apply_rule(x, "egalitarian").outcomes
    lp = AssignmentRegretLP(agents="all").fit(x, out)
    r = evaluate(x, out, lp)
    # the LP's optimum is the evaluator's regret of its prices (every agent's view was trained on)
    assert r.regret == pytest.approx(lp.train_regret_, abs=1e-7)
    # tot-vcg and eg-vcg are linear leximin prices (θ = −1, θ = −e_1): never better on the training set
    for kind in ("tot-vcg", "eg-vcg", "vcg-paper"):
        assert evaluate(x, out, baseline_prices("assignment", kind)).regret >= lp.train_regret_ - 1e-7
    # ... nor is any other θ
    feats = np.concatenate([leximin_attributes(np.delete(x.values, i, axis=1)) for i in range(4)])
    vals = np.concatenate([x.values[:, i] for i in range(4)])
    truth = np.concatenate([out[:, i] for i in range(4)])
    rows = np.arange(len(truth))
    for theta in np.random.default_rng(0).normal(size=(20, 3)):
        u = vals - feats @ theta
        assert np.mean(u.max(axis=1) - u[rows, truth]) >= lp.train_regret_ - 1e-7
    theta, value = fit_linear_prices(feats, vals, truth)
    assert np.allclose(theta, lp.theta_) and value == pytest.approx(lp.train_regret_)
    with pytest.raises(ValueError, match="do not fit"):
        fit_linear_prices(feats, vals[:, :2], truth)
