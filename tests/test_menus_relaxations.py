"""Gradients and values of the choice relaxations, and the hard choice they relax."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from torch.autograd import gradcheck  # noqa: E402

from mechopt.menus.config import MenuConfig, bundleflow_failure_config  # noqa: E402
from mechopt.menus.evaluate import evaluate_menu, hard_choice  # noqa: E402
from mechopt.menus.menu import Menu  # noqa: E402
from mechopt.menus.relaxations import (  # noqa: E402
    choice_probabilities,
    gumbel_straight_through,
    inverse_temperature,
    ir_penalty,
    reinforce_surrogate,
    relaxed_objective,
    rochetnet_revenue,
    soft_revenue,
)
from mechopt.menus.valuations import Additive, UnitDemand, XORValuation  # noqa: E402

pytestmark = pytest.mark.menus
F64 = torch.float64


def rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


@pytest.mark.parametrize("relaxation", ["softmax", "bundleflow", "rochetnet"])
def test_gradcheck_deterministic_relaxations(relaxation):
    values = rand(5, 3, seed=1).requires_grad_()
    prices = (0.6 * rand(3, seed=2)).requires_grad_()
    kappa = 0.1 if relaxation == "bundleflow" else 7.0

    def objective(v, p):
        return relaxed_objective(relaxation, v, p, kappa, ir_weight=0.3).objective

    assert gradcheck(objective, (values, prices), eps=1e-6, atol=1e-7)


def test_gradcheck_pieces_and_menu_values():
    u = (rand(4, 3, seed=3) - 0.5).requires_grad_()
    prices = rand(3, seed=4).requires_grad_()
    assert gradcheck(lambda x: choice_probabilities(x, 5.0), (u,))
    assert gradcheck(lambda x: ir_penalty(choice_probabilities(x, 5.0), x), (u,))
    assert gradcheck(lambda x, p: soft_revenue(choice_probabilities(x, 5.0), p), (u, prices))
    # through the menu parameterization and each valuation's relaxed values
    for val in (Additive(2, dtype=F64), UnitDemand(2, dtype=F64), XORValuation(2, 2, dtype=F64)):
        buyers = val.sample(4, torch.Generator().manual_seed(5))
        logits = rand(3, 2, seed=6).requires_grad_()
        assert gradcheck(lambda lg, val=val, buyers=buyers: val.lottery_values(buyers, torch.sigmoid(lg)),
                         (logits,))
        assert gradcheck(lambda lg, val=val, buyers=buyers: val.relaxed_values(buyers, torch.sigmoid(lg)),
                         (logits,))


def test_seed_numbers_are_lambda_times_utilities():
    """docs/menus.md#the-softmax-failure: u = -9.29 on four elements with lambda = 0.1 gives Z_k = 0.153 and
    Z_null = 0.388 (with u / lambda the paid elements would get ~e^-93)."""
    probs = choice_probabilities(torch.full((1, 4), -9.2875, dtype=F64), 0.1)
    assert float(probs[0, 0]) == pytest.approx(0.153, abs=5e-4)
    assert float(probs[0, -1]) == pytest.approx(0.388, abs=5e-4)
    assert float(soft_revenue(probs, torch.full((4,), 10.0, dtype=F64))[0]) == pytest.approx(6.12, abs=0.01)


def test_schedules():
    c = bundleflow_failure_config()
    assert inverse_temperature(c, 0, scale=123.0) == pytest.approx(0.1)
    assert inverse_temperature(c, 200, scale=1.0) == pytest.approx(0.105)
    assert inverse_temperature(c, 10**6, scale=1.0) == pytest.approx(0.2)
    r = MenuConfig(temperature=0.05, temperature_end=0.002, steps=11)
    assert inverse_temperature(r, 0, scale=0.5) == pytest.approx(1 / (0.05 * 0.5))
    assert inverse_temperature(r, 10, scale=0.5) == pytest.approx(1 / (0.002 * 0.5))
    assert inverse_temperature(r, 5, scale=1.0) == pytest.approx(1 / math.sqrt(0.05 * 0.002))
    # any relaxation can use BundleFlow's convention
    assert inverse_temperature(MenuConfig(relaxation="gumbel", schedule="bundleflow"), 0, 9.0) == pytest.approx(0.1)


def test_rochetnet_is_exact_under_a_hard_choice_and_below_soft():
    values, prices = rand(200, 4, seed=7), 0.8 * rand(4, seed=8)
    utilities = values - prices
    _, paid = hard_choice(values, prices)
    sharp = choice_probabilities(utilities, 1e7)
    assert torch.allclose(rochetnet_revenue(values, utilities, sharp), paid, atol=1e-6)
    for kappa in (1.0, 10.0, 100.0):
        probs = choice_probabilities(utilities, kappa)
        assert bool((rochetnet_revenue(values, utilities, probs) <= soft_revenue(probs, prices) + 1e-12).all())


def test_gumbel_straight_through_forward_hard_backward_soft():
    u = (rand(6, 3, seed=9) - 0.5).requires_grad_()
    noise = -torch.log(-torch.log(rand(6, 4, seed=10)))
    y = gumbel_straight_through(u, 4.0, noise=noise)
    assert torch.equal(y.detach().sum(dim=1), torch.ones(6, dtype=F64))
    assert set(y.detach().flatten().tolist()) <= {0.0, 1.0}
    w = rand(4, seed=11)
    (y @ w).sum().backward()
    u2 = u.detach().clone().requires_grad_()
    logits = torch.cat([u2, torch.zeros(6, 1, dtype=F64)], dim=1) * 4.0 + noise
    (torch.softmax(logits, dim=1) @ w).sum().backward()
    assert torch.allclose(u.grad, u2.grad)


def test_reinforce_is_unbiased():
    """The mean REINFORCE gradient over many samples approaches the exact gradient of
    E_{k~Z}[beta_k 1{u_k >= 0}]."""
    values = torch.tensor([[0.9, 0.3, 0.6]], dtype=F64).expand(40000, 3)
    prices = torch.tensor([0.5, 0.2, 0.7], dtype=F64, requires_grad=True)
    kappa = 3.0
    surrogate, reward = reinforce_surrogate(values - prices, prices, kappa, torch.Generator().manual_seed(12))
    surrogate.mean().backward()
    estimate = prices.grad.clone()
    prices.grad = None
    u = values[:1] - prices
    probs = choice_probabilities(u, kappa)
    ir = torch.cat([(u >= 0).to(F64), torch.zeros(1, 1, dtype=F64)], dim=1)
    exact = (probs * ir * torch.cat([prices, torch.zeros(1, dtype=F64)])).sum()
    exact.backward()
    assert float(reward.detach().mean()) == pytest.approx(float(exact.detach()), abs=0.01)
    assert torch.allclose(estimate, prices.grad, atol=0.02)


def test_hard_evaluation_of_a_hand_built_menu():
    """One item, price 1/2 and a worse lottery: hard revenue is 1/4 for U[0,1] buyers."""
    menu = Menu(1, 2, "lottery").double()
    with torch.no_grad():
        menu.logits.copy_(torch.tensor([[30.0], [-30.0]]))
        menu.prices.copy_(torch.tensor([0.5, 0.3]))
    val = Additive(1, dtype=F64)
    metrics = evaluate_menu(menu, val, val.sample(50000, torch.Generator().manual_seed(13)), 1000.0)
    assert metrics.hard_revenue == pytest.approx(0.25, abs=3 * metrics.hard_revenue_se + 1e-3)
    assert metrics.buy_rate == pytest.approx(0.5, abs=0.01)
    assert metrics.soft_revenue == pytest.approx(metrics.hard_revenue, abs=0.01)
    # a bundle menu is rounded before evaluation
    bundle = Menu(1, 1, "bundle").double()
    with torch.no_grad():
        bundle.logits.fill_(0.1)  # sigmoid 0.52 -> the item
        bundle.prices.fill_(0.5)
    buyers = val.sample(1000, torch.Generator().manual_seed(14))
    _, paid = hard_choice(val.bundle_values(buyers, torch.ones(1, 1, dtype=F64)), torch.tensor([0.5], dtype=F64))
    assert evaluate_menu(bundle, val, buyers, 10.0).hard_revenue == pytest.approx(float(paid.mean()))


def test_menu_validation_and_projection():
    with pytest.raises(ValueError, match="menu size"):
        Menu(2, 0)
    with pytest.raises(ValueError, match="number of items"):
        Menu(0, 3)
    with pytest.raises(ValueError, match="kind"):
        Menu(2, 3, "auction")
    menu = Menu(2, 3)
    with torch.no_grad():
        menu.prices.copy_(torch.tensor([-1.0, 0.5, 3.0]))
    menu.project_(torch.tensor([1.0, 0.2, 2.0]))
    assert menu.prices.tolist() == pytest.approx([0.0, 0.2, 2.0])
