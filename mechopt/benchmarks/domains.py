"""``mechopt bench domains``: seconds to sample and label instances under each outcome rule.

Tasks (no dataset cache involved):

- ``mmca-optimal``: multi-minded CA profiles labelled by the winner-determination MILP
  (:func:`mechopt.solve_wdp`, Pyomo + HiGHS at gap 0, each checked against the exact
  dynamic program), instance chunks through :class:`mechopt.parallel.Executor`;
- ``mmca-greedy``: the same profiles labelled by the vectorized LOS greedy rule;
- ``assignment-egalitarian``: assignment profiles labelled by the leximin ordered-outcomes
  MILPs (``n`` solves per instance).

For every task and job count: ``startup_s`` is the time to start the worker pool and import
the solver stack in every worker (measured separately, 0 for one job); ``seconds`` is the
wall time of sampling + labelling with the pool already running.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from mechopt.domains.distributions import AssignmentProblem, Domain, MultiMindedCA
from mechopt.domains.rules import apply_rule
from mechopt.errors import InputError
from mechopt.parallel import Executor

__all__ = ["DomainBenchRow", "benchmark_domains", "BENCH_TASKS"]

BENCH_TASKS = ("mmca-optimal", "mmca-greedy", "assignment-egalitarian")


@dataclass(frozen=True)
class DomainBenchRow:
    task: str
    settings: dict
    rule: str
    jobs: int
    instances: int
    startup_s: float
    seconds: float
    milp_solves: int
    status: str

    @property
    def ms_per_instance(self) -> float:
        return 1000.0 * self.seconds / self.instances

    def to_dict(self) -> dict:
        return {**asdict(self), "ms_per_instance": self.ms_per_instance}


def _warm_up(_: int) -> bool:
    """Import the solver stack in a worker (a picklable task)."""
    from mechopt.domains.rules import apply_rule  # noqa: F401
    from mechopt.solve import get_solver

    get_solver("highs")
    return True


def benchmark_domains(
    *,
    instances: int = 1000,
    jobs: Sequence[int] = (1, 2),
    mmca: MultiMindedCA | None = None,
    assignment: AssignmentProblem | None = None,
    tasks: Sequence[str] = BENCH_TASKS,
    seed: int = 0,
    progress: bool = False,
) -> list[DomainBenchRow]:
    """Measure every task with every job count (see the module docstring)."""
    mmca = mmca or MultiMindedCA(n_agents=6, n_items=5, n_bundles=3)
    assignment = assignment or AssignmentProblem(n_agents=6)
    plan: dict[str, tuple[Domain, str]] = {
        "mmca-optimal": (mmca, "optimal"),
        "mmca-greedy": (mmca, "greedy"),
        "assignment-egalitarian": (assignment, "egalitarian"),
    }
    for task in tasks:
        if task not in plan:
            raise InputError(f"unknown benchmark task {task!r} (choose from {', '.join(BENCH_TASKS)})")
    for j in jobs:
        if isinstance(j, bool) or not isinstance(j, int) or j < 1:
            raise InputError(f"job counts must be positive integers, got {j!r}")
    rows = []
    for task in tasks:
        domain, rule = plan[task]
        for j in jobs:
            with Executor(j) as executor:
                t0 = time.perf_counter()
                if j > 1:
                    executor.map(_warm_up, [(k,) for k in range(2 * j)])
                startup = time.perf_counter() - t0
                start = time.perf_counter()
                profiles = domain.sample(instances, seed)
                labels = apply_rule(
                    profiles, rule, executor=executor, progress=f"{task}, {j} job(s)" if progress else None
                )
                seconds = time.perf_counter() - start
            rows.append(DomainBenchRow(
                task=task, settings=domain.settings(), rule=rule, jobs=j, instances=instances,
                startup_s=startup, seconds=seconds, milp_solves=labels.n_solves, status=labels.status.value,
            ))
    return rows
