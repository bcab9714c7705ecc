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
from mechopt.io.checksum import document_sha256
from mechopt.learning.cutting_plane import CuttingPlaneSSVM
from mechopt.learning.payment_rule import (
    ModelFileError,
    PaymentRule,
    load_payment_rule,
    normalize_prices,
    upgrade_payment_rule,
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
        assert path.name == f"rule{i}.json" and not (tmp_path / f"rule{i}.npz").exists()  # one file
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


def _resign(manifest):
    """``manifest`` with a valid checksum (a hand-made file that is wrong in another way)."""
    return {**manifest, "sha256": document_sha256(manifest)}


def test_corrupt_and_mismatched_files_are_refused(tmp_path):
    rule, domain, _ = _fitted_rules()[0]
    path = rule.save(tmp_path / "r")
    manifest = json.loads(path.read_text())
    truncated = manifest["arrays"]["npz_base64"][:-12]
    for broken, message in [
        ({**manifest, "format": "other"}, "not a mechopt payment-rule"),
        ({**manifest, "version": 99}, "version"),
        ({**manifest, "arrays": {**manifest["arrays"], "npz_base64": truncated}}, "checksum mismatch"),
        (_resign({**manifest, "arrays": {**manifest["arrays"], "npz_base64": truncated}}), "unreadable arrays"),
        (_resign({**manifest, "arrays": {**manifest["arrays"], "shapes": {}}}), "shapes"),
        (_resign({**manifest, "fitted": {**manifest["fitted"], "w1": -1.0}}), "w_1"),
    ]:
        path.write_text(json.dumps(broken))
        with pytest.raises(ModelFileError, match=message):
            load_payment_rule(path)
    path.write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_payment_rule(path)
    with pytest.raises(ModelFileError, match="no payment-rule manifest"):
        load_payment_rule(tmp_path / "missing")
    # data of another shape than the rule was trained for
    with pytest.raises(ModelFileError, match="trained for 3 agents"):
        rule.prices(MultiMindedCA(n_agents=5, n_items=3, n_bundles=2).sample(4, 0).without_agent(0))
    with pytest.raises(ModelFileError, match="trained for 3 items"):
        rule.prices(MultiMindedCA(n_agents=3, n_items=4, n_bundles=2).sample(4, 0).without_agent(0))
    with pytest.raises(ModelFileError, match="assignment"):
        rule.prices(AssignmentProblem(n_agents=3).sample(4, 0).without_agent(0))


@pytest.fixture(scope="module")
def saved_rule(tmp_path_factory):
    """An RBF rule with an offset, saved once; tests copy the file."""
    rule, domain, _ = _fitted_rules()[0]
    path = rule.save(tmp_path_factory.mktemp("rule") / "r")
    others = _labelled(domain, "greedy", 30, 5)[0].without_agent(0)
    return path, others, rule.prices(others)


def _copy(saved_rule, tmp_path, name="r.json"):
    target = tmp_path / name
    target.write_bytes(saved_rule[0].read_bytes())
    return target


@pytest.mark.parametrize("fail", ["replace-1", "replace-2", "fsync-1", "fsync-2"])
def test_a_crash_while_saving_keeps_the_old_model(saved_rule, tmp_path, monkeypatch, fail):
    """Whatever step of a save fails, the file on disk is the old model or the new one."""
    import os

    path = _copy(saved_rule, tmp_path)
    old_bytes = path.read_bytes()
    new_rule = load_payment_rule(path).with_offset(0.5)
    name, at = fail.split("-")
    real, calls = getattr(os, name), []

    def crash(*args, **kwargs):
        calls.append(1)
        if len(calls) == int(at):
            raise OSError("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, crash)
    try:
        new_rule.save(path)
    except OSError:
        monkeypatch.undo()
        assert path.read_bytes() == old_bytes
        old = load_payment_rule(path)
        assert old.offset == 0.05 and np.array_equal(old.prices(saved_rule[1]), saved_rule[2])
    else:  # the failure point was never reached: the new model is complete
        monkeypatch.undo()
        assert load_payment_rule(path).offset == 0.5
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


@pytest.mark.parametrize("field, value", [
    ("learner.kernel.gamma", 0.3), ("fitted.w1", 0.01), ("learner.C", 1.0), ("offset", 0.0),
    ("rule", "optimal"), ("structured_model.attribute", "phi1"), ("domain.n_agents", 4),
    ("fitted.formulation", "primal"),
])
def test_an_edited_setting_is_refused(saved_rule, tmp_path, field, value):
    path = _copy(saved_rule, tmp_path)
    manifest = json.loads(path.read_text())
    *parents, last = field.split(".")
    node = manifest
    for part in parents:
        node = node[part]
    assert node[last] != value
    node[last] = value
    path.write_text(json.dumps(manifest, indent=2))
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        load_payment_rule(path)


@pytest.mark.parametrize("field", ["fitted.w1", "learner.kernel", "learner.C", "offset", "rule", "domain",
                                   "arrays.npz_base64", "sha256"])
def test_a_missing_field_is_one_error_naming_it(saved_rule, tmp_path, field):
    path = _copy(saved_rule, tmp_path)
    manifest = json.loads(path.read_text())
    *parents, last = field.split(".")
    node = manifest
    for part in parents:
        node = node[part]
    del node[last]
    path.write_text(json.dumps(manifest if field == "sha256" else _resign(manifest)))
    with pytest.raises(ModelFileError, match=rf"{path}: the manifest lacks the field '{field}'"):
        load_payment_rule(path)


def test_a_copied_or_renamed_model_loads(saved_rule, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    path = _copy(saved_rule, tmp_path / "elsewhere", "renamed.json")
    assert np.array_equal(load_payment_rule(path).prices(saved_rule[1]), saved_rule[2])


def _legacy_pair(saved_rule, tmp_path):
    """The model of ``saved_rule`` as format 1 wrote it: manifest + .npz."""
    import base64
    import hashlib

    manifest = json.loads(saved_rule[0].read_text())
    data = base64.b64decode(manifest["arrays"]["npz_base64"])
    (tmp_path / "old.npz").write_bytes(data)
    del manifest["sha256"]
    manifest.update(version=1, arrays={"file": "old.npz", "sha256": hashlib.sha256(data).hexdigest(),
                                       "shapes": manifest["arrays"]["shapes"]})
    (tmp_path / "old.json").write_text(json.dumps(manifest, indent=2))
    return tmp_path / "old.json"


def test_format_1_pairs_are_refused_and_upgraded(saved_rule, tmp_path):
    path = _legacy_pair(saved_rule, tmp_path)
    with pytest.raises(ModelFileError, match="mechopt payments upgrade"):
        load_payment_rule(path)
    npz = tmp_path / "old.npz"
    good = npz.read_bytes()
    npz.write_bytes(good[:-5])
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        upgrade_payment_rule(path)
    npz.write_bytes(good)
    assert upgrade_payment_rule(path) is True
    assert not npz.exists() and upgrade_payment_rule(path) is False
    assert np.array_equal(load_payment_rule(path).prices(saved_rule[1]), saved_rule[2])


def test_the_committed_models_load():
    from pathlib import Path

    paths = sorted((Path(__file__).parents[1] / "models" / "payments").glob("*/*.json"))
    assert paths
    for path in paths:
        load_payment_rule(path)
    assert not list((Path(__file__).parents[1] / "models" / "payments").glob("*/*.npz"))


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
