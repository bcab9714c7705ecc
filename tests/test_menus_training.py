"""Short training runs that can fail meaningfully, menu files, and the menus CLI."""

from __future__ import annotations

import json
import warnings

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from mechopt.cli import cli  # noqa: E402
from mechopt.io.checksum import document_sha256  # noqa: E402
from mechopt.menus.config import MenuConfig, bundleflow_failure_config  # noqa: E402
from mechopt.menus.evaluate import RevenueGapWarning  # noqa: E402
from mechopt.menus.reference import compare_with_reference, exact_reference  # noqa: E402
from mechopt.menus.store import MenuFileError, load_menu, save_menu  # noqa: E402
from mechopt.menus.trainer import resolve_device, train_menu  # noqa: E402

pytestmark = pytest.mark.menus

SMALL = dict(val_size=4096, test_size=16384, eval_every=50)


@pytest.fixture(scope="module")
def one_item(tmp_path_factory):
    """1 item, U[0,1]: the optimum 0.25 (price 1/2) is reached in a few hundred steps."""
    return train_menu(MenuConfig(n_items=1, menu_size=4, steps=300, batch_size=1024, **SMALL))


def test_one_item_reaches_the_optimum(one_item):
    m = one_item.metrics
    assert m.hard_revenue == pytest.approx(0.25, abs=4 * m.hard_revenue_se + 0.003)
    assert abs(m.gap) < 0.01
    assert one_item.history[0].step == 0 and one_item.history[-1].step == 299
    best = max(p.hard_revenue for p in one_item.history)
    assert one_item.validation.hard_revenue == pytest.approx(best)


