"""The one payment-rule pipeline (label → learn and select → evaluate against baselines → save)."""

from __future__ import annotations

import pytest

from mechopt.domains.distributions import AssignmentProblem, SingleItemAuction
from mechopt.domains.evaluate import DOMAIN_BASELINES, evaluate, second_price
from mechopt.domains.splits import split_seeds
from mechopt.learning.payment_rule import load_payment_rule
from mechopt.learning.pipeline import evaluate_against_baselines, learn_payment_rule
from mechopt.learning.structured import make_structured_model
from mechopt.learning.train import make_grid


def test_learns_selects_evaluates_against_the_baselines_and_saves(tmp_path):
    domain = SingleItemAuction(n_agents=2)
    model = make_structured_model("single-item", attribute="phi1")
    result = learn_payment_rule(
        domain, "optimal", model, "linear", make_grid([1e3, 1e4], None), n_train=40, n_validation=60,
        n_test=80, seed=3, offsets=(0.0, 0.05), cache=False, info={"note": "x"}, save_to=tmp_path / "rule",
    )
    assert result.seeds == split_seeds(3) == {"train": 3, "validation": 10_003, "test": 20_003}
    assert {part: len(d.outcomes) for part, d in result.datasets.items()} == {"train": 40, "validation": 60,
                                                                            "test": 80}
    assert [d.seed for d in result.datasets.values()] == [3, 10_003, 20_003]
    assert list(result.baselines) == list(DOMAIN_BASELINES["single-item"]) == ["second-price"]
    test = result.datasets["test"]
    assert result.baselines["second-price"].regret == evaluate(test.profiles, test.outcomes, second_price).regret
    assert result.offsets == (0.0, 0.05) and len(result.test) == 2
    loaded = load_payment_rule(result.saved)
    assert loaded.offset == 0.0 == result.payment_rule.offset
    assert result.test[1].regret == loaded.with_offset(0.05).evaluate(test.profiles, test.outcomes).regret
    info = loaded.info
    assert info["note"] == "x" and info["seeds"] == result.seeds and info["sizes"]["test"] == 80
    assert info["selected"] == {"C": result.selected.point.C, "gamma": None}
    assert info["metrics"]["test"]["offset"] == 0.0
    assert info["metrics"]["test"]["regret"] == pytest.approx(result.test[0].regret)
    assert len(info["grid"]) == 2


def test_without_a_test_set_nothing_is_evaluated_or_saved():
    result = learn_payment_rule(
        SingleItemAuction(n_agents=2), "optimal", make_structured_model("single-item"), "linear",
        make_grid([1e3], None), n_train=30, n_validation=30, n_test=0, cache=False,
    )
    assert set(result.datasets) == {"train", "validation"}
    assert result.test == () and result.baselines == {} and result.saved is None
    assert "test" not in result.payment_rule.info["metrics"]


def test_evaluate_against_baselines_names_the_baselines():
    from mechopt.domains.datasets import make_dataset

    data = make_dataset(AssignmentProblem(n_agents=3), "optimal", 20, 1, cache=False)
    learned, compared = evaluate_against_baselines(None, data, ("vcg", "tot-vcg"))
    assert learned == () and list(compared) == ["vcg", "tot-vcg"]
    with pytest.raises(ValueError, match="not defined for domain"):
        evaluate_against_baselines(None, data, ("second-price",))
