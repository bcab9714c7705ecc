"""Priced menus (mechopt.menus.priced): the exact best response from the atoms equals brute
force over all 2^m bundles, the start is exactly item pricing, gradients reach every
parameter, training never ends below its start, and the menu store and CLI handle the kind.
Size-pricing starts (``priced_init="size"``): a price per bundle size, monotone, exact best
response against brute force, the per-size monopoly price at width 0, and the start chosen on
validation is never below item pricing there."""

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
from mechopt.menus.priced import (  # noqa: E402
    SIZE_PRICE_WIDTHS,
    PricedMenu,
    fit_size_prices,
    initialize_priced_,
    set_size_pricing_,
)
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
    (dict(priced_init="nope"), "unknown priced_init"),
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
    assert "--priced-init" not in data["command"]  # the default is not spelled out
    res = runner.invoke(cli, ["bench", "menus-cats", "--kinds", "nope"])
    assert res.exit_code == 2
    assert "unknown value 'nope'" in res.output


# ------------------------------------------------------------------ size-pricing starts
def _same_size_buyers(n: int, m: int, seed: int) -> XORAtoms:
    """XOR buyers whose atoms all have one size k_n (as the CATS-style generators' buyers),
    value ~ k_n/m · U[0.5, 1.5] clipped to 1, with a padding atom."""
    g = _gen(seed)
    k = torch.randint(1, m + 1, (n,), generator=g)
    atoms = 3
    bundles = torch.zeros(n, atoms + 1, m, dtype=F64)
    for i in range(n):
        for j in range(atoms):
            bundles[i, j, torch.randperm(m, generator=g)[: int(k[i])]] = 1.0
    values = (k.to(F64) / m).unsqueeze(1) * (0.5 + torch.rand(n, atoms, generator=g, dtype=F64))
    values = torch.cat([values.clamp(max=1.0), values.new_zeros(n, 1)], dim=1)
    return XORAtoms(bundles, values)


@pytest.mark.parametrize("width", [0, *SIZE_PRICE_WIDTHS])
def test_size_prices_are_monotone_and_zero_at_size_zero(width):
    f = fit_size_prices(_same_size_buyers(300, 10, 1), width)
    assert f.shape == (11,)
    assert float(f[0]) == 0.0
    assert bool((f[1:] >= f[:-1]).all())
    assert bool((f[1:] > 0).all())


def test_size_pricing_prices_every_bundle_by_its_size_and_the_best_response_is_exact():
    m = 8
    buyers = _same_size_buyers(300, m, 2)
    valuation = XORValuation(m, 3, dtype=F64)
    menu = initialize_priced_(PricedMenu(m, 4).to(F64), buyers, _gen(3), fill=0.5)
    f = fit_size_prices(buyers, 2)
    set_size_pricing_(menu, f)
    every = all_bundles(m, dtype=F64)
    assert torch.allclose(menu.bundle_prices(every).detach(), f[every.sum(1).long()])
    mixed = _with_padding(valuation.sample(300, _gen(4)))  # atoms of different sizes, too
    for who in (buyers, mixed):
        with torch.no_grad():
            values, prices = menu.options(valuation, who, hard=True)
            _, paid = hard_choice(values, prices)
            brute_values = torch.cat([valuation.bundle_values(who, every),
                                      valuation.bundle_values(who, menu.offer_bundles())], dim=1)
            _, brute_paid = hard_choice(brute_values, torch.cat([menu.bundle_prices(every), menu.offer_prices]))
        assert torch.allclose(paid, brute_paid, atol=1e-12)
        assert float(paid.mean()) > 0


def test_width_zero_is_the_monopoly_price_of_each_size():
    buyers = _same_size_buyers(400, 6, 5)
    f = fit_size_prices(buyers, 0, grid=4001)
    k = buyers.bundles.sum(2).amax(1).long()
    v = buyers.values.amax(1)
    top = float(v.max())
    for size in range(1, 7):
        vs = v[k == size]
        exact = max(float(p) * float((vs >= p).double().mean()) for p in vs)  # best price is a value
        got = float(f[size]) * float((vs >= f[size]).double().mean())
        if bool((f[size] > f[:size]).all()):  # not raised by the running maximum
            assert got >= exact - top / 4000 - 1e-12


def test_size_start_is_chosen_on_validation_and_never_below_item_pricing():
    config = _config(valuation="generated", distribution="L4", n_items=10, menu_size=2, steps=0,
                     train_pool=256, val_size=256, test_size=64, priced_init="size")
    trained = train_menu(config)
    items = train_menu(config.replace(priced_init="items"), samples=trained.samples)
    start, item_start = trained.history[0], items.history[0]
    assert start.step == item_start.step == -1
    assert start.hard_revenue >= item_start.hard_revenue - 1e-12
    val = trained.samples.validation
    candidates = [item_start.hard_revenue]
    menu = PricedMenu(10, 2)
    for width in SIZE_PRICE_WIDTHS:
        set_size_pricing_(menu, fit_size_prices(trained.fit_buyers, width))
        candidates.append(evaluate_menu(menu, make_valuation(config, "cpu"), val, 10.0).hard_revenue)
    assert start.hard_revenue == pytest.approx(max(candidates), abs=1e-6)


def test_a_priced_file_saved_before_priced_init_still_loads(tmp_path):
    path = save_menu(train_menu(_config(steps=2)), tmp_path / "priced.json")
    doc = json.loads(path.read_text())
    del doc["config"]["priced_init"]
    from mechopt.io.checksum import CHECKSUM_FIELD, document_sha256

    doc[CHECKSUM_FIELD] = document_sha256({k: v for k, v in doc.items() if k != CHECKSUM_FIELD})
    path.write_text(json.dumps(doc))
    assert load_menu(path).config.priced_init == "items"


def test_bench_and_train_pass_the_size_start_through(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["bench", "menus-cats", "--distributions", "L1", "--items", "6", "--kinds", "priced",
                              "--seeds", "1", "--batch-size", "16", "--train-pool", "64", "--val-size", "64",
                              "--test-size", "32", "--milp-buyers", "0", "--priced-steps", "2",
                              "--priced-offers", "2", "--priced-init", "size", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["runs"][0]["config"]["priced_init"] == "size"
    assert data["command"].endswith("--priced-init size")
    out = tmp_path / "s.json"
    res = runner.invoke(cli, ["menus", "train", "--valuation", "xor", "--items", "6", "--atoms", "3", "--kind", "priced",
                              "--relaxation", "softmax", "--menu-size", "2", "--steps", "2", "--batch-size", "64",
                              "--val-size", "64", "--test-size", "64", "--milp-buyers", "0", "--priced-init", "size",
                              "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["config"]["priced_init"] == "size"
    assert load_menu(out).config.priced_init == "size"
