"""Human output prints user data literally; bad input and API misuse fail in one clear line;
menu training never reports a NaN menu as a result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mechopt.auction import CombinatorialAuction
from mechopt.cli import cli
from mechopt.formulations.wdp import build_wdp_model
from mechopt.io import InstanceFileError, load_auction
from mechopt.solve import solve_model

# ------------------------------------------------------------------------------------------
# ids printed literally
# ------------------------------------------------------------------------------------------
ESC = "\x1b[31m"
#: the false-name example E1 (b1 bids 100 for AB; X splits into two winners) with hostile ids
ODD = {
    "name": "[bold]odd[/bold]",
    "items": [ESC, "[b]"],
    "bidders": [
        {"id": "evil [/bold] name", "bids": [{"id": "[x]", "items": [ESC, "[b]"], "value": 100}]},
        {"id": "[telco-a]", "bids": [{"id": "bid\x07", "items": [ESC], "value": 80}]},
        {"id": "[i]", "bids": [{"items": ["[b]"], "value": 80}]},
    ],
}


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def odd_file(tmp_path) -> Path:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(ODD))
    return path


def test_literal_escapes_markup_and_control_characters():
    from rich.console import Console

    from mechopt.cli.report import literal

    console = Console(highlight=False, width=200, record=True, force_terminal=False)
    for text, shown in [("[telco-a]", "[telco-a]"), ("[i]", "[i]"), ("evil [/bold] name", "evil [/bold] name"),
                        (f"a{ESC}b", "a\\x1b[31mb"), ("tab\there", "tab\\there"), ("end\\", "end\\x5c"),
                        ("x\\y", "x\\\\y"), ("é ü", "é ü")]:
        console.print(literal(text) + "[bold]![/bold]")
        assert console.export_text().rstrip("\n") == shown + "!"


def test_solve_prints_hostile_ids_literally(odd_file):
    res = run("solve", str(odd_file))
    assert res.exit_code == 0, res.output
    out = res.output
    assert "\x1b" not in out and "\x07" not in out
    for text in ("[bold]odd[/bold]", "[telco-a]", "[i]/0", "\\x1b[31m", "bid\\x07", "[b]"):
        assert text in out, text
    rows = [line for line in out.splitlines() if "│" in line]
    assert any(line.split("│")[0].strip() == "[i]" for line in rows)  # not a blank row


def test_audit_prints_hostile_ids_literally(odd_file):
    res = run("audit", str(odd_file))
    assert res.exit_code == 0, res.output
    out = res.output
    assert "\x1b" not in out
    assert "u[[telco-a]] falls 60 → 0 when [i] is excluded" in out
    assert "u[[i]] falls 60 → 0 when [telco-a] is excluded" in out
    assert "suspected group 1: {[telco-a], [i]}" in out
    assert "without [telco-a]" in out and "evil [/bold] name (80)" in out


def test_audit_evidence_keeps_plain_lowercase_ids(data_dir):
    """``u[b2a]`` was read by rich as a style tag and vanished from the evidence line."""
    out = run("audit", str(data_dir / "false_name_e3_split.json")).output
    assert "u[b2a] falls 5 → 0 when b2b is excluded" in out


def test_a_file_name_and_a_closing_tag_id_print_literally(tmp_path):
    odd = {k: v for k, v in ODD.items() if k != "name"}
    odd["bidders"] = [*ODD["bidders"], {"id": "[/]", "bids": [{"items": ["[b]"], "value": 1}]}]
    path = tmp_path / "[red]odd.json"  # the auction is named after the file
    path.write_text(json.dumps(odd))
    for command in ("solve", "audit"):
        res = run(command, str(path))
        assert res.exit_code == 0, res.output
        assert res.output.startswith("[red]odd: "), res.output


# ------------------------------------------------------------------------------------------
# input errors: one line, naming the problem
# ------------------------------------------------------------------------------------------
def _cli_error(path: Path) -> str:
    res = run("solve", str(path))
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert res.stderr.startswith("Error: ") and res.stderr.count("\n") == 1, res.stderr
    return res.stderr


def test_deeply_nested_json_is_one_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in _cli_error(path)
    with pytest.raises(InstanceFileError, match="nested too deeply"):
        load_auction(path)


def test_duplicate_json_key_is_an_error(tmp_path):
    x, y = ({"id": b, "bids": [{"items": ["a"], "value": 1}]} for b in "xy")
    path = tmp_path / "dup.json"
    path.write_text(f'{{"items": ["a"], "bidders": [{json.dumps(x)}], "bidders": [{json.dumps(y)}]}}')
    assert "duplicate key 'bidders'" in _cli_error(path)
    path.write_text('{"items": ["a"], "bidders": [{"id": "x", "bids": [{"items": ["a"], "value": 1, "value": 2}]}]}')
    assert "duplicate key 'value'" in _cli_error(path)


def test_cats_absurd_goods_count_is_refused(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("goods 1000000000\nbids 1\ndummy 0\n0 1.0 0 #\n")
    assert f"{path}:1: goods count 1000000000 exceeds" in _cli_error(path)


@pytest.mark.parametrize("line, message", [
    ("\u00b2 1.0 0 #", ":4: unexpected line"),  # superscript two: str.isdigit() and int() accept it
    ("0 1.0 \u0663 #", ":4: good '\u0663' is not an integer"),  # Arabic-Indic three
    ("0 \u0661.0 0 #", ":4: price"),
])
def test_cats_non_ascii_digits_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "digits.txt"
    path.write_text(f"goods 2\nbids 1\ndummy 0\n{line}\n", encoding="utf-8")
    assert f"{path}{message}" in _cli_error(path)


def test_string_bundles_and_id_lists_are_type_errors():
    with pytest.raises(TypeError, match="not the string 'ab'"):
        CombinatorialAuction.from_bids(["a", "b"], {"x": [("ab", 1.0)]})
    with pytest.raises(TypeError, match="items must be a collection"):
        CombinatorialAuction.from_bids("ab", {"x": [(["a"], 1.0)]})
    auction = CombinatorialAuction.from_bids(["a"], {"telco-a": [(["a"], 1.0)], "b": [(["a"], 2.0)]})
    with pytest.raises(TypeError, match=r"pass \['telco-a'\]"):
        build_wdp_model(auction, exclude="telco-a")
    with pytest.raises(TypeError, match="must_win"):
        build_wdp_model(auction, must_win="b")
    with pytest.raises(TypeError):
        auction.without("telco-a")
    assert len(build_wdp_model(auction, exclude=["telco-a"]).BIDS) == 1


def test_solve_model_wants_a_pyomo_model():
    with pytest.raises(TypeError, match="expected a Pyomo model"):
        solve_model(None)


# ------------------------------------------------------------------------------------------
# menu training: no NaN menus
# ------------------------------------------------------------------------------------------
TINY = ("menus", "train", "--steps", "3", "--batch-size", "32", "--val-size", "32", "--test-size", "32",
        "--eval-every", "1", "--menu-size", "4", "--no-save")


@pytest.mark.parametrize("option, value, message", [
    ("--temperature", "1e-300", "temperature must be at least 1e-09"),
    ("--ir-penalty", "1e300", "ir_penalty 1e+300 exceeds the largest float32"),
    ("--init-price", "1e300", "init_price 1e+300 exceeds the largest float32"),
    ("--lr", "1e300", "lr 1e+300 exceeds the largest float32"),
    ("--init-price", "1e38", "diverged at step 0: the relaxed objective is nan"),
    ("--lr", "1e30", "diverged at step 1"),
])
def test_menu_training_refuses_non_finite_states(option, value, message):
    pytest.importorskip("torch")
    res = run(*TINY, option, value)
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert res.stderr.startswith("Error: ") and res.stderr.count("\n") == 1, res.stderr
    assert message in res.stderr
    assert "nan" not in res.stdout


def test_trainer_stops_at_the_first_non_finite_objective():
    pytest.importorskip("torch")
    from mechopt.menus.config import MenuConfig
    from mechopt.menus.trainer import NonFiniteTrainingError, train_menu

    config = MenuConfig(steps=3, batch_size=32, val_size=32, test_size=32, menu_size=4, init_price=1e38,
                        device="cpu")
    with pytest.raises(NonFiniteTrainingError, match="step 0"):
        train_menu(config)
