"""A real Dask cluster on loopback: ``dask scheduler`` and two ``dask worker --nthreads 1``
processes, as README.md#a-dask-cluster starts them; VCG, an audit and labelling through
``--scheduler`` equal the local results."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mechopt.cli import cli

ROOT = Path(__file__).resolve().parent.parent
CATS = ROOT / "data" / "cats"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask_command() -> list[str]:
    exe = Path(sys.executable).parent / "dask"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("dask")
    return [found] if found else [sys.executable, "-m", "dask"]


@pytest.fixture(scope="module")
def scheduler():
    distributed = pytest.importorskip("distributed")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    dask = _dask_command()
    common = {"env": env, "cwd": ROOT, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], **common)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen([*dask, "worker", address, "--nthreads", "1", "--nworkers", "1",
                                           "--host", "127.0.0.1", "--no-dashboard"], **common))
        deadline = time.monotonic() + 60
        with distributed.Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=max(1.0, deadline - time.monotonic()))
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def run_json(*args: str) -> dict:
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_vcg_on_the_cluster_equals_local(scheduler):
    path = str(CATS / "L6_s0000.txt")
    local, remote = run_json("solve", path), run_json("solve", path, "--scheduler", scheduler)
    assert remote["payments"] == local["payments"]
    assert remote["welfare"] == local["welfare"]
    assert remote["status"] == local["status"] == "optimal"


@pytest.mark.parametrize("path", [ROOT / "data" / "shill_example.json", CATS / "L4_s0000.txt"],
                         ids=lambda p: p.stem)
def test_audit_on_the_cluster_equals_local(scheduler, path):
    local, remote = run_json("audit", str(path)), run_json("audit", str(path), "--scheduler", scheduler)
    for key in ("verdict", "summary", "status", "pairs", "groups", "unresolved_pairs", "solves", "collusion"):
        assert remote[key] == local[key], key
    for remedy in ("vcg", "exclusion", "grouping"):
        if local[remedy] is None:
            assert remote[remedy] is None
            continue
        for key in ("payments", "revenue", "welfare"):
            assert remote[remedy][key] == local[remedy][key], (remedy, key)


def test_labelling_on_the_cluster_equals_local(scheduler):
    args = ("payments", "evaluate", "--domain", "mmca", "--rule", "optimal", "--agents", "3",
            "--test", "40", "--no-cache")
    local, remote = run_json(*args), run_json(*args, "--scheduler", scheduler)
    assert remote == local or _without_times(remote) == _without_times(local)


def _without_times(data):
    if isinstance(data, dict):
        return {k: _without_times(v) for k, v in data.items() if "second" not in k and k != "seconds"}
    if isinstance(data, list):
        return [_without_times(v) for v in data]
    return data
