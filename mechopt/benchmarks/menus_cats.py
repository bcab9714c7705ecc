"""Menus at the scale of the combinatorial benchmark (BundleFlow's setting) and device speed.

:func:`cats_rows` / :func:`run_cats`: one buyer whose XOR valuation comes from the CATS-style
``arbitrary`` and ``regions`` generators (:mod:`mechopt.generators`) with m = 50, 100, 150
items; a mixture menu (:mod:`mechopt.menus.mixture`) and/or a priced menu
(:mod:`mechopt.menus.priced`: item pricing plus a monotone price function and offers) is
trained and its hard and soft revenue on held-out test buyers are reported next to the
baselines of :mod:`mechopt.menus.baselines`, evaluated on the same test buyers (every kind of
one run trains on the same training, validation and test buyers).  ``mechopt bench
menus-cats`` prints them.

:func:`device_throughput`: training buyers per second of a mixture menu on one device
(``mechopt bench menus-device`` runs it on the CPU and, when present, on CUDA).
"""

from __future__ import annotations

import statistics
import time
import warnings
from typing import Any

from mechopt.errors import InputError
from mechopt.menus.config import MenuConfig
from mechopt.parallel import Executor

__all__ = ["CATS_KINDS", "cats_config", "run_cats_once", "run_cats", "summarize", "device_throughput"]

#: menu kinds the benchmark trains (``--kinds``)
CATS_KINDS: tuple[str, ...] = ("mixture", "priced")

#: a priced menu's own settings in the benchmark (``--priced-offers``, ``--priced-steps``,
#: ``--priced-lr``; ``--menu-size``, ``--steps`` and ``--lr`` are the mixture menu's): K = 64
#: offers, 1000 steps (a step costs ~10 ms at m = 50), lr 0.01 (0.03 overshot in pilot runs),
#: the softmax relaxation, validation every 25 steps
PRICED_OFFERS = 64
PRICED_STEPS = 1000
PRICED_LR = 0.01
#: the priced menu's start (``--priced-init``): ``items`` (item pricing), as before ``size`` existed
PRICED_INIT = "items"


