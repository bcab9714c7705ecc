"""The experiments behind the README tables: BundleFlow's softmax failure and its remedies,
the known optima, and training throughput.  ``mechopt bench menus*`` prints them.

Each row is a :class:`~mechopt.menus.config.MenuConfig` (each result keeps the config it
trained, from which the CLI prints the ``mechopt menus train`` command that reproduces it).
Rows train in parallel through :class:`mechopt.parallel.Executor` (one torch thread per run).
"""

from __future__ import annotations

import math
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from mechopt.errors import InputError
from mechopt.menus.config import MenuConfig, bundleflow_failure_config, known_optimum
from mechopt.parallel import Executor

__all__ = [
    "StudyRow",
    "StudyResult",
    "bundleflow_remedy_rows",
    "goal_rows",
    "run_study",
    "throughput",
    "time_to_target",
]

@dataclass(frozen=True)
class StudyRow:
    label: str
    config: MenuConfig
    preset: str = "default"
    target: float | None = None
    """Revenue to compare with (a known optimum or a goal)."""


@dataclass(frozen=True)
class StudyResult:
    """A row trained with several seeds; revenues on each run's fresh test sample."""

    label: str
    config: MenuConfig
    """The trained configuration (seed aside: every seed of :attr:`seeds`)."""
    preset: str
    seeds: tuple[int, ...]
    hard: tuple[float, ...]
    soft: tuple[float, ...]
    ir_violation_rate: float
    seconds: float
    """Mean training seconds per run."""
    target: float | None

    @property
    def hard_mean(self) -> float:
        return statistics.fmean(self.hard)

    @property
    def soft_mean(self) -> float:
        return statistics.fmean(self.soft)

    @property
    def share_of_target(self) -> float | None:
        return self.hard_mean / self.target if self.target else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["config"] = self.config.to_dict()
        d.update(hard_mean=self.hard_mean, soft_mean=self.soft_mean,
                 share_of_target=self.share_of_target)
        return d


def bundleflow_remedy_rows(steps: int = 1000) -> list[StudyRow]:
    """The configuration of BundleFlow's softmax failure (m = 2, a = 2, K = 4 bundles,
    prices ≤ 10, 1000 steps, last menu kept) and each remedy of docs/menus.md#remedies
    applied to it."""
    lam = dict(schedule="bundleflow")
    rows: list[tuple[str, dict[str, Any]]] = [
        ("BundleFlow: softmax(λ·u), λ ≤ 0.2", {}),
        ("+ price cap at highest value seen", dict(price_cap=True)),
        ("+ IR penalty α = 1", dict(ir_penalty=1.0)),
        ("+ IR penalty α = 10", dict(ir_penalty=10.0)),
        ("+ Lagrangian on IR (dual step 0.1)", dict(ir_dual_lr=0.1)),
        ("straight-through Gumbel, λ·u", dict(relaxation="gumbel", **lam)),
        ("REINFORCE, λ·u", dict(relaxation="reinforce", **lam)),
        ("RochetNet surrogate, λ·u", dict(relaxation="rochetnet", **lam)),
        ("softmax, T = 0.05 × value scale", dict(relaxation="softmax", temperature=0.05,
                                                 temperature_end=0.05)),
        ("softmax, T annealed 0.05 → 0.002", dict(relaxation="softmax")),
        ("+ straight-through bundles", dict(relaxation="softmax", straight_through=True)),
        ("RochetNet, T annealed", dict(relaxation="rochetnet", straight_through=True)),
        ("Gumbel ST, T annealed", dict(relaxation="gumbel", straight_through=True)),
        ("REINFORCE, T annealed", dict(relaxation="reinforce", straight_through=True)),
    ]
    return [StudyRow(label, bundleflow_failure_config(steps=steps, **changes), preset="bundleflow-failure")
            for label, changes in rows]


def goal_rows() -> list[StudyRow]:
    """The goals of the menus issue: known optima (docs/menus.md#known-optima) and XOR buyers."""
    rows = [
        ("1 item U[0,1]", MenuConfig(n_items=1)),
        ("2 items additive U[0,1]", MenuConfig(n_items=2)),
        ("2 items unit-demand U[0,1]", MenuConfig(valuation="unit-demand", n_items=2)),
        ("2 items additive, triangle", MenuConfig(valuation="triangle", n_items=2)),
        ("XOR m=2, a=2 (bundles)", MenuConfig(valuation="xor", n_atoms=2, kind="bundle", menu_size=8)),
        ("XOR m=2, a=20 (bundles)", MenuConfig(valuation="xor", n_atoms=20, kind="bundle", menu_size=8)),
    ]
    return [StudyRow(label, c, target=known_optimum(c.valuation, c.n_items)) for label, c in rows]


