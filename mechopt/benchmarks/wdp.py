"""``mechopt bench wdp``: modelling overhead and parallel VCG on CATS instances.

For each file:

- ``build_s``: :func:`build_wdp_model` (Pyomo) wall seconds;
- ``solve_s``: :func:`solve_model` wall seconds (transfer to HiGHS + solve + status);
- ``raw_s``: the same MILP built and solved through raw highspy
  (:mod:`mechopt.formulations.wdp_highspy`, identical rows, columns and options);
- ``overhead``: median over repeats of (mechopt build+solve+read) / (raw build+run+read) − 1,
  each repeat running both back to back, in alternating order, so that machine noise hits
  both alike;
- ``layer_s``: median of mechopt's wall time minus HiGHS' own reported run time — the time
  spent in Pyomo and mechopt proper, which the machine's noise on the solve does not blur;
- ``vcg_1``, ``vcg_2``: wall seconds of :func:`run_vcg` with 1 and 2 local worker processes
  (the worker pool is started before timing; median of the repeats, a single run when the
  1-job run takes over 200 s) and their ratio.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from mechopt.formulations.wdp import build_wdp_model, read_wdp_allocation
from mechopt.formulations.wdp_highspy import build_wdp_highspy, read_highspy_allocation
from mechopt.io import load_auction
from mechopt.mechanisms.outcome import exact_sum
from mechopt.mechanisms.vcg import run_vcg
from mechopt.parallel import Executor
from mechopt.solve import get_solver, prepare_highs_threads, solve_model

__all__ = ["WdpBenchRow", "benchmark_wdp_file", "SolverBenchRow", "benchmark_solvers_file"]

#: VCG runs longer than this (1 job) are not repeated
LONG_RUN_S = 200.0


@dataclass(frozen=True)
class WdpBenchRow:
    file: str
    bids: int
    winners: int
    build_s: float
    solve_s: float
    raw_s: float
    overhead: float
    layer_s: float
    vcg_1: float | None
    vcg_2: float | None

    @property
    def vcg_speedup(self) -> float | None:
        if self.vcg_1 is None or self.vcg_2 is None:
            return None
        return self.vcg_1 / self.vcg_2

    def to_dict(self) -> dict:
        return {**asdict(self), "vcg_speedup": self.vcg_speedup}


def _time_mechopt(auction) -> tuple[float, float, float, float, float]:
    t0 = time.perf_counter()
    model = build_wdp_model(auction)
    t1 = time.perf_counter()
    result = solve_model(model, get_solver("highs"))
    t2 = time.perf_counter()
    welfare = exact_sum(b.value for b in read_wdp_allocation(model).values())
    t3 = time.perf_counter()
    result.require_optimal("the benchmark solve")
    layer = (t3 - t0) - (result.solver_seconds or 0.0)
    return t1 - t0, t2 - t1, t3 - t0, welfare, layer


def _time_raw(auction) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    h, columns = build_wdp_highspy(auction)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.0)
    t1 = time.perf_counter()
    prepare_highs_threads(None)
    h.run()
    welfare = exact_sum(b.value for b in read_highspy_allocation(h, columns, auction).values())
    t2 = time.perf_counter()
    if h.getModelStatus() != h.getModelStatus().kOptimal:
        raise RuntimeError("raw highspy solve not optimal")
    return t2 - t1, t2 - t0, welfare


def _warm(executor: Executor) -> None:
    executor.map(_noop, [(k,) for k in range(executor.workers)])


def _noop(k: int) -> int:
    import mechopt.mechanisms  # noqa: F401  (import the solver stack in the worker)

    return k


def benchmark_wdp_file(
    path: str | Path, repeats: int = 5, vcg: bool = True, vcg_repeats: int = 3
) -> WdpBenchRow:
    """Measure one CATS/JSON file (see the module docstring)."""
    auction = load_auction(path)
    builds, solves, raws, ratios, layers = [], [], [], [], []
    for k in range(repeats):
        if k % 2:
            raw_run, total_r, w_r = _time_raw(auction)
            build_s, solve_s, total_m, w_m, layer = _time_mechopt(auction)
        else:
            build_s, solve_s, total_m, w_m, layer = _time_mechopt(auction)
            raw_run, total_r, w_r = _time_raw(auction)
        if abs(w_m - w_r) > 1e-6 * max(1.0, abs(w_m)):
            raise RuntimeError(f"{path}: mechopt and raw highspy disagree ({w_m} vs {w_r})")
        builds.append(build_s)
        solves.append(solve_s)
        raws.append(raw_run)
        ratios.append(total_m / total_r - 1.0)
        layers.append(layer)
    vcg_times: dict[int, float] = {}
    winners = 0
    if vcg:
        runs: dict[int, list[float]] = {1: [], 2: []}
        executors = {jobs: Executor(jobs) for jobs in (1, 2)}
        _warm(executors[2])
        for _ in range(vcg_repeats):
            for jobs in (1, 2):
                t0 = time.perf_counter()
                outcome = run_vcg(auction, executor=executors[jobs])
                runs[jobs].append(time.perf_counter() - t0)
                if not outcome.is_optimal:
                    raise RuntimeError(f"{path}: VCG not proven optimal")
                winners = len(outcome.winners)
            if runs[1][-1] > LONG_RUN_S:  # one long run is already robust to short noise
                break
        vcg_times = {jobs: statistics.median(t) for jobs, t in runs.items()}
    return WdpBenchRow(
        file=Path(path).name,
        bids=auction.n_bids,
        winners=winners,
        build_s=statistics.median(builds),
        solve_s=statistics.median(solves),
        raw_s=statistics.median(raws),
        overhead=statistics.median(ratios),
        layer_s=statistics.median(layers),
        vcg_1=vcg_times.get(1),
        vcg_2=vcg_times.get(2),
    )


def default_files(root: Path = Path("data/cats")) -> Sequence[Path]:
    return sorted(root.glob("*_m0000.txt"))


# ------------------------------------------------------------------------------------------
# side by side: every solver, raw and through mechopt (``mechopt bench wdp --solver ...``)
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SolverBenchRow:
    """One file and one solver; seconds are wall-clock medians over the repeats, one thread
    per solve.

    ``raw_wdp_s``: the WDP through the solver's own API (:mod:`mechopt.benchmarks.raw`);
    ``wdp_s``: :func:`~mechopt.mechanisms.wdp.solve_wdp` (Pyomo build, solve, read back);
    ``raw_vcg_s``: raw sequential VCG, a fresh raw model per winner;
    ``vcg_1`` / ``vcg_2``: :func:`run_vcg` on 1 and 2 local worker processes (kept models
    dropped before each run); ``audit_s``: :func:`~mechopt.audit.audit_auction` on 1 job
    (remedies and core rows included); ``groups_s``: the same audit up to the suspected groups
    (steps 1–7: ``remedies=False, core=False``); ``no_core_s``: the audit with its remedies
    and the collusion check but without the core-payment rows (``core=False``); ``pool_s``: starting the 2-worker pool
    before the 2-job runs (``Executor(2)`` and a first task importing mechopt in both
    workers), timed once per file — loky keeps the pool for the whole process, so only the
    first file of a run pays the start (later files show the reuse); not in ``vcg_2``.
    """

    file: str
    solver: str
    bids: int
    winners: int
    raw_wdp_s: float
    wdp_s: float
    raw_vcg_s: float
    vcg_1: float
    vcg_2: float | None
    audit_s: float | None
    audit_solves: int | None
    groups_s: float | None = None
    groups_solves: int | None = None
    no_core_s: float | None = None
    no_core_solves: int | None = None
    pool_s: float | None = None

    @property
    def vcg_vs_raw(self) -> float:
        return self.vcg_1 / self.raw_vcg_s

    @property
    def vcg_speedup(self) -> float | None:
        return None if self.vcg_2 is None else self.vcg_1 / self.vcg_2

    @property
    def audit_vs_vcg(self) -> float | None:
        return None if self.audit_s is None else self.audit_s / self.vcg_1

    @property
    def groups_vs_vcg(self) -> float | None:
        return None if self.groups_s is None else self.groups_s / self.vcg_1

    @property
    def no_core_vs_vcg(self) -> float | None:
        return None if self.no_core_s is None else self.no_core_s / self.vcg_1

    def to_dict(self) -> dict:
        return {**asdict(self), "vcg_vs_raw": self.vcg_vs_raw, "vcg_speedup": self.vcg_speedup,
                "audit_vs_vcg": self.audit_vs_vcg, "groups_vs_vcg": self.groups_vs_vcg,
                "no_core_vs_vcg": self.no_core_vs_vcg}


def _forget_models(k: int = 0) -> int:
    """Drop this process's kept economy models (so that each timed run builds its own)."""
    from mechopt.mechanisms.resolve import forget_kept_models

    forget_kept_models()
    return k


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def benchmark_solvers_file(
    path: str | Path, solvers: Sequence[str], repeats: int = 1, vcg2: bool = True, audit: bool = True
) -> list[SolverBenchRow]:
    """Measure one file with every solver in ``solvers`` (see :class:`SolverBenchRow`)."""
    from mechopt.audit import audit_auction
    from mechopt.benchmarks.raw import raw_sequential_vcg, raw_wdp
    from mechopt.mechanisms.wdp import solve_wdp

    auction = load_auction(path)
    rows = []
    two = Executor(2) if vcg2 else None
    pool_s = None
    if two is not None:
        pool_s, _ = _timed(_warm, two)
    for solver in solvers:
        t: dict[str, list[float]] = {k: [] for k in ("raw", "wdp", "raw_vcg", "vcg_1", "vcg_2", "audit", "groups", "no_core")}
        winners, audit_solves, groups_solves, no_core_solves = 0, None, None, None
        for _ in range(repeats):
            s, raw_bids = _timed(raw_wdp, auction, solver)
            t["raw"].append(s)
            s, alloc = _timed(solve_wdp, auction, solver=solver, threads=1)
            t["wdp"].append(s)
            alloc.solve.require_optimal("the benchmark solve")
            if abs(alloc.welfare - exact_sum(b.value for b in raw_bids.values())) > 1e-6 * max(1.0, alloc.welfare):
                raise RuntimeError(f"{path}: {solver} raw and mechopt welfare differ")
            s, raw_pay = _timed(raw_sequential_vcg, auction, solver)
            t["raw_vcg"].append(s)
            _forget_models()
            s, outcome = _timed(run_vcg, auction, executor=Executor(1), solver=solver, threads=1)
            t["vcg_1"].append(s)
            if not outcome.is_optimal:
                raise RuntimeError(f"{path}: {solver} VCG not proven optimal")
            winners = len(outcome.winners)
            # with several optimal allocations the two may pick different ones (paths: b144
            # or b257 win at equal welfare), and VCG payments depend on the pick
            if set(raw_pay) == set(outcome.winners):
                for b, p in raw_pay.items():
                    if abs(outcome.payments[b] - p) > 1e-6 * max(1.0, abs(outcome.welfare)):
                        raise RuntimeError(f"{path}: {solver} raw and mechopt VCG payments differ for {b}")
            if two is not None:
                two.map(_forget_models, [(k,) for k in range(8)])
                s, _ = _timed(run_vcg, auction, executor=two, solver=solver, threads=1)
                t["vcg_2"].append(s)
            if audit:
                _forget_models()
                s, report = _timed(audit_auction, auction, solver=solver, threads=1,
                                   remedies=False, core=False)
                t["groups"].append(s)
                groups_solves = report.solves
                _forget_models()
                s, no_core = _timed(audit_auction, auction, solver=solver, threads=1, core=False)
                t["no_core"].append(s)
                no_core_solves = no_core.solves
                _forget_models()
                s, full = _timed(audit_auction, auction, solver=solver, threads=1)
                t["audit"].append(s)
                audit_solves = full.solves
                if not report.groups == no_core.groups == full.groups:
                    raise RuntimeError(f"{path}: {solver} audits with and without remedies differ")

        med = {k: (statistics.median(v) if v else None) for k, v in t.items()}
        timed = {k: statistics.median(v) for k, v in t.items() if v}  # every repeat times these
        rows.append(SolverBenchRow(
            file=Path(path).name, solver=solver, bids=auction.n_bids, winners=winners,
            raw_wdp_s=timed["raw"], wdp_s=timed["wdp"], raw_vcg_s=timed["raw_vcg"], vcg_1=timed["vcg_1"],
            vcg_2=med["vcg_2"], audit_s=med["audit"], audit_solves=audit_solves,
            groups_s=med["groups"], groups_solves=groups_solves, no_core_s=med["no_core"],
            no_core_solves=no_core_solves, pool_s=pool_s,
        ))
    return rows
