"""``mechopt menus show``: a menu as a table of bundles or lotteries, prices and choice shares."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")

from mechopt.cli import cli  # noqa: E402

pytestmark = pytest.mark.menus

ROOT = Path(__file__).resolve().parent.parent
LOTTERY = ROOT / "models" / "menu-additive-m2-K32-lottery-rochetnet-s0.json"
BUNDLE = ROOT / "models" / "menu-xor-m2-a2-K8-bundle-rochetnet-s0.json"


def _show(path: Path, *extra: str) -> dict:
    res = CliRunner().invoke(cli, ["menus", "show", str(path), "--test-size", "2000", "--device", "cpu",
                                   "--json", *extra])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_bundle_menu_shows_bundles_and_shares_that_add_up():
    data = _show(BUNDLE)
    rows = data["elements"]
    assert len(rows) == data["menu_size"] + 1 and rows[-1]["element"] is None
    for r in rows[:-1]:
        assert set(r["bundle"]) <= set(range(data["n_items"])) and "lottery" not in r
    assert sum(r["buyers"] for r in rows) == pytest.approx(1.0)
    assert sum(r["revenue"] for r in rows) == pytest.approx(1.0)


def test_revenue_shares_match_the_hard_revenue_of_menus_evaluate():
    data = _show(LOTTERY)
    revenue = sum(r["buyers"] * r["price"] for r in data["elements"])
    res = CliRunner().invoke(cli, ["menus", "evaluate", str(LOTTERY), "--test-size", "2000", "--device", "cpu",
                                   "--json"])
    assert revenue == pytest.approx(json.loads(res.stdout)["hard_revenue"], rel=1e-5)
    for r in data["elements"][:-1]:
        assert len(r["lottery"]) == 2 and all(0 <= p <= 1 for p in r["lottery"])


def test_human_table_names_bundles_not_logits():
    res = CliRunner().invoke(cli, ["menus", "show", str(BUNDLE), "--test-size", "500", "--device", "cpu"])
    assert res.exit_code == 0
    assert "bundle (items)" in res.stdout and "{0, 1}" in res.stdout and "nothing" in res.stdout


def test_train_json_includes_the_menu():
    tiny = ("--steps", "3", "--batch-size", "32", "--val-size", "32", "--test-size", "32", "--eval-every", "1",
            "--menu-size", "4", "--no-save", "--device", "cpu")
    res = CliRunner().invoke(cli, ["menus", "train", *tiny, "--json"])
    assert res.exit_code == 0, res.output
    menu = json.loads(res.stdout)["menu"]
    assert len(menu) == 5 and menu[-1]["element"] is None