def _train_once(config_dict: dict[str, Any]) -> tuple[float, float, float, float]:
    from mechopt.menus.trainer import train_menu

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trained = train_menu(MenuConfig.from_dict(config_dict))
    m = trained.metrics
    return m.hard_revenue, m.soft_revenue, m.ir_violation_rate, trained.seconds


def run_study(rows: list[StudyRow], seeds: tuple[int, ...] = (0,), *, executor: Executor | None = None,
              progress: str | None = None, **overrides: Any) -> list[StudyResult]:
    """Train every row with every seed (``overrides`` change all configs, e.g. test_size)."""
    executor = executor or Executor()
    tasks = [(row.config.replace(seed=s, **overrides).to_dict(),) for row in rows for s in seeds]
    outputs = executor.map(_train_once, tasks, progress=progress)
    results = []
    for i, row in enumerate(rows):
        chunk = outputs[i * len(seeds):(i + 1) * len(seeds)]
        results.append(StudyResult(
            label=row.label,
            config=row.config.replace(**overrides),
            preset=row.preset,
            seeds=tuple(seeds),
            hard=tuple(c[0] for c in chunk),
            soft=tuple(c[1] for c in chunk),
            ir_violation_rate=statistics.fmean(c[2] for c in chunk),
            seconds=statistics.fmean(c[3] for c in chunk),
            target=row.target,
        ))
    return results


def training_step(menu: Any, valuation: Any, config: MenuConfig, generator: Any,
                  batch_size: int) -> Callable[[], None]:
    """One Adam step of the relaxed objective on a fresh batch (what the throughput benchmarks
    time; the trainer's own loop adds schedules, validation and IR penalties)."""
    import torch

    from mechopt.menus.evaluate import menu_values
    from mechopt.menus.relaxations import relaxed_objective

    opt = torch.optim.Adam(menu.parameters(), lr=config.lr)

    def step() -> None:
        batch = valuation.sample(batch_size, generator)
        values = menu_values(menu, valuation, batch, hard=False)
        obj = relaxed_objective(config.relaxation, values, menu.prices, 100.0).objective
        opt.zero_grad(set_to_none=True)
        (-obj).backward()
        opt.step()
        menu.project_()

    return step


def throughput(n_items: int, menu_size: int, *, batch_size: int = 4096, steps: int = 20,
               warmup: int = 3, device: str = "cpu", threads: int = 1,
               valuation: str = "additive") -> dict[str, Any]:
    """Training steps per second (and buyers per second) of one configuration."""
    import torch

    from mechopt.menus.menu import Menu
    from mechopt.menus.trainer import make_generators, resolve_device
    from mechopt.menus.valuations import make_valuation

    config = MenuConfig(valuation=valuation, n_items=n_items, menu_size=menu_size,
                        batch_size=batch_size, device=device, threads=threads)
    dev = resolve_device(device)
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    torch.set_flush_denormal(True)  # as in train_menu
    try:
        gens = make_generators(0, dev)
        val = make_valuation(config, dev)
        menu = Menu(n_items, menu_size, config.kind).to(dev).initialize_(gens["init"], 0.5)
        step = training_step(menu, val, config, gens["train"], batch_size)
        for _ in range(warmup):
            step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        torch.set_num_threads(old_threads)
        torch.set_flush_denormal(False)
    return {"n_items": n_items, "menu_size": menu_size, "batch_size": batch_size,
            "steps_per_s": steps / wall, "buyers_per_s": steps * batch_size / wall,
            "cpu_seconds_per_step": cpu / steps, "device": str(dev)}


def time_to_target(config: MenuConfig, share: float = 0.99) -> dict[str, Any]:
    """Train until the validation hard revenue reaches ``share`` of the known optimum;
    report wall-clock and CPU seconds and the test revenue of the menu at that point."""
    from mechopt.menus.trainer import train_menu

    optimum = known_optimum(config.valuation, config.n_items)
    if optimum is None:
        raise InputError(f"no known optimum for {config.valuation} with m = {config.n_items}")
    config = config.replace(target_revenue=share * optimum, keep="last")
    cpu = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trained = train_menu(config)
    cpu = time.process_time() - cpu
    reached = trained.reached_target_at
    return {
        "seed": config.seed,
        "target": share * optimum,
        "reached": reached is not None,
        "seconds_to_target": reached if reached is not None else math.nan,
        "cpu_seconds": cpu,
        "steps": trained.history[-1].step + 1,
        "test_hard_revenue": trained.metrics.hard_revenue,
        "test_share_of_optimum": trained.metrics.hard_revenue / optimum,
        "config": config,
    }
