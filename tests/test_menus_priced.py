"""Priced menus (mechopt.menus.priced): the exact best response from the atoms equals brute
force over all 2^m bundles, the start is exactly item pricing, gradients reach every
parameter, training never ends below its start, and the menu store and CLI handle the kind."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from mechopt.cli import cli  # noqa: E402
from mechopt.errors import InputError  # noqa: E402
from mechopt.menus.baselines import fit_item_prices, item_pricing_revenue  # noqa: E402
from mechopt.menus.config import MenuConfig  # noqa: E402
from mechopt.menus.evaluate import evaluate_menu, hard_choice  # noqa: E402
from mechopt.menus.priced import PricedMenu, initialize_priced_  # noqa: E402
from mechopt.menus.relaxations import relaxed_objective  # noqa: E402
from mechopt.menus.store import MenuFileError, load_menu, save_menu  # noqa: E402
from mechopt.menus.trainer import train_menu  # noqa: E402
from mechopt.menus.valuations import XORAtoms, XORValuation, all_bundles, make_valuation  # noqa: E402

pytestmark = pytest.mark.menus

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def _random_menu(m: int, k: int, seed: int) -> PricedMenu:
    """A priced menu with every term active: random item prices, a non-linear φ (slopes in
    [0, 2]), a size surcharge with an entry fee, and random offers at random prices."""
    g = _gen(seed)
    menu = PricedMenu(m, k).to(F64)
    with torch.no_grad():
        menu.prices.copy_(0.25 * torch.rand(m, generator=g, dtype=F64))
        menu.slopes.copy_(2 * torch.rand(menu.segments, generator=g, dtype=F64))
        menu.size_surcharge.copy_(0.05 * torch.rand(m, generator=g, dtype=F64))
        menu.logits.copy_(torch.randn(k, m, generator=g, dtype=F64))
        menu.offer_prices.copy_(0.8 * torch.rand(k, generator=g, dtype=F64))
    return menu


def _with_padding(buyers: XORAtoms) -> XORAtoms:
    """Add one padding atom (empty bundle, value 0) per buyer, as generated buyers have."""
    n, _, m = buyers.bundles.shape
    return XORAtoms(torch.cat([buyers.bundles, buyers.bundles.new_zeros(n, 1, m)], dim=1),
                    torch.cat([buyers.values, buyers.values.new_zeros(n, 1)], dim=1))


@pytest.mark.parametrize(("m", "atoms", "seed"), [(4, 2, 0), (6, 3, 1), (8, 4, 2), (10, 3, 3)])
def test_best_response_from_atoms_equals_brute_force_over_all_bundles(m, atoms, seed):
    valuation = XORValuation(m, atoms, dtype=F64)
    buyers = _with_padding(valuation.sample(300, _gen(100 + seed)))
    menu = _random_menu(m, 3, seed)
    with torch.no_grad():
        values, prices = menu.options(valuation, buyers, hard=True)
        _, paid = hard_choice(values, prices)
        every = all_bundles(m, dtype=F64)  # (2^m, m): every bundle at P(S), then the offers
        brute_values = torch.cat([valuation.bundle_values(buyers, every),
                                  valuation.bundle_values(buyers, menu.offer_bundles())], dim=1)
        brute_prices = torch.cat([menu.bundle_prices(every), menu.offer_prices])
        _, brute_paid = hard_choice(brute_values, brute_prices)
    assert torch.allclose(paid, brute_paid, atol=1e-12)
    assert float(brute_paid.mean()) > 0  # the menu sells something


def test_price_function_is_monotone_and_zero_on_the_empty_bundle():
    menu = _random_menu(6, 2, 7)
    every = all_bundles(6, dtype=F64)
    p = menu.bundle_prices(every).detach()
    assert float(p[0]) == 0.0
    for i in range(6):  # adding item i never lowers the price
        without = every[:, i] == 0
        bigger = every[without].clone()
        bigger[:, i] = 1
        assert bool((menu.bundle_prices(bigger).detach() >= p[without] - 1e-12).all())


def test_identity_start_prices_every_bundle_at_its_item_prices():
    menu = PricedMenu(5, 1).to(F64)
    with torch.no_grad():
        menu.prices.copy_(torch.tensor([0.1, 0.2, 0.3, 0.4, 0.9], dtype=F64))
    every = all_bundles(5, dtype=F64)
    assert torch.allclose(menu.bundle_prices(every), every @ menu.prices.detach())


def test_start_is_exactly_the_item_pricing_baseline():
    valuation = XORValuation(12, 4, dtype=F64)
    fit = _with_padding(valuation.sample(400, _gen(1)))
    test = _with_padding(valuation.sample(600, _gen(2)))
    menu = initialize_priced_(PricedMenu(12, 8).to(F64), fit, _gen(3), fill=0.5)
    prices, _, _ = fit_item_prices(fit)  # what compute_baselines fits on the same buyers
    assert torch.allclose(menu.prices.detach(), prices)
    start = evaluate_menu(menu, valuation, test, 10.0).hard_revenue
    assert start == pytest.approx(item_pricing_revenue(test, prices), abs=1e-12)


def test_gradients_reach_every_parameter():
    valuation = XORValuation(8, 3)
    buyers = valuation.sample(256, _gen(4))
    menu = initialize_priced_(PricedMenu(8, 6), buyers, _gen(5), fill=0.5)
    values, prices = menu.options(valuation, buyers, hard=False, st_weight=0.5)
    relaxed = relaxed_objective("softmax", values, prices, 20.0)
    relaxed.objective.backward()
    for name, param in menu.named_parameters():
        assert param.grad is not None and bool(param.grad.abs().sum() > 0), name
        assert bool(torch.isfinite(param.grad).all()), name


def test_projection_keeps_the_price_function_monotone():
    menu = PricedMenu(4, 2)
    with torch.no_grad():
        for p in menu.parameters():
            p.fill_(-1.0)
    menu.project_(0.5)
    assert all(bool((p >= 0).all()) for name, p in menu.named_parameters() if name != "logits")
    assert bool((menu.prices <= 0.5).all())


def _config(**changes):
    base = dict(valuation="xor", n_items=8, n_atoms=3, kind="priced", menu_size=4, relaxation="softmax",
                steps=40, batch_size=256, lr=0.01, val_size=512, test_size=512, eval_every=10, device="cpu")
    base.update(changes)
    return MenuConfig(**base)


def test_training_keeps_the_start_unless_it_improves_on_validation(tmp_path):
    trained = train_menu(_config())
    start = trained.history[0]
    assert start.step == -1
    assert trained.validation.hard_revenue >= start.hard_revenue - 1e-9
    assert trained.validation.hard_revenue == pytest.approx(max(p.hard_revenue for p in trained.history))
    path = save_menu(trained, tmp_path / "priced.json")
    stored = load_menu(path)
    assert stored.config.kind == "priced"
    for name, param in trained.menu.named_parameters():
        assert torch.equal(getattr(stored.menu, name).detach(), param.detach()), name
    again = evaluate_menu(stored.menu, make_valuation(stored.config, "cpu"), trained.test_buyers,
                          stored.inverse_temperature)
    assert again.hard_revenue == pytest.approx(trained.metrics.hard_revenue, abs=1e-7)


def test_same_samples_give_the_same_buyers():
    first = train_menu(_config(steps=2))
    second = train_menu(_config(steps=2, kind="mixture", mixture_bundles=1), samples=first.samples)
    assert second.test_buyers is first.test_buyers
    assert second.fit_buyers is first.fit_buyers


def test_a_priced_file_without_its_price_function_is_refused(tmp_path):
    path = save_menu(train_menu(_config(steps=2)), tmp_path / "priced.json")
    doc = json.loads(path.read_text())
    del doc["menu"]["price_function"]["slopes"]
    from mechopt.io.checksum import CHECKSUM_FIELD, document_sha256

    doc[CHECKSUM_FIELD] = document_sha256({k: v for k, v in doc.items() if k != CHECKSUM_FIELD})
    path.write_text(json.dumps(doc))
    with pytest.raises(MenuFileError, match="price_function.slopes"):
        load_menu(path)


@pytest.mark.parametrize(("changes", "message"), [
    (dict(valuation="additive"), "priced menus need XOR buyers"),
    (dict(relaxation="reinforce"), "not reinforce"),
    (dict(price_cap=True), "use max_price"),
])
def test_bad_settings_are_one_line_errors(changes, message):
    with pytest.raises(InputError, match=message):
        _config(**changes)


def test_cli_trains_shows_and_refuses(tmp_path):
    runner = CliRunner()
    out = tmp_path / "p.json"
    res = runner.invoke(cli, ["menus", "train", "--valuation", "xor", "--items", "6", "--atoms", "3", "--kind", "priced",
                              "--relaxation", "softmax", "--menu-size", "3", "--steps", "5", "--batch-size", "64",
                              "--val-size", "64", "--test-size", "64", "--eval-every", "2", "--milp-buyers", "0",
                              "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["config"]["kind"] == "priced" and data["ratio_to_best_baseline"] is not None
    assert data["menu"][-2]["element"] == "price function"
    res = runner.invoke(cli, ["menus", "show", str(out)])
    assert res.exit_code == 0, res.output
    assert "price function" in res.output
    res = runner.invoke(cli, ["menus", "train", "--valuation", "additive", "--kind", "priced", "--no-save"])
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [
        "Error: priced menus need XOR buyers (valuation xor or generated), got valuation 'additive'"]


def test_bench_reports_both_kinds_on_the_same_baselines():
    runner = CliRunner()
    res = runner.invoke(cli, ["bench", "menus-cats", "--distributions", "L1", "--items", "6", "--kinds", "mixture,priced",
                              "--seeds", "1", "--steps", "2", "--menu-size", "2", "--batch-size", "16",
                              "--train-pool", "32", "--val-size", "32", "--test-size", "32", "--milp-buyers", "0",
                              "--priced-steps", "4", "--priced-offers", "2", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    kinds = {r["kind"]: r for r in data["rows"]}
    assert set(kinds) == {"mixture", "priced"}
    assert kinds["mixture"]["item_pricing"] == kinds["priced"]["item_pricing"]
    assert "--kinds mixture,priced" in data["command"] and "--priced-steps 4" in data["command"]
    res = runner.invoke(cli, ["bench", "menus-cats", "--kinds", "nope"])
    assert res.exit_code == 2
    assert "unknown value 'nope'" in res.output
