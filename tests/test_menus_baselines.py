"""Baselines against brute force, mixture menus against explicit enumeration, the hard choice
of mixture menus, the CATS-style ``regions`` generator and the CUDA refusal."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from mechopt.cli import cli  # noqa: E402
from mechopt.generators import generate_auction  # noqa: E402
from mechopt.menus.baselines import (  # noqa: E402
    best_grand_price,
    certified_bundle_menu,
    compute_baselines,
    fit_item_prices,
    grand_price_revenue,
    item_pricing_paid,
)
from mechopt.menus.config import MenuConfig  # noqa: E402
from mechopt.menus.evaluate import evaluate_menu, hard_choice, menu_values  # noqa: E402
from mechopt.menus.mixture import MixtureMenu, initialize_from_buyers_, mixture_values  # noqa: E402
from mechopt.menus.valuations import ItemValues, XORValuation, all_bundles  # noqa: E402

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def test_best_grand_price_matches_enumeration_of_prices_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        v = rng.integers(0, 8, size=int(rng.integers(1, 30))).astype(float) / 7  # many ties
        price, revenue = best_grand_price(torch.tensor(v))
        grid = np.unique(np.concatenate([v, np.linspace(0, 1, 201)]))
        brute = max(p * np.mean(v >= p) for p in grid)
        assert revenue == pytest.approx(brute, abs=1e-12)
        assert grand_price_revenue(torch.tensor(v), price) == pytest.approx(revenue, abs=1e-12)


def _brute_item_paid(bundles: np.ndarray, values: np.ndarray, prices: np.ndarray) -> float:
    """Buyer may buy any set of items: utility v(S) - Σ_{i∈S} p_i, ties to the dearer set."""
    m = bundles.shape[1]
    best_u, best_pay = 0.0, 0.0  # the empty set
    for bits in itertools.product([0, 1], repeat=m):
        s = np.array(bits)
        contained = [(b <= s).all() and b.any() for b in bundles]
        v = max([val for val, c in zip(values, contained, strict=True) if c], default=0.0)
        u, pay = v - s @ prices, s @ prices
        if u > best_u + 1e-12 or (abs(u - best_u) <= 1e-12 and pay > best_pay):
            best_u, best_pay = u, pay
    return best_pay


def test_item_pricing_payment_matches_a_buyer_choosing_among_all_bundles():
    val = XORValuation(3, 3, dtype=F64)
    buyers = val.sample(40, gen(1))
    rng = np.random.default_rng(1)
    for _ in range(5):
        prices = rng.random(3) * 0.5
        paid = item_pricing_paid(buyers, torch.tensor(prices)).numpy()
        for n in range(buyers.n):
            brute = _brute_item_paid(buyers.bundles[n].numpy(), buyers.values[n].numpy(), prices)
            assert paid[n] == pytest.approx(brute, abs=1e-12)


def test_item_pricing_fit_reaches_the_grid_optimum_on_two_items():
    val = XORValuation(2, 2, dtype=F64)
    buyers = val.sample(400, gen(2))
    grid = np.linspace(0, 1, 101)
    brute = max(float(item_pricing_paid(buyers, torch.tensor([a, b])).mean())
                for a in grid for b in grid)
    prices, revenue, _ = fit_item_prices(buyers)
    assert revenue == pytest.approx(float(item_pricing_paid(buyers, prices).mean()), abs=1e-12)
    assert revenue >= 0.98 * brute


def test_item_pricing_for_additive_buyers():
    buyers = ItemValues(torch.rand(2000, 2, generator=gen(3), dtype=F64))
    _, revenue, _ = fit_item_prices(buyers)
    assert revenue == pytest.approx(0.5, abs=0.02)  # two items at 1/2 each: 2 · 1/4


def test_mixture_expected_value_matches_explicit_enumeration():
    m, k, c = 4, 5, 3
    val = XORValuation(m, 3, dtype=F64)
    buyers = val.sample(30, gen(4))
    menu = MixtureMenu(m, k, c).to(F64).initialize_(gen(5), 0.5)
    with torch.no_grad():
        menu.logits[:, c * m:] = torch.randn(k, c, generator=gen(6), dtype=F64)
    got = mixture_values(menu, val, buyers, hard=True)
    # explicit: each element is a distribution over all 2^m bundles
    bundles = all_bundles(m, dtype=F64)
    v_all = val.bundle_values(buyers, bundles)  # (N, 2^m)
    q = menu.weights()
    codes = (menu.bundle_logits() >= 0).to(torch.int64) @ (2 ** torch.arange(m))  # (K, C)
    dist = torch.zeros(k, 2**m, dtype=F64)
    for e in range(k):
        for j in range(c):
            dist[e, codes[e, j]] += q[e, j]
    expected = v_all @ dist.T
    assert torch.allclose(got, expected.detach(), atol=1e-12)
    # the relaxed (training) value is exact once the straight-through weight is 1
    assert torch.allclose(mixture_values(menu, val, buyers, hard=False, st_weight=1.0), got, atol=1e-12)


def test_mixture_hard_revenue_is_individually_rational_and_takes_the_argmax():
    val = XORValuation(5, 3, dtype=F64)
    buyers = val.sample(500, gen(7))
    menu = MixtureMenu(5, 6, 2).to(F64).initialize_(gen(8), 0.6)
    values = menu_values(menu, val, buyers, hard=True).detach()
    choice, paid = hard_choice(values, menu.prices.detach())
    u = values - menu.prices.detach()
    for n in range(buyers.n):
        best = float(u[n].max())
        if best < 0:
            assert int(choice[n]) == menu.size and float(paid[n]) == 0.0
        else:
            assert float(u[n, choice[n]]) == best and float(paid[n]) == float(menu.prices.detach()[choice[n]])
            assert float(paid[n]) <= float(values[n, choice[n]])  # IR
    metrics = evaluate_menu(menu, val, buyers, 100.0)
    assert metrics.hard_revenue == pytest.approx(float(paid.mean()), abs=1e-12)


def test_mixture_start_is_at_least_the_grand_bundle_price():
    val = XORValuation(6, 3, dtype=F64)
    buyers = val.sample(300, gen(9))
    menu = MixtureMenu(6, 8, 2).to(F64).initialize_(gen(10), 0.5)
    initialize_from_buyers_(menu, buyers, val, gen(11))
    _, paid = hard_choice(menu_values(menu, val, buyers, hard=True), menu.prices.detach())
    price, grand = best_grand_price(val.grand_values(buyers))
    assert float(menu.prices.detach()[0]) == pytest.approx(price)
    assert bool((menu.bundle_logits()[0] > 0).all())
    assert float(paid.mean()) >= 0.0 and grand > 0


def test_bundle_menu_milp_is_certified_on_a_tiny_sample_and_beats_the_grand_bundle():
    val = XORValuation(3, 2, dtype=F64)
    buyers = val.sample(8, gen(12))
    test = val.sample(200, gen(13))
    base = certified_bundle_menu(val, buyers, test, menu_size=2, time_limit=30)
    assert base.certified is True
    _, grand = best_grand_price(val.grand_values(buyers))
    assert base.fit_revenue >= grand - 1e-9  # the grand bundle is one of the candidates
    # brute force over menus of <= 2 candidate bundles priced at sample values
    cands = torch.unique(torch.cat([buyers.bundles.reshape(-1, 3), torch.ones(1, 3, dtype=F64)]), dim=0)
    values = val.bundle_values(buyers, cands).numpy()
    best = 0.0
    for pair in itertools.combinations(range(len(cands)), 2):
        vals = values[:, pair]
        for p in itertools.product(np.unique(values[:, pair[0]]), np.unique(values[:, pair[1]])):
            _, paid = hard_choice(torch.tensor(vals), torch.tensor(p))
            best = max(best, float(paid.mean()))
    # prices at sample values are a subset of all prices: the MILP is at least as good
    assert base.fit_revenue >= best - 1e-6


def test_compute_baselines_on_xor_buyers_reports_welfare_as_an_upper_bound():
    val = XORValuation(4, 3, dtype=F64)
    fit, test = val.sample(300, gen(14)), val.sample(300, gen(15))
    b = compute_baselines(val, fit, test, menu_size=4, milp_buyers=10, milp_time_limit=10)
    assert [e.name for e in b.entries] == ["grand bundle", "item pricing", "bundle menu (MILP)"]
    assert all(e.test_revenue <= b.welfare + 1e-12 for e in b.entries)
    assert b.ratio(b.best.test_revenue) == pytest.approx(1.0)
    json.dumps(b.to_dict())


def test_regions_bundles_are_connected_on_the_grid():
    auction = generate_auction("regions", n_items=16, n_bids=30, seed=3)
    cols = 4
    for _, bid in auction.iter_bids():
        items = {int(g) for g in bid.items}
        seen, todo = set(), [min(items)]
        while todo:  # grid neighbours plus at most one diagonal per cell
            i = todo.pop()
            if i in seen:
                continue
            seen.add(i)
            r, c = divmod(i, cols)
            todo += [j for j in items if j not in seen and abs(j // cols - r) <= 1 and abs(j % cols - c) <= 1]
        assert seen == items
    assert generate_auction("regions", n_items=16, n_bids=30, seed=3) == auction


def test_mixture_menu_trains_and_saves(tmp_path):
    from mechopt.menus.store import load_menu, save_menu
    from mechopt.menus.trainer import train_menu

    config = MenuConfig(valuation="xor", n_items=6, n_atoms=3, kind="mixture", menu_size=6,
                        mixture_bundles=2, steps=30, batch_size=128, val_size=512, test_size=512,
                        eval_every=10, device="cpu")
    trained = train_menu(config)
    assert trained.test_buyers.n == 512 and trained.metrics.hard_revenue > 0
    path = save_menu(trained, tmp_path / "m.json")
    stored = load_menu(path)
    assert torch.equal(stored.menu.logits, trained.menu.logits.detach())


def test_menus_train_prints_baselines_in_json():
    result = CliRunner().invoke(cli, ["menus", "train", "--valuation", "xor", "--items", "3",
                                      "--kind", "mixture", "--menu-size", "4", "--steps", "20",
                                      "--batch-size", "64", "--val-size", "256", "--test-size", "256",
                                      "--milp-buyers", "8", "--no-save", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    names = [e["name"] for e in data["baselines"]["entries"]]
    assert names == ["grand bundle", "item pricing", "bundle menu (MILP)"]
    assert math.isfinite(data["ratio_to_best_baseline"])


def test_device_benchmark_refuses_cuda_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = CliRunner().invoke(cli, ["bench", "menus-device", "--device", "cuda"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "CUDA is not available" in lines[0]


def test_device_benchmark_runs_on_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = CliRunner().invoke(cli, ["bench", "menus-device", "--device", "auto", "--items", "8",
                                      "--menu-size", "8", "--batch-size", "64", "--steps", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["device"] for r in data["rows"]] == ["cpu"] and data["rows"][0]["train_buyers_per_s"] > 0
