"""Menu settings and the menus CLI without torch (these tests never import torch)."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from mechopt.cli.menus import CLI_FLAGS, config_command
from mechopt.menus.config import KNOWN_OPTIMA, MenuConfig, bundleflow_failure_config, known_optimum


@pytest.mark.parametrize("changes, message", [
    (dict(menu_size=0), "menu size K"),
    (dict(n_items=0), "number of items"),
    (dict(valuation="cubic"), "unknown valuation 'cubic'"),
    (dict(relaxation="magic"), "unknown relaxation"),
    (dict(kind="auction"), "unknown kind"),
    (dict(device="tpu"), "unknown device"),
    (dict(temperature=0.0), "temperature must be a positive"),
    (dict(lr=float("nan")), "lr must be a positive"),
    (dict(ir_penalty=-1.0), "ir_penalty must be a non-negative"),
    (dict(steps=1.5), "steps must be an integer"),
    (dict(valuation="xor", n_items=20), "need m <= 12"),
    (dict(valuation="generated", distribution="L9"), "unknown distribution"),
    (dict(n_atoms=True), "number of atoms"),
])
def test_bad_settings_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        MenuConfig(**changes)


def test_config_round_trip_and_unknown_keys():
    config = bundleflow_failure_config(seed=4, name="x")
    assert MenuConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ValueError, match="unknown menu setting"):
        MenuConfig.from_dict({**config.to_dict(), "momentum": 0.9})
    # XOR bundles need no 2^m enumeration, so m = 50 is fine
    assert MenuConfig(valuation="xor", kind="bundle", n_items=50).n_items == 50


def test_known_optima():
    assert known_optimum("additive", 2) == pytest.approx(0.549201, abs=1e-6)
    assert known_optimum("unit-demand", 2) == pytest.approx(0.384900, abs=1e-6)
    assert known_optimum("triangle", 2) == pytest.approx(0.384900, abs=1e-6)
    assert known_optimum("additive", 1) == 0.25 and known_optimum("xor", 2) is None
    # Manelli-Vincent: items at 2/3, bundle at (4 - sqrt 2)/3 for U[0,1]^2 (checked by
    # integrating the menu's revenue over a fine grid of buyers)
    import numpy as np

    g = (np.arange(2000) + 0.5) / 2000
    v1, v2 = np.meshgrid(g, g)
    prices = np.array([2 / 3, 2 / 3, (4 - np.sqrt(2)) / 3])
    utilities = np.stack([v1 - prices[0], v2 - prices[1], v1 + v2 - prices[2]])
    best = utilities.argmax(axis=0)
    paid = np.where(utilities.max(axis=0) >= 0, prices[best], 0.0)
    assert paid.mean() == pytest.approx(KNOWN_OPTIMA[("additive", 2)], abs=2e-4)


def test_config_command_reproduces_the_config():
    assert config_command(MenuConfig()) == "mechopt menus train"
    assert (config_command(bundleflow_failure_config(price_cap=True), "bundleflow-failure")
            == "mechopt menus train --preset bundleflow-failure --price-cap")
    cmd = config_command(MenuConfig(valuation="xor", n_atoms=20, kind="bundle", menu_size=8))
    assert cmd == "mechopt menus train --valuation xor --atoms 20 --menu-size 8 --kind bundle"
    assert set(CLI_FLAGS) <= set(MenuConfig.__dataclass_fields__)


NO_TORCH = """
import sys
sys.modules['torch'] = None  # any 'import torch' now raises ImportError
from mechopt.cli import main
main(sys.argv[1:])
"""


def run_without_torch(*args):
    return subprocess.run([sys.executable, "-c", NO_TORCH, *args], capture_output=True, text=True,
                          timeout=120)


def test_cli_starts_without_torch():
    help_ = run_without_torch("menus", "train", "--help")
    assert help_.returncode == 0 and "--relaxation" in help_.stdout
    train = run_without_torch("menus", "train", "--steps", "1")
    assert train.returncode == 1
    assert "pip install 'mechopt[menus]'" in train.stderr
    assert "Traceback" not in train.stderr
    other = run_without_torch("generate", "--help")
    assert other.returncode == 0


def test_study_rows_show_spread_target_and_missing_target():
    from types import SimpleNamespace

    from mechopt.cli.menus import _markdown_table, _study_row

    hit = SimpleNamespace(label="a", hard=[0.2, 0.25], hard_mean=0.225, soft_mean=0.3, ir_violation_rate=0.1,
                          target=0.25, share_of_target=0.9, seconds=1.23)
    assert _study_row(hit, True, missing="–") == ["a", "0.2250 [0.200, 0.250]", "0.3000", "0.100", "0.250000",
                                                  "90.00%", "1.2"]
    none = SimpleNamespace(**{**vars(hit), "hard": [0.2], "target": None})
    assert _study_row(none, True, missing="-")[1:2] + _study_row(none, True, missing="-")[4:6] == ["0.2250", "-", "-"]
    assert _study_row(none, False, missing="-") == ["a", "0.2250", "0.3000", "0.100", "1.2"]
    assert _markdown_table([hit], True).splitlines()[2].startswith("| a | 0.2250 [0.200, 0.250] |")


def test_the_old_bundleflow_spellings_are_deprecated_aliases():
    from mechopt.cli.menus import build_config
    from mechopt.menus.config import seed_config, upgrade_settings

    with pytest.warns(DeprecationWarning) as caught:
        config = MenuConfig(relaxation="seed", schedule="seed")
    assert [str(w.message) for w in caught] == [
        "relaxation 'seed' is deprecated; use 'bundleflow'", "schedule 'seed' is deprecated; use 'bundleflow'"]
    assert (config.relaxation, config.schedule) == ("bundleflow", "bundleflow")
    assert config.uses_bundleflow_schedule
    old = {**bundleflow_failure_config().to_dict(), "relaxation": "seed"}
    for name in ("bundleflow_lambda", "bundleflow_lambda_growth", "bundleflow_lambda_every", "bundleflow_lambda_max"):
        old[name.replace("bundleflow", "seed")] = old.pop(name)
    assert upgrade_settings(old) == bundleflow_failure_config().to_dict()
    assert MenuConfig.from_dict(old) == bundleflow_failure_config()  # stored files: no warning
    assert seed_config is bundleflow_failure_config
    assert build_config("seed", {}) == bundleflow_failure_config()
    assert config_command(bundleflow_failure_config(), "seed") == "mechopt menus train --preset bundleflow-failure"


def test_the_cli_takes_the_old_spellings_with_a_warning():
    from click.testing import CliRunner

    from mechopt.cli import cli

    result = CliRunner().invoke(cli, ["bench", "--help"])
    assert "menus-bundleflow" in result.output and "menus-seed" not in result.output
    result = CliRunner().invoke(cli, ["bench", "menus-seed", "--help"])
    assert result.exit_code == 0 and "BundleFlow" in result.output
    from mechopt.cli.menus import DeprecatedChoice
    from mechopt.menus.config import DEPRECATED_CHOICES, PRESETS

    choice = DeprecatedChoice(PRESETS, DEPRECATED_CHOICES["preset"])
    option = click.Option(["--preset"], type=choice)
    with pytest.warns(DeprecationWarning, match="--preset seed is deprecated; use --preset bundleflow-failure"):
        assert choice.convert("seed", option, None) == "bundleflow-failure"
    assert "seed" not in choice.get_metavar(option, click.Context(click.Command("x")))
