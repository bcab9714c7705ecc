"""The example auctions ship as package data: identical to data/, listed by ``mechopt examples``,
read as ``example:NAME``, and present in a wheel installed outside the repository."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner

from mechopt.cli import cli
from mechopt.examples import example_path, list_examples

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


def test_package_copies_equal_the_repository_files():
    repo = sorted(DATA.glob("*.json")) + sorted((DATA / "cats").glob("*.txt"))
    shipped = list_examples()
    assert len(shipped) == len(repo)
    for path in repo:
        name = path.stem if path.parent == DATA else f"cats/{path.stem}"
        assert shipped[name].read_bytes() == path.read_bytes(), f"mechopt/examples differs from {path}"
    assert (ROOT / "mechopt" / "examples" / "cats" / "README.md").read_bytes() == (DATA / "cats" / "README.md").read_bytes()


def test_examples_lists_them_and_example_name_is_read():
    res = CliRunner().invoke(cli, ["examples", "--json"])
    assert res.exit_code == 0
    names = [r["name"] for r in json.loads(res.stdout)]
    assert "example:default" in names and "example:cats/L2_s0000" in names
    res = CliRunner().invoke(cli, ["solve", "example:default", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["proven_optimal"] is True
    assert example_path("L2_s0000") == example_path("cats/L2_s0000")
    res = CliRunner().invoke(cli, ["solve", "example:nope"])
    assert res.exit_code == 1 and "no example named 'nope'" in res.stderr


@pytest.mark.slow
def test_wheel_installed_outside_the_repository_ships_the_examples(tmp_path):
    """Build the wheel offline, install it without dependencies into a fresh venv whose
    dependencies come from this environment (its site-packages listed in a .pth file: neither
    a download nor this environment's own mechopt, whose editable-install hook lives in a .pth
    file that a listed directory does not run), and run it from a temporary directory."""
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "--no-index", "-q", "-w", str(wheels), str(ROOT)],
                           capture_output=True, text=True, cwd=tmp_path)
    if build.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {build.stderr.strip()[-300:]}")
    (wheel,) = wheels.glob("mechopt-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    venv_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip()
    parent = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    Path(venv_site, "parent-environment.pth").write_text("".join(f"{p}\n" for p in parent))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    installed = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall",
                                "--ignore-installed", "-q", str(wheel)], cwd=tmp_path, env=env,
                               capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    found = subprocess.run([str(python), "-c", "import mechopt; print(mechopt.__file__)"], env=env, cwd=work,
                           capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    where = found.stdout.strip()
    assert Path(where).resolve().is_relative_to(venv.resolve()), where
    mechopt = str(bindir / "mechopt")
    listed = subprocess.run([mechopt, "examples"], env=env, cwd=work, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert "example:default" in listed.stdout and "example:cats/L2_m0000" in listed.stdout
    solved = subprocess.run([mechopt, "solve", "example:default", "--json"], env=env, cwd=work,
                            capture_output=True, text=True)
    assert solved.returncode == 0, solved.stderr
    assert json.loads(solved.stdout)["proven_optimal"] is True
