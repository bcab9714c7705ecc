"""``mechopt bench core``: core-selecting payments against VCG on CATS instances.

For each file, with the same executor (``--jobs`` worker processes, started before timing):

- ``vcg_s``: wall seconds of :func:`run_vcg` (winner determination by the pivot cover and
  the winners' marginal economies in parallel), i.e. ``mechopt solve --payments vcg``;
- ``core_s``: wall seconds of :func:`run_core` (winner determination, the marginal
  economies in parallel, then the sequential separation MILPs, revenue LPs and
  nearest-point QPs), i.e. ``mechopt solve --payments core``; ``core_only_s`` the part
  after the VCG payments; ``ratio`` = ``core_s / vcg_s`` (goal: ≤ 3);
- revenues, cuts and separation MILPs, and whether every solve was proven.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mechopt.io import load_auction
from mechopt.mechanisms.core import run_core
from mechopt.mechanisms.vcg import run_vcg
from mechopt.parallel import Executor
from mechopt.solve import SolveStatus

__all__ = ["CoreBenchRow", "benchmark_core_file"]


@dataclass(frozen=True)
class CoreBenchRow:
    file: str
    bids: int
    winners: int
    vcg_revenue: float
    core_revenue: float
    cuts: int
    separations: int
    vcg_s: float
    core_s: float
    core_only_s: float
    proven: bool
    status: SolveStatus = SolveStatus.OPTIMAL
    """Worst status of every solve behind the row (VCG and core)."""

    @property
    def ratio(self) -> float:
        return self.core_s / self.vcg_s if self.vcg_s > 0 else float("nan")

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(ratio=self.ratio, status=self.status.value)
        return data


def benchmark_core_file(path: str | Path, executor: Executor, time_limit: float | None = None) -> CoreBenchRow:
    """Measure one CATS/JSON file (see the module docstring)."""
    auction = load_auction(path)
    t0 = time.perf_counter()
    vcg = run_vcg(auction, executor=executor, time_limit=time_limit)
    t1 = time.perf_counter()
    core = run_core(auction, executor=executor, time_limit=time_limit)
    t2 = time.perf_counter()
    core_only = core.seconds - core.vcg.seconds
    return CoreBenchRow(
        file=Path(path).name,
        bids=auction.n_bids,
        winners=len(vcg.winners),
        vcg_revenue=vcg.revenue,
        core_revenue=core.revenue,
        cuts=core.cuts,
        separations=core.separations,
        vcg_s=t1 - t0,
        core_s=t2 - t1,
        core_only_s=core_only,
        proven=core.proven and vcg.is_optimal,
        status=SolveStatus.worst([vcg.status, core.outcome.status]),
    )