def cats_config(distribution: str, n_items: int, *, seed: int = 0, steps: int = 300,
                menu_size: int = 1024, mixture_bundles: int = 1, batch_size: int = 512,
                train_pool: int = 16384, val_size: int = 2048, test_size: int = 4096,
                lr: float = 0.03, device: str = "cpu", **changes: Any) -> MenuConfig:
    """The settings of one benchmark run (generated buyers are drawn in Python at ~4 ms each,
    so the samples are modest: 16384 training, 2048 validation, 4096 test buyers).  C = 1
    (deterministic bundles through the mixture parameterization) is the default because it
    did better than C = 2 in the pilot runs of README.md; ``--mixture-bundles`` changes it.
    ``changes`` override the rest (``kind``, ``relaxation``, ``eval_every`` …)."""
    settings: dict[str, Any] = dict(kind="mixture", eval_every=max(1, steps // 12))
    settings.update(changes)
    return MenuConfig(valuation="generated", distribution=distribution, n_items=n_items,
                      menu_size=menu_size, mixture_bundles=mixture_bundles,
                      steps=steps, batch_size=batch_size, train_pool=train_pool,
                      val_size=val_size, test_size=test_size, lr=lr, seed=seed, device=device,
                      **settings)


def run_cats_once(config_dicts: list[dict[str, Any]], milp_buyers: int = 64,
                  milp_time_limit: float = 30.0) -> list[dict[str, Any]]:
    """Train each config (one per menu kind; same valuation, seed and sample sizes) on the same
    buyers; each one's test metrics and the baselines on the same test buyers."""
    from mechopt.menus.baselines import compute_baselines
    from mechopt.menus.trainer import train_menu
    from mechopt.menus.valuations import make_valuation

    wall = time.perf_counter()
    samples = None
    trained_runs = []
    for config_dict in config_dicts:
        config = MenuConfig.from_dict(config_dict)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trained = train_menu(config, samples=samples)
        samples = trained.samples
        trained_runs.append(trained)
    first = trained_runs[0]
    start = time.perf_counter()
    base = compute_baselines(make_valuation(first.config, first.device), first.fit_buyers,
                             first.test_buyers, menu_size=first.config.menu_size,
                             milp_buyers=milp_buyers, milp_time_limit=milp_time_limit)
    baseline_seconds = time.perf_counter() - start
    out = []
    for trained in trained_runs:
        config, m = trained.config, trained.metrics
        out.append({
            "distribution": config.distribution, "n_items": config.n_items, "seed": config.seed,
            "kind": config.kind, "hard_revenue": m.hard_revenue, "hard_revenue_se": m.hard_revenue_se,
            "soft_revenue": m.soft_revenue, "relative_gap": m.relative_gap,
            "training_seconds": trained.seconds, "baseline_seconds": baseline_seconds,
            "total_seconds": time.perf_counter() - wall, "kept_step": trained.kept_step,
            "baselines": base.to_dict(), "ratio_to_best_baseline": base.ratio(m.hard_revenue),
            "config": config.to_dict(),
        })
    return out


def run_cats(distributions: tuple[str, ...], items: tuple[int, ...], seeds: tuple[int, ...], *,
             kinds: tuple[str, ...] = ("mixture",), executor: Executor | None = None,
             progress: str | None = None, milp_buyers: int = 64, milp_time_limit: float = 30.0,
             priced_offers: int = PRICED_OFFERS, priced_steps: int = PRICED_STEPS,
             priced_lr: float = PRICED_LR, priced_init: str = PRICED_INIT,
             **settings: Any) -> list[dict[str, Any]]:
    """Every (distribution, m, seed) run (in parallel through ``executor``), each training every
    menu kind of ``kinds`` on the same buyers (a priced menu with its own offers, steps and
    learning rate and start, :data:`PRICED_OFFERS`; its other settings are the mixture's)."""
    executor = executor or Executor()
    bad = [k for k in kinds if k not in CATS_KINDS]
    if bad or not kinds:
        raise InputError(f"unknown menu kind(s) {', '.join(bad) or '(none)'} for menus-cats "
                         f"(choose from {', '.join(CATS_KINDS)})")

    def config(d: str, m: int, s: int, kind: str) -> dict[str, Any]:
        if kind == "priced":
            changes = dict(settings, menu_size=priced_offers, steps=priced_steps, lr=priced_lr,
                           priced_init=priced_init)
            return cats_config(d, m, seed=s, kind="priced", relaxation="softmax",
                               eval_every=max(1, priced_steps // 40), **changes).to_dict()
        return cats_config(d, m, seed=s, **settings).to_dict()

    tasks = [([config(d, m, s, k) for k in kinds], milp_buyers, milp_time_limit)
             for d in distributions for m in items for s in seeds]
    return [run for runs in executor.map(run_cats_once, tasks, progress=progress) for run in runs]


def _baseline(run: dict[str, Any], name: str) -> float | None:
    for b in run["baselines"]["entries"]:
        if b["name"] == name:
            return b["test_revenue"]
    return None


def _mean_or_none(values: list[float | None]) -> float | None:
    """The mean, or None when any value is missing (a bound over some runs only is no bound)."""
    return None if not values or any(v is None for v in values) else statistics.fmean(values)  # type: ignore[arg-type]


def _ceiling_ratio(run: dict[str, Any]) -> float | None:
    """The run's size-only ceiling over its best baseline's test revenue."""
    ceiling, best = run["baselines"].get("size_ceiling"), run["baselines"].get("best_test_revenue")
    return ceiling / best if ceiling is not None and best else None


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs grouped by (distribution, m, kind): means over seeds (and the per-seed ratios)."""
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["distribution"], r["n_items"], r.get("kind", "mixture")), []).append(r)
    rows = []
    for (dist, m, kind), rs in groups.items():
        def mean(key, rs=rs):
            vals = [r[key] for r in rs if r[key] is not None]
            return statistics.fmean(vals) if vals else None

        def mean_base(name, rs=rs):
            vals = [_baseline(r, name) for r in rs]
            vals = [v for v in vals if v is not None]
            return statistics.fmean(vals) if vals else None

        certified = [b["certified"] for r in rs for b in r["baselines"]["entries"]
                     if b["name"] == "bundle menu (MILP)"]
        rows.append({
            "distribution": dist, "n_items": m, "kind": kind, "seeds": [r["seed"] for r in rs],
            "hard_revenue": mean("hard_revenue"), "soft_revenue": mean("soft_revenue"),
            "relative_gap": mean("relative_gap"),
            "grand_bundle": mean_base("grand bundle"), "item_pricing": mean_base("item pricing"),
            "bundle_menu_milp": mean_base("bundle menu (MILP)"),
            "milp_certified": all(certified) if certified else None,
            "welfare": statistics.fmean(r["baselines"]["welfare"] for r in rs),
            "size_ceiling": _mean_or_none([r["baselines"].get("size_ceiling") for r in rs]),
            "size_ceiling_ratio": _mean_or_none([_ceiling_ratio(r) for r in rs]),
            "ratios": [r["ratio_to_best_baseline"] for r in rs],
            "ratio_to_best_baseline": mean("ratio_to_best_baseline"),
            "training_seconds": mean("training_seconds"), "total_seconds": mean("total_seconds"),
        })
    return rows


def device_throughput(device: str, *, n_items: int = 50, n_atoms: int = 5, menu_size: int = 256,
                      mixture_bundles: int = 2, batch_size: int = 4096, steps: int = 10,
                      warmup: int = 2, threads: int = 1) -> dict[str, Any]:
    """Training buyers per second of a mixture menu for XOR buyers (``xor``: sampled on the
    device itself) on ``device`` (``cpu`` or ``cuda``; :func:`resolve_device` refuses CUDA
    when it is absent), and evaluation (hard choice) buyers per second."""
    import torch

    from mechopt.benchmarks.menus import training_step
    from mechopt.menus.evaluate import hard_choice, menu_options
    from mechopt.menus.mixture import make_menu
    from mechopt.menus.trainer import make_generators, resolve_device
    from mechopt.menus.valuations import make_valuation

    dev = resolve_device(device)
    config = MenuConfig(valuation="xor", n_items=n_items, n_atoms=n_atoms, kind="mixture",
                        menu_size=menu_size, mixture_bundles=mixture_bundles,
                        batch_size=batch_size, device=dev.type, threads=threads)
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        gens = make_generators(0, dev)
        val = make_valuation(config, dev)
        menu = make_menu(config).to(dev).initialize_(gens["init"], 0.5)
        step = training_step(menu, val, config, gens["train"], batch_size)

        def sync() -> None:
            if dev.type == "cuda":
                torch.cuda.synchronize()

        for _ in range(warmup):
            step()
        sync()
        t = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        train_s = time.perf_counter() - t
        with torch.no_grad():
            batch = val.sample(batch_size, gens["test"])
            sync()
            t = time.perf_counter()
            for _ in range(steps):
                hard_choice(*menu_options(menu, val, batch, hard=True))
            sync()
            eval_s = time.perf_counter() - t
    finally:
        torch.set_num_threads(old)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    return {"device": str(dev), "device_name": name, "n_items": n_items, "menu_size": menu_size,
            "mixture_bundles": mixture_bundles, "batch_size": batch_size, "steps": steps,
            "train_buyers_per_s": steps * batch_size / train_s,
            "eval_buyers_per_s": steps * batch_size / eval_s}
