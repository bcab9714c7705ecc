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

__all__ = ["WdpBenchRow", "benchmark_wdp_file"]

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
    welfare = exact_sum(b.value for b in read_highspy_allocation(h, columns).values())
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
