"""Learned payment rules: second price and VCG are learned, IR fixes behave, files are safe."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mechopt.domains.distributions import AssignmentProblem, MultiMindedCA, SingleItemAuction
from mechopt.domains.evaluate import vcg_prices
from mechopt.domains.rules import apply_rule
from mechopt.learning.cutting_plane import CuttingPlaneSSVM
from mechopt.learning.payment_rule import (
    ModelFileError,
    PaymentRule,
    load_payment_rule,
    normalize_prices,
)
from mechopt.learning.structured import AssignmentModel, CombinatorialModel
from mechopt.learning.train import make_grid, select_payment_rule


def _labelled(domain, rule, size, seed):
    profiles = domain.sample(size, seed)
    return profiles, apply_rule(profiles, rule).outcomes


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_single_item_learns_second_price(n):
    """Paper §6.2: 300 training examples give accuracy >= 97 % and regret <= 0.003."""
    domain = SingleItemAuction(n_agents=n)
    train, test = _labelled(domain, "optimal", 300, n), _labelled(domain, "optimal", 1000, 100 + n)
    learner = CuttingPlaneSSVM(CombinatorialModel(attribute="phi1"), "linear", C=1e5, epsilon=1e-3)
    rule = PaymentRule(learner.fit(*train), domain.settings(), "optimal")
    result = rule.evaluate(*test)
    assert result.accuracy >= 0.97 and result.regret <= 0.003
    # the price of the item is (close to) the highest other value: the second-price rule
    others = test[0].without_agent(0)
    second = others.values[:, :, 0].max(axis=1)
    assert np.median(np.abs(rule.prices(others)[:, 1] - second)) < 0.02
    assert np.all(rule.prices(others)[:, 0] == 0)


def _optimal_by_enumeration(domain, size, seed):
    """Welfare-maximizing outcomes of two XOR bidders by enumerating their bid choices."""
    profiles = domain.sample(size, seed)
    b = profiles.n_bids
    choices = [(i, j) for i in range(-1, b) for j in range(-1, b)]  # -1: the bidder gets nothing
    best = np.full(size, -1.0)
    outcomes = np.zeros((size, 2), dtype=np.int64)
    rows = np.arange(size)
    for i, j in choices:
        s1 = profiles.bundles[:, 0, i] if i >= 0 else np.zeros(size, dtype=np.int64)
        s2 = profiles.bundles[:, 1, j] if j >= 0 else np.zeros(size, dtype=np.int64)
        welfare = (profiles.values[:, 0, i] if i >= 0 else 0.0) + (profiles.values[:, 1, j] if j >= 0 else 0.0)
        better = ((s1 & s2) == 0) & (welfare > best + 1e-12)
        best = np.where(better, welfare, best)
        outcomes[better] = np.stack([s1, s2], axis=1)[better]
    assert np.allclose(best, profiles.value_of(outcomes)[rows].sum(axis=1))
    return profiles, outcomes


def test_learned_rule_for_optimal_ca_approaches_vcg():
    domain = MultiMindedCA(n_agents=2, n_items=3, n_bundles=2, gamma=1.0)
    test = _optimal_by_enumeration(domain, 300, 7)
    vcg = np.stack([vcg_prices(test[0].without_agent(i))[np.arange(300), test[1][:, i]] for i in range(2)], axis=1)
    gaps, regrets = [], []
    for size in (50, 400):
        learner = CuttingPlaneSSVM(CombinatorialModel(attribute="phi2"), "rbf", C=1e4, gamma=0.3, epsilon=1e-3)
        result = PaymentRule(learner.fit(*_optimal_by_enumeration(domain, size, 1)), domain.settings(),
                             "optimal").evaluate(*test)
        gaps.append(float(np.abs(result.payments - vcg).mean()))
        regrets.append(result.regret)
    assert gaps[1] < gaps[0] and regrets[1] < regrets[0]
    assert gaps[1] < 0.015 and regrets[1] < 0.003


@settings(max_examples=50, deadline=None)
@given(arrays(float, (4, 5), elements=st.floats(-3, 3)), st.floats(0, 1), st.booleans())
def test_normalization_and_offset(prices, offset, has_null):
    null = 0 if has_null else None
    out = normalize_prices(prices, null, offset)
    base = np.zeros(4, dtype=int) if has_null else np.argmin(prices, axis=1)
    assert np.all(out >= 0) and np.all(out[np.arange(4), base] == 0)
    plain = normalize_prices(prices, null, 0.0)
    assert np.allclose(plain, np.maximum(prices - prices[np.arange(4), base][:, None], 0))
    assert np.allclose(out, np.where(np.arange(5)[None, :] == base[:, None], 0, np.maximum(plain - offset, 0)))


def _fitted_rules():
    domain = MultiMindedCA(n_agents=3, n_items=3, n_bundles=2)
    train = _labelled(domain, "greedy", 60, 3)
    rbf = CuttingPlaneSSVM(CombinatorialModel(attribute="phi2"), "rbf", C=1e3, gamma=0.1, epsilon=1e-2).fit(*train)
    lin = CuttingPlaneSSVM(CombinatorialModel(attribute="phi1"), "linear", C=1e3, epsilon=1e-2).fit(*train)
    asg = AssignmentProblem(n_agents=3)
    asg_train = _labelled(asg, "optimal", 60, 3)
    a = CuttingPlaneSSVM(AssignmentModel(), "rbf", C=1e2, gamma=1.0, epsilon=1e-2).fit(*asg_train)
    lex = CuttingPlaneSSVM(AssignmentModel(attribute="leximin"), "rbf", C=1e3, gamma=3.0, epsilon=1e-2).fit(*asg_train)
    return [(PaymentRule(rbf, domain.settings(), "greedy", 0.05, {"note": "x"}), domain, "greedy"),
            (PaymentRule(lin, domain.settings(), "greedy"), domain, "greedy"),
            (PaymentRule(a, asg.settings(), "optimal"), asg, "optimal"),
            (PaymentRule(lex, asg.settings(), "optimal"), asg, "optimal")]


def test_save_load_round_trip(tmp_path):
    for i, (rule, domain, name) in enumerate(_fitted_rules()):
        path = rule.save(tmp_path / f"rule{i}")
        assert path.name == f"rule{i}.json" and (tmp_path / f"rule{i}.npz").exists()
        manifest = json.loads(path.read_text())
        assert manifest["format"] == "mechopt-payment-rule" and manifest["versions"]["numpy"]
        assert manifest["fitted"]["train_seconds"] > 0 and manifest["domain"] == domain.settings()
        loaded = load_payment_rule(tmp_path / f"rule{i}")
        test = _labelled(domain, name, 50, 11)
        others = test[0].without_agent(1)
        assert np.array_equal(loaded.prices(others), rule.prices(others))
        assert np.array_equal(loaded.predictions(test[0]), rule.predictions(test[0]))
        assert loaded.offset == rule.offset and loaded.info == rule.info
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temporaries


def test_corrupt_and_mismatched_files_are_refused(tmp_path):
    rule, domain, _ = _fitted_rules()[0]
    path = rule.save(tmp_path / "r")
    npz = tmp_path / "r.npz"
    data = npz.read_bytes()
    npz.write_bytes(data[:-10])
    with pytest.raises(ModelFileError, match="checksum"):
        load_payment_rule(path)
    npz.write_bytes(data)
    manifest = json.loads(path.read_text())
    for broken, message in [
        ({**manifest, "format": "other"}, "not a mechopt payment-rule"),
        ({**manifest, "version": 99}, "version"),
        ({k: v for k, v in manifest.items() if k != "fitted"}, "incomplete"),
        ({**manifest, "arrays": {**manifest["arrays"], "shapes": {}}}, "shapes"),
        ({**manifest, "fitted": {**manifest["fitted"], "w1": -1.0}}, "w_1"),
    ]:
        path.write_text(json.dumps(broken))
        with pytest.raises(ModelFileError, match=message):
            load_payment_rule(path)
    path.write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_payment_rule(path)
    with pytest.raises(ModelFileError, match="no payment-rule manifest"):
        load_payment_rule(tmp_path / "missing")
    path.write_text(json.dumps(manifest))
    npz.unlink()
    with pytest.raises(ModelFileError, match="missing"):
        load_payment_rule(path)
    # data of another shape than the rule was trained for
    with pytest.raises(ModelFileError, match="trained for 3 agents"):
        rule.prices(MultiMindedCA(n_agents=5, n_items=3, n_bundles=2).sample(4, 0).without_agent(0))
    with pytest.raises(ModelFileError, match="trained for 3 items"):
        rule.prices(MultiMindedCA(n_agents=3, n_items=4, n_bundles=2).sample(4, 0).without_agent(0))
    with pytest.raises(ModelFileError, match="assignment"):
        rule.prices(AssignmentProblem(n_agents=3).sample(4, 0).without_agent(0))


def test_deallocation_restores_ir_and_lowers_regret():
    domain = MultiMindedCA(n_agents=3, n_items=3, n_bundles=2, gamma=0.5)
    train, test = _labelled(domain, "greedy", 100, 1), _labelled(domain, "greedy", 200, 2)
    learner = CuttingPlaneSSVM(CombinatorialModel(attribute="phi1"), "rbf", C=1e3, gamma=0.03, epsilon=1e-2)
    rule = PaymentRule(learner.fit(*train), domain.settings(), "greedy")
    base = rule.evaluate(*test)
    assert base.ir_violation > 0 and base.regret_deallocated < base.regret
    assert base.welfare_ratio < 1
    previous = base.ir_violation
    for offset in (0.05, 0.1, 0.3):
        ir = rule.with_offset(offset).evaluate(*test).ir_violation
        assert ir <= previous
        previous = ir
    with pytest.raises(ValueError, match="offset"):
        rule.with_offset(-1.0)


def test_model_selection_discards_rejected_fits():
    domain = SingleItemAuction(n_agents=3)

    class Data:
        def __init__(self, size, seed):
            self.profiles, self.outcomes = _labelled(domain, "optimal", size, seed)

    # the anti-monotone labels make every fit useless; the selection says so
    bad = Data(40, 1)
    bad.outcomes = 1 - bad.outcomes
    result = select_payment_rule(CombinatorialModel(), "linear", make_grid([10.0, 100.0], None), bad, Data(50, 2),
                                 domain=domain.settings(), rule="optimal")
    assert result.selected is None and len(result.notes) == 1
    with pytest.raises(ValueError, match="no grid point"):
        _ = result.rule
    good = select_payment_rule(CombinatorialModel(), "linear", make_grid([10.0, 1e4], None), Data(100, 3), Data(200, 4),
                               domain=domain.settings(), rule="optimal", select_by="accuracy")
    best = max(good.candidates, key=lambda c: c.validation.accuracy)
    assert good.selected is best
    with pytest.raises(ValueError, match="select_by"):
        select_payment_rule(CombinatorialModel(), "linear", make_grid([1.0], None), bad, bad,
                            domain=domain.settings(), rule="optimal", select_by="luck")
