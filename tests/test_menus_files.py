"""Menu files: every result-affecting field is checksummed, format 1 is upgraded, and a
training run with default settings never touches the committed models under ``models/``."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from mechopt.cli import cli  # noqa: E402
from mechopt.io.checksum import document_sha256  # noqa: E402
from mechopt.menus.config import MenuConfig  # noqa: E402
from mechopt.menus.store import MenuFileError, load_menu, save_menu, upgrade_menu  # noqa: E402
from mechopt.menus.trainer import train_menu  # noqa: E402

pytestmark = pytest.mark.menus

REPO = Path(__file__).parents[1]
TINY = ["--steps", "3", "--batch-size", "64", "--val-size", "128", "--test-size", "128", "--eval-every", "3",
        "--device", "cpu"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    config = MenuConfig(valuation="xor", n_atoms=2, kind="bundle", menu_size=4, steps=3, batch_size=64,
                        val_size=128, test_size=128, eval_every=3)
    return save_menu(train_menu(config), tmp_path_factory.mktemp("menu") / "m.json")


def _edit(saved, tmp_path, field, value=None, *, delete=False, resign=False):
    doc = json.loads(saved.read_text())
    *parents, last = field.split(".")
    node = doc
    for part in parents:
        node = node[part]
    if delete:
        del node[last]
    else:
        assert node[last] != value
        node[last] = value
    if resign:
        doc["sha256"] = document_sha256(doc)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc, indent=1))
    return path


@pytest.mark.parametrize("field, value", [
    ("config.valuation", "additive"), ("config.n_atoms", 3), ("training.inverse_temperature", 0.5),
    ("config.seed", 7), ("menu.prices", [0.0, 0.0, 0.0, 0.0]), ("menu.dtype", "float64"),
])
def test_an_edited_field_is_refused(saved, tmp_path, field, value):
    with pytest.raises(MenuFileError, match="checksum mismatch"):
        load_menu(_edit(saved, tmp_path, field, value))


@pytest.mark.parametrize("field", ["config.valuation", "config.n_atoms", "config", "menu.prices", "menu",
                                   "training.inverse_temperature", "sha256"])
def test_a_missing_field_is_one_error_naming_it(saved, tmp_path, field):
    path = _edit(saved, tmp_path, field, delete=True, resign=field != "sha256")
    with pytest.raises(MenuFileError, match=rf"{path}: the manifest lacks the field '{field}'"):
        load_menu(path)
    result = CliRunner().invoke(cli, ["menus", "evaluate", str(path), "--device", "cpu"])
    assert result.exit_code == 1 and "Error:" in result.output and "Traceback" not in result.output


def test_a_copied_or_renamed_menu_loads(saved, tmp_path):
    copy = tmp_path / "sub" / "renamed.json"
    copy.parent.mkdir()
    shutil.copy(saved, copy)
    original, renamed = load_menu(saved), load_menu(copy)
    assert torch.equal(original.menu.prices, renamed.menu.prices) and original.config == renamed.config


def test_format_1_is_refused_and_upgraded(saved, tmp_path):
    doc = json.loads(saved.read_text())
    del doc["sha256"]
    payload_text = json.dumps(doc["menu"], sort_keys=True, separators=(",", ":"))
    doc.update(format_version=1, menu_sha256=hashlib.sha256(payload_text.encode()).hexdigest())
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc, indent=1))
    with pytest.raises(MenuFileError, match="mechopt menus upgrade"):
        load_menu(path)
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(dict(doc, menu=dict(doc["menu"], size=5))))
    with pytest.raises(MenuFileError, match="checksum"):
        upgrade_menu(tampered)
    result = CliRunner().invoke(cli, ["menus", "upgrade", str(path)])
    assert result.exit_code == 0 and "upgraded" in result.output
    assert upgrade_menu(path) is False
    assert torch.equal(load_menu(path).menu.prices, load_menu(saved).menu.prices)


def test_the_committed_menus_load():
    paths = sorted((REPO / "models").glob("menu-*.json"))
    assert paths
    for path in paths:
        load_menu(path)


def test_menus_train_with_default_output_leaves_models_alone(tmp_path, monkeypatch):
    """The README's ``mechopt menus train`` once rewrote committed ``models/menu-*.json``."""
    shutil.copytree(REPO / "models", tmp_path / "models")
    before = {p: p.read_bytes() for p in (tmp_path / "models").rglob("*") if p.is_file()}
    monkeypatch.chdir(tmp_path)
    # the preset of a committed menu (whose file name was once exactly the default output)
    result = CliRunner().invoke(cli, ["menus", "train", "--preset", "bundleflow-failure", *TINY, "--json"])
    assert result.exit_code == 0, result.output
    written = Path(json.loads(result.stdout)["model"])
    assert written == Path("runs/menus/menu-xor-m2-a2-K4-bundle-bundleflow-s0.json") and written.exists()
    after = {p: p.read_bytes() for p in (tmp_path / "models").rglob("*") if p.is_file()}
    assert after == before


def test_old_spellings_load_and_upgrade_rewrites_them(tmp_path):
    """Committed menus store relaxation "seed" and seed_lambda*: they load under the new names,
    and ``menus upgrade`` rewrites them (checksum kept valid)."""
    old = REPO / "models" / "menu-xor-m2-a2-K4-bundle-seed-s0.json"
    assert json.loads(old.read_text())["config"]["relaxation"] == "seed"
    path = tmp_path / "old.json"
    shutil.copy(old, path)
    before = load_menu(path)
    assert before.config.relaxation == "bundleflow" and before.config.bundleflow_lambda_max == 0.2
    result = CliRunner().invoke(cli, ["menus", "upgrade", str(path)])
    assert result.exit_code == 0 and "upgraded" in result.output
    doc = json.loads(path.read_text())
    assert doc["config"]["relaxation"] == "bundleflow" and "seed_lambda" not in doc["config"]
    assert load_menu(path).config == before.config
    assert upgrade_menu(path) is False
