"""Exit codes of the CLI: 0 proven, 1 failure, 2 usage, 3 not proven (a limit), 130 Ctrl-C."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import mechopt
import mechopt.audit.economies as economies
from mechopt.cli import EXIT_CODES_HELP, cli
from mechopt.errors import InputError, MechoptError
from mechopt.io import load_auction
from mechopt.solve import SolveResult, SolveStatus, Termination

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SMALL = DATA / "cats" / "L4_s0000.txt"
LIMITED = SolveStatus(Termination.TIME_LIMIT, has_solution=True)


def _commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))


def test_every_help_lists_the_exit_codes():
    runner = CliRunner()
    paths = [path for path, _ in _commands(cli)]
    assert ("audit",) in paths and ("bench", "wdp") in paths
    for path in [(), *paths]:
        text = " ".join(runner.invoke(cli, [*path, "--help"]).output.split())
        assert EXIT_CODES_HELP in text, path


def test_readme_documents_the_exit_codes():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "### Exit codes" in readme
    for line in ("| 3 | not proven optimal", "| 130 | interrupted"):
        assert line in readme


def test_audit_with_unproven_pairs_exits_3_and_says_so(monkeypatch):
    """Pairs W_{-θ,-ι} stopped by a limit: the status line and exit code must show it."""
    real = economies.economy_solver

    class PairsLimited:
        def __init__(self, kept):
            self.kept = kept

        def bound(self, *args, **kwargs):  # the LP bounds of the pruning round
            return self.kept.bound(*args, **kwargs)

        def solve(self, exclude, **kwargs):
            allocation = self.kept.solve(exclude, **kwargs)
            if len(exclude) == 2:
                allocation = replace(allocation, solve=replace(allocation.solve, status=LIMITED))
            return allocation

    monkeypatch.setattr(economies, "economy_solver", lambda *a, **k: PairsLimited(real(*a, **k)))
    result = CliRunner().invoke(cli, ["audit", str(DATA / "shill_example.json")])
    assert result.exit_code == 3, result.output
    assert "optimal (proven" not in result.output
    assert "status: TIME LIMIT (FEASIBLE, NOT PROVEN OPTIMAL)" in result.output


@pytest.mark.parametrize("model", ["pyomo", "kept"])
def test_solver_error_exits_1_with_the_cause(monkeypatch, model):
    import mechopt.mechanisms.wdp as wdp
    from mechopt.mechanisms.resolve import forget_kept_models
    from mechopt.mechanisms.resolve_highs import HighsEconomySolver
    from mechopt.solve import Termination

    def failed(model, *args, **kwargs):
        return SolveResult(SolveStatus.ERROR, None, None, 0.0, "highs", "HiGHS error: singular basis")

    monkeypatch.setattr(wdp, "solve_model", failed)  # every solve of a Pyomo model
    if model == "kept":  # the CLI's main solve and marginal economies: the kept highspy model
        monkeypatch.setattr(HighsEconomySolver, "_run", lambda *a: (Termination.ERROR, False, 0.0))
        monkeypatch.setattr(HighsEconomySolver, "_status_text", lambda self: "singular basis")
    forget_kept_models()
    solver = ["--solver", "appsi_highs"] if model == "pyomo" else []  # a Pyomo name: Pyomo models
    result = CliRunner().invoke(cli, ["solve", str(SMALL), *solver])
    assert result.exit_code == 1
    assert "HiGHS error: singular basis" in result.output
    assert "time limit" not in result.output
    # the audit cannot start either: its verdict gives the solver's words too
    result = CliRunner().invoke(cli, ["audit", str(SMALL), *solver])
    assert result.exit_code == 1
    assert "INCONCLUSIVE" in result.output and "HiGHS error: singular basis" in result.output


def test_not_proven_labels_exit_3():
    args = ["payments", "evaluate", "--domain", "assignment", "--agents", "7", "--test", "2",
            "--no-cache", "--time-limit", "1e-6"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 3, result.output
    assert "raise the time limit" in result.output and "Traceback" not in result.output


def test_menus_evaluate_reference_not_proven_exits_3():
    pytest.importorskip("torch")
    model = ROOT / "models" / "menu-xor-m2-a2-K8-pool150.json"
    args = ["menus", "evaluate", str(model), "--reference", "150", "--time-limit", "0.001",
            "--test-size", "1000", "--device", "cpu"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 3, result.output
    assert "NOT PROVEN" in result.output


def test_keyboard_interrupt_is_exit_130_not_an_error(monkeypatch):
    import mechopt.cli.batch as batch_cli  # solve's runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch_cli, "run_auction", interrupted)
    result = CliRunner().invoke(cli, ["solve", str(SMALL)])
    assert result.exit_code == 130
    assert result.stderr.strip() == "interrupted"
    assert "Aborted" not in result.output and "Error" not in result.output


@pytest.mark.parametrize("as_json", [False, True])
def test_a_bug_keeps_its_traceback(monkeypatch, as_json):
    """A plain ValueError is a bug, not bad input: the CLI does not turn it into one line."""
    import mechopt.cli.batch as solve_cli  # solve's runner

    def buggy(*args, **kwargs):
        raise ValueError("bug")

    monkeypatch.setattr(solve_cli, "run_auction", buggy)
    result = CliRunner().invoke(cli, ["solve", str(SMALL)] + (["--json"] if as_json else []))
    assert isinstance(result.exception, ValueError) and str(result.exception) == "bug"
    assert not isinstance(result.exception, MechoptError)
    assert result.exit_code == 1 and "Error: bug" not in result.output


def test_bad_input_is_one_line_and_still_a_value_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"items": ["a"], "bidders": [{"id": "x", "bids": [{"items": ["b"], "value": 1}]}]}')
    result = CliRunner().invoke(cli, ["solve", str(bad)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ")
    with pytest.raises(InputError) as info:
        load_auction(bad)
    assert isinstance(info.value, ValueError) and isinstance(info.value, MechoptError)


def test_every_error_class_derives_from_mechopt_error():
    from mechopt.auction import AuctionError, ValueRangeError
    from mechopt.io import InstanceFileError
    from mechopt.learning.cutting_plane import NotFittedError, RejectedFit
    from mechopt.learning.payment_rule import ModelFileError
    from mechopt.parallel import ExecutorError
    from mechopt.solve import InfeasibleProblem, NotProvenOptimal, SolverError, SolverNotFound

    for cls in (AuctionError, ValueRangeError, InstanceFileError, RejectedFit, ModelFileError):
        assert issubclass(cls, InputError)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    for cls in (SolverError, SolverNotFound, InfeasibleProblem, NotProvenOptimal, ExecutorError):
        assert issubclass(cls, MechoptError) and issubclass(cls, RuntimeError)
    assert mechopt.MechoptError is MechoptError


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
@pytest.mark.parametrize("command", [
    ["solve", "--payments", "none"], ["audit"], ["audit", "--solver", "gurobi"],
    ["audit", "--solver", "scip"],
], ids=["pyomo-model", "kept-highspy-model", "kept-gurobipy-model", "kept-pyscipopt-model"])
def test_ctrl_c_during_a_solve_exits_130(command):
    package = {"gurobi": "gurobipy", "cplex": "cplex", "scip": "pyscipopt"}.get(command[-1])
    if package is not None and importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from mechopt.cli import main; print('imported', file=sys.stderr, flush=True); main()",
         command[0], str(DATA / "cats" / "arbitrary_m0000.txt"), *command[1:]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )
    # a SIGINT during the imports would be Python's own traceback, not mechopt's: wait for
    # them (however loaded the machine is), then give the model build time to reach HiGHS
    # (the solve alone takes ~10 s; an interrupt during the build exits 130 all the same)
    assert proc.stderr.readline().strip() == "imported"
    time.sleep(2.0)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, (out, err)
    assert err.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in err and "solver error" not in out + err


@pytest.mark.parametrize("as_json", [False, True])
def test_a_reader_that_goes_away_is_not_an_error(monkeypatch, as_json):
    """``mechopt … | head -1``: a write to the closed pipe ends the command quietly, as click
    does it (exit 1, nothing printed), not as a one-line ``Error: [Errno 32] Broken pipe``."""
    import mechopt.cli.batch as batch_cli

    def reader_gone(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(batch_cli, "run_auction", reader_gone)
    result = CliRunner().invoke(cli, ["solve", str(SMALL)] + (["--json"] if as_json else []))
    assert result.exit_code == 1
    assert "Broken pipe" not in result.output and "Error" not in result.output