def test_seed_failure_and_a_remedy():
    """The BundleFlow-failure configuration ends with every price at the bound 10 and hard revenue 0
    while the soft revenue is ~5.6; a temperature relative to the value scale fixes it."""
    with pytest.warns(RevenueGapWarning, match="runs .* above the hard revenue"):
        failed = train_menu(bundleflow_failure_config(batch_size=512, **SMALL))
    assert failed.metrics.hard_revenue == 0.0
    assert failed.metrics.soft_revenue > 4.0
    assert failed.metrics.ir_violation_rate > 0.5
    assert torch.allclose(failed.menu.prices.detach(), torch.full((4,), 10.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RevenueGapWarning)
        fixed = train_menu(bundleflow_failure_config(batch_size=512, relaxation="rochetnet", straight_through=True,
                                       steps=400, **SMALL))
    # the best deterministic menu earns ~0.385 (grand bundle at 1/sqrt(3) alone: 0.3849)
    assert fixed.metrics.hard_revenue > 0.36
    assert abs(fixed.metrics.gap) < 0.02


def test_in_sample_training_matches_the_milp_reference():
    """Trained on a fixed pool of 25 XOR buyers, a bundle menu earns at least 95 % of the
    exact best deterministic menu on that pool (and can never beat it)."""
    config = MenuConfig(valuation="xor", n_atoms=2, kind="bundle", menu_size=6, train_pool=25,
                        batch_size=25, steps=600, lr=0.02, **SMALL)
    trained = train_menu(config)
    cmp = compare_with_reference(trained.menu, config, test_size=4096)
    assert cmp.reference_is_training_pool and cmp.n_reference_buyers == 25
    assert cmp.milp_status == "optimal"
    assert cmp.menu_in_sample <= cmp.milp_in_sample + 1e-6
    assert cmp.ratio_in_sample > 0.95


def _test_revenue(config, prices):
    """Revenue per buyer of bundle ``prices`` on the config's test stream, recomputed."""
    from mechopt.mechanisms.pricing import pricing_revenue
    from mechopt.menus.reference import bundle_value_matrix
    from mechopt.menus.trainer import make_generators
    from mechopt.menus.valuations import make_valuation

    dev = torch.device("cpu")
    valuation = make_valuation(config, dev)
    test = valuation.sample(config.test_size, make_generators(config.seed, dev)["test"])
    return pricing_revenue(bundle_value_matrix(valuation, test), list(prices.values()))


def test_exact_reference_and_the_reference_command():
    """The best deterministic menu on 30 XOR buyers (numbers of ``mechopt menus reference``
    before its solve moved into the library) and the command printing it."""
    config = MenuConfig(valuation="xor", n_items=2, n_atoms=2, distribution="L4", seed=0, test_size=2000,
                        device="cpu")
    ref = exact_reference(config, 30)
    assert ref.is_optimal and ref.status == "optimal"
    assert (ref.n_buyers, ref.n_test_buyers) == (30, 2000)
    assert list(ref.prices) == ["{0}", "{1}", "{0,1}"]
    assert ref.in_sample_revenue == pytest.approx(0.4716380715370198, abs=1e-6)
    # the optimal revenue is unique, the optimal prices need not be (which optimum HiGHS
    # returns may depend on its thread count): the test revenue is that of the prices found
    assert ref.test_revenue == pytest.approx(_test_revenue(config, ref.prices), abs=1e-12)
    res = CliRunner().invoke(cli, ["menus", "reference", "--buyers", "30", "--test-size", "2000", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    expected = ref.to_dict()
    for key in ("seconds", "prices", "test_revenue"):
        del expected[key]
    assert data["test_revenue"] == pytest.approx(_test_revenue(config, data.pop("prices")), abs=1e-12)
    del data["seconds"], data["test_revenue"]
    assert data == expected
    too_big = CliRunner().invoke(cli, ["menus", "reference", "--items", "5"])
    assert too_big.exit_code == 1 and "limited to m <= 4 items" in too_big.output


def test_menu_file_round_trip_and_refusals(one_item, tmp_path):
    path = save_menu(one_item, tmp_path / "m.json")
    stored = load_menu(path)
    assert stored.config == one_item.config
    assert torch.equal(stored.menu.prices, one_item.menu.prices.detach())
    assert torch.equal(stored.menu.logits, one_item.menu.logits.detach())
    assert stored.test_metrics["hard_revenue"] == one_item.metrics.hard_revenue
    doc = json.loads(path.read_text())
    assert set(doc["versions"]) >= {"mechopt", "torch", "numpy", "python"}
    assert doc["training"]["seconds"] > 0 and doc["config"]["seed"] == 0

    truncated = tmp_path / "truncated.json"
    truncated.write_text(path.read_text()[:200])
    with pytest.raises(MenuFileError, match="corrupt menu file"):
        load_menu(truncated)
    edited = dict(doc)
    edited["menu"] = dict(doc["menu"], prices=[p + 0.1 for p in doc["menu"]["prices"]])
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    with pytest.raises(MenuFileError, match="checksum"):
        load_menu(tmp_path / "edited.json")
    mismatched = dict(doc, config=dict(doc["config"], menu_size=5))
    mismatched["sha256"] = document_sha256(mismatched)  # signed, but inconsistent
    (tmp_path / "mismatch.json").write_text(json.dumps(mismatched))
    with pytest.raises(MenuFileError, match="does not match its settings"):
        load_menu(tmp_path / "mismatch.json")
    (tmp_path / "other.json").write_text(json.dumps({"items": []}))
    with pytest.raises(MenuFileError, match="not a mechopt menu"):
        load_menu(tmp_path / "other.json")
    with pytest.raises(MenuFileError, match="no such"):
        load_menu(tmp_path / "missing.json")


def test_device_selection():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_cli_train_and_evaluate(tmp_path):
    runner = CliRunner()
    out = tmp_path / "menu.json"
    plot = tmp_path / "curve.png"
    result = runner.invoke(cli, [
        "menus", "train", "--items", "1", "--menu-size", "2", "--steps", "60", "--batch-size", "512",
        "--val-size", "2048", "--test-size", "4096", "--device", "cpu", "--out", str(out),
        "--plot", str(plot), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("hard_revenue", "soft_revenue", "gap", "ir_violation_rate", "seconds"):
        assert isinstance(data[key], float)
    assert data["model"] == str(out) and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = runner.invoke(cli, ["menus", "evaluate", str(out), "--device", "cpu", "--json"])
    assert again.exit_code == 0, again.output
    # the model's own test sample gives back the manifest's numbers
    assert json.loads(again.stdout)["hard_revenue"] == pytest.approx(data["hard_revenue"])
    fresh = runner.invoke(cli, ["menus", "evaluate", str(out), "--seed", "5", "--test-size", "1000", "--json"])
    assert fresh.exit_code == 0 and json.loads(fresh.stdout)["n_buyers"] == 1000


@pytest.mark.parametrize("args, message", [
    (["--menu-size", "0"], "menu size K must be an integer >= 1"),
    (["--items", "0"], "number of items must be an integer >= 1"),
    (["--valuation", "cubic"], "Invalid value for '--valuation'"),
    (["--temperature", "-1"], "temperature must be a positive number"),
    (["--valuation", "xor", "--items", "13"], "need m <= 12"),
])
def test_cli_bad_settings(args, message):
    result = CliRunner().invoke(cli, ["menus", "train", "--no-save", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on machines without CUDA")
def test_cli_cuda_without_cuda():
    result = CliRunner().invoke(cli, ["menus", "train", "--no-save", "--steps", "1", "--device", "cuda"])
    assert result.exit_code == 1
    assert "CUDA is not available" in result.output


def test_cli_evaluate_refuses_a_corrupt_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(cli, ["menus", "evaluate", str(bad)])
    assert result.exit_code == 1 and "corrupt menu file" in result.output
