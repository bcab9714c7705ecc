"""Every command with ``--json`` prints one strict JSON document on stdout — on success, under
a tiny time limit and on an error — and nothing else.

The commands are enumerated from the click tree: a new ``--json`` command fails
:func:`test_every_json_command_has_cases` until it gets cases here.  The sweep runs in
process (click's CliRunner, with pytest's ``capfd`` checking that nothing reached file
descriptor 1 behind click's back); the HiGHS banner, printed once per process, and the
file-descriptor safety net are checked in fresh subprocesses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mechopt.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SMALL = str(DATA / "cats" / "L4_s0000.txt")
BIG = str(DATA / "cats" / "arbitrary_m0000.txt")
MENU = str(ROOT / "models" / "menu-additive-m2-K32-lottery-rochetnet-s0.json")
TINY_MENU = ("--steps", "3", "--batch-size", "32", "--val-size", "32", "--test-size", "32", "--eval-every", "1",
             "--menu-size", "4", "--no-save")


def _strict(text: str):
    def refuse(name: str):
        raise ValueError(f"{name} in JSON output")

    return json.loads(text, parse_constant=refuse)


def json_commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[str]:
    """Every command of the tree that has a ``--json`` option, as ``"bench wdp"`` etc.
    (hidden commands, the deprecated names of others, excepted)."""
    found = []
    for name, command in sorted(group.commands.items()):
        if command.hidden:
            continue
        path = (*prefix, name)
        if isinstance(command, click.Group):
            found += json_commands(command, path)
        elif any("--json" in p.opts for p in command.params):
            found.append(" ".join(path))
    return found


#: per command: (kind, arguments after the command name, allowed exit codes).  "limit" runs
#: use a tiny time limit (any exit 1 must print {"error": ...} too); "error" runs must exit 1 with {"error": ...} on stdout and one line
#: on stderr; "usage" runs are refused by click (exit 2) with stdout empty or {"error": ...}.
CASES: dict[str, list[tuple[str, tuple[str, ...], set[int]]]] = {
    "solve": [
        ("success", (SMALL,), {0}),
        ("limit", (BIG, "--payments", "none", "--time-limit", "0.001"), {0, 3}),
        ("error", ("missing.json",), {1}),
    ],
    "audit": [
        ("success", (str(DATA / "shill_example.json"),), {0}),
        ("limit", (SMALL, "--time-limit", "0.001"), {0, 3}),
        ("error", ("{tmp}/bad.txt",), {1}),
    ],
    "examples": [
        ("success", (), {0}),
        ("usage", ("unexpected",), {2}),
    ],
    "bench wdp": [
        ("success", (SMALL, "--repeat", "1", "--no-vcg"), {0}),
        ("error", ("{tmp}/bad.txt", "--repeat", "1", "--no-vcg"), {1}),
    ],
    "bench core": [
        ("success", (SMALL, "--jobs", "1"), {0}),
        ("limit", (SMALL, "--jobs", "1", "--time-limit", "0.001"), {0, 3}),
        ("error", ("{tmp}/bad.txt", "--jobs", "1"), {1}),
    ],
    "bench audit": [
        ("success", ("-d", "L2", "--items", "4", "--bids", "6", "--auctions", "2"), {0}),
        ("limit", ("-d", "L2", "--items", "4", "--bids", "6", "--auctions", "2", "--time-limit", "0.001"), {0, 3}),
        ("error", ("-d", "L2", "--items", "4", "--bids", "6", "--auctions", "2", "--jobs", "0"), {1}),
    ],
    "bench domains": [
        ("success", ("--instances", "3", "--jobs", "1", "--task", "mmca-greedy"), {0}),
        ("error", ("--instances", "3", "--jobs", "0", "--task", "mmca-greedy"), {1}),
    ],
    "bench learn": [
        ("success", ("--sizes", "12", "--test", "5"), {0}),
        ("error", ("--sizes", "1", "--test", "5"), {1}),
    ],
    "payments evaluate": [
        ("success", ("--domain", "single-item", "--test", "5", "--no-cache"), {0}),
        ("limit", ("--domain", "mmca", "--rule", "optimal", "--test", "3", "--no-cache", "--time-limit", "0.001"),
         {0, 1, 3}),  # unproven labels are refused (exit 1) unless the MILPs finish within the
        # limit; under load a later solve may hit it instead (exit 3)
        ("error", ("{tmp}/missing-model.json",), {1}),
    ],
    "payments learn": [
        ("success", ("--domain", "single-item", "--train", "10", "--validation", "5", "--test", "5", "--C", "1000",
                     "--no-save", "--no-cache"), {0}),
        ("error", ("--domain", "single-item", "--train", "10", "--validation", "5", "--test", "0", "--C", "1000",
                   "--no-cache", "--jobs", "0"), {1}),
    ],
    "payments reproduce": [
        ("success", ("single-item", "--table-only", "--out", str(ROOT / "models" / "payments")), {0}),
        ("error", ("single-item", "--table-only", "--out", "{tmp}"), {1}),
    ],
    "menus train": [
        ("success", TINY_MENU, {0}),
        ("error", (*TINY_MENU, "--init-price", "1e38"), {1}),  # diverges at step 0
        ("success", (*TINY_MENU, "--valuation", "xor", "--items", "6", "--kind", "priced", "--relaxation", "softmax",
                     "--milp-buyers", "0"), {0}),
        ("error", (*TINY_MENU, "--kind", "priced"), {1}),  # priced menus need XOR buyers
    ],
    "menus evaluate": [
        ("success", (MENU, "--test-size", "32", "--device", "cpu"), {0}),
        ("limit", (MENU, "--test-size", "32", "--device", "cpu", "--reference", "30", "--time-limit", "0.001"),
         {0, 3}),
        ("error", ("{tmp}/missing-menu.json",), {1}),
    ],
    "menus show": [
        ("success", (MENU, "--test-size", "32", "--device", "cpu"), {0}),
        ("error", ("{tmp}/missing-menu.json",), {1}),
    ],
    "menus reference": [
        ("success", ("--buyers", "5", "--test-size", "32"), {0}),
        ("limit", ("--buyers", "100", "--test-size", "32", "--time-limit", "0.001"), {0, 3}),
        ("error", ("--items", "20", "--test-size", "32"), {1}),
    ],
    "bench menus": [
        ("success", ("--items", "2", "--menu-sizes", "4", "--batch-size", "16", "--steps", "1", "--target-seeds", "0"),
         {0}),
        ("usage", ("--items", "2,x", "--menu-sizes", "4", "--steps", "1", "--target-seeds", "0"), {2}),
    ],
    "bench menus-bundleflow": [
        ("success", ("--seeds", "1", "--steps", "2", "--test-size", "32"), {0}),
        ("error", ("--seeds", "1", "--steps", "2", "--test-size", "32", "--jobs", "0"), {1}),
    ],
    "bench menus-goals": [
        ("success", ("--test-size", "32"), {0}),
        ("error", ("--test-size", "32", "--jobs", "0"), {1}),
    ],
    "bench menus-cats": [
        ("success", ("--distributions", "L1", "--items", "4", "--seeds", "1", "--steps", "2", "--menu-size", "2",
                     "--batch-size", "8", "--train-pool", "16", "--val-size", "16", "--test-size", "16",
                     "--milp-buyers", "4", "--milp-time-limit", "5"), {0}),
        ("usage", ("--distributions", "nope", "--items", "4", "--seeds", "1"), {2}),
        ("success", ("--distributions", "L1", "--items", "4", "--kinds", "priced", "--seeds", "1", "--batch-size", "8",
                     "--train-pool", "16", "--val-size", "16", "--test-size", "16", "--milp-buyers", "0",
                     "--priced-steps", "2", "--priced-offers", "2"), {0}),
        ("usage", ("--kinds", "mixture,nope", "--items", "4", "--seeds", "1"), {2}),
    ],
    "bench menus-device": [
        ("success", ("--device", "cpu", "--items", "4", "--menu-size", "2", "--batch-size", "8", "--steps", "1"),
         {0}),
        ("error", ("--device", "cuda", "--items", "4", "--menu-size", "2", "--batch-size", "8", "--steps", "1"),
         {0, 1}),  # exit 1 without CUDA (exit 0 on a machine with a GPU)
        ("usage", ("--items", "0"), {2}),
    ],
    "bench menus-reference": [
        ("success", ("--seeds", "1", "--buyers", "5"), {0}),
        ("limit", ("--seeds", "1", "--buyers", "40", "--time-limit", "0.001"), {0, 3}),
        ("usage", ("--seeds", "1", "--buyers", "5", "--atoms", "0"), {2}),
    ],
}


def test_every_json_command_has_cases():
    assert set(json_commands()) == set(CASES), "add success/limit/error cases for the new --json commands"
    for name, cases in CASES.items():
        kinds = {kind for kind, _, _ in cases}
        assert "success" in kinds and kinds & {"error", "usage"}, name


@pytest.fixture
def tiny_studies(monkeypatch, tmp_path):
    """Shrink the built-in menu studies (thousands of steps on large samples) to a few steps."""
    from mechopt.benchmarks import menus as studies
    from mechopt.menus.config import MenuConfig

    small = dict(steps=2, batch_size=32, val_size=32, test_size=32, eval_every=1)
    goals = [replace(r, config=r.config.replace(**small)) for r in studies.goal_rows()[::5]]
    seeds = [replace(r, config=r.config.replace(**small)) for r in studies.bundleflow_remedy_rows(2)[:2]]
    monkeypatch.setattr(studies, "goal_rows", lambda: goals)
    monkeypatch.setattr(studies, "bundleflow_remedy_rows", lambda steps: seeds)
    class TinyConfig(MenuConfig):  # still a dataclass (fields() and replace() work on it)
        def __init__(self, **kw):
            super().__init__(**{**kw, "steps": 2, "val_size": 32, "test_size": 32})

    monkeypatch.setattr("mechopt.cli.menus.MenuConfig", TinyConfig)
    monkeypatch.setenv("MECHOPT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "bad.txt").write_text("goods 2\ndummy 0\n0 1.0 7 #\n")


@pytest.mark.parametrize("case", [(name, k) for name, cases in CASES.items() for k in range(len(cases))],
                         ids=lambda c: f"{c[0]}-{CASES[c[0]][c[1]][0]}")
def test_json_output_is_strict_json_and_nothing_else(case, tmp_path, capfd, tiny_studies):
    name, k = case
    kind, args, codes = CASES[name][k]
    argv = [*name.split(), *(a.replace("{tmp}", str(tmp_path)) for a in args), "--json"]
    result = CliRunner().invoke(cli, argv)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in codes, (argv, result.output, result.stderr)
    leaked = capfd.readouterr().out
    assert leaked == "", f"printed to file descriptor 1 behind click: {leaked[:200]!r}"
    if result.exit_code == 2 and result.stdout == "":  # refused by click while parsing the options
        return
    data = _strict(result.stdout)
    if result.exit_code in (1, 2):
        assert set(data) == {"error"} and data["error"], data
    if result.exit_code == 1:
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr


def test_non_finite_values_become_null_and_are_named():
    """``menus reference`` under a time limit that stops before any solution: the prices and
    the revenue are NaN; they print as null, listed under ``non_finite``."""
    result = CliRunner().invoke(cli, ["menus", "reference", "--buyers", "100", "--test-size", "32",
                                      "--time-limit", "0.001", "--json"])
    assert result.exit_code == 3, result.output
    data = _strict(result.stdout)
    if data["in_sample_revenue"] is None:
        assert "in_sample_revenue" in data["non_finite"]
        assert "non-finite" in result.stderr
    from mechopt.cli.options import json_text

    text = json_text([{"a": float("nan"), "b": [1.0, float("inf")]}, {"c": 2}])
    assert _strict(text) == [{"a": None, "b": [1.0, None], "non_finite": ["a", "b[1]"]}, {"c": 2}]


def _run(args: list[str], tmp_path: Path, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MECHOPT_CACHE": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)


CLI = "from mechopt.cli import main; main()"


@pytest.mark.parametrize("argv", [
    ["payments", "learn", "--domain", "mmca", "--rule", "greedy", "--agents", "2", "--items", "2", "--train", "10",
     "--validation", "5", "--test", "5", "--C", "1000", "--rbf-gamma", "0.01", "--no-save", "--no-cache", "--json"],
    ["bench", "learn", "--sizes", "10", "--agents", "2", "--items", "2", "--test", "5", "--json"],
], ids=["payments-learn", "bench-learn"])
def test_no_highs_banner_before_the_json(argv, tmp_path):
    """HiGHS prints its banner from C when a process creates its first Highs(); in a fresh
    process the CVXPY dual QP of the learner used to put it in front of the JSON."""
    proc = _run(argv, tmp_path, CLI)
    assert proc.returncode == 0, proc.stderr
    assert "HiGHS" not in proc.stdout
    _strict(proc.stdout)


def test_json_commands_print_stray_output_to_stderr(tmp_path):
    """The safety net: under --json, C-level and Python prints of libraries go to stderr."""
    code = textwrap.dedent("""
        import os, click
        from mechopt.cli.options import json_option, print_json

        @click.command()
        @json_option
        def stray(as_json):
            os.write(1, b"C-level chatter\\n")
            print("python chatter")
            print_json({"x": float("nan")})

        stray()
    """)
    proc = _run(["--json"], tmp_path, code)
    assert proc.returncode == 0, proc.stderr
    assert _strict(proc.stdout) == {"x": None, "non_finite": ["x"]}
    assert "C-level chatter" in proc.stderr and "python chatter" in proc.stderr
    assert "C-level chatter" in _run([], tmp_path, code).stdout  # without --json, stdout is not guarded
