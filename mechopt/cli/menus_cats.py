"""``mechopt bench menus-cats`` / ``menus-device`` and the baseline report of ``menus train``.

No torch at import time (as :mod:`mechopt.cli.menus`).
"""

from __future__ import annotations

from typing import Any

import click

from mechopt.benchmarks.menus_cats import (
    CATS_KINDS,
    PRICED_INIT,
    PRICED_LR,
    PRICED_OFFERS,
    PRICED_STEPS,
)
from mechopt.cli.bench import bench
from mechopt.cli.options import (
    CommaList,
    executor_options,
    json_option,
    make_executor,
    print_json,
    progress_label,
)
from mechopt.cli.report import console, markdown_option, print_table
from mechopt.menus.config import DEVICES, PRICED_INITS

__all__ = ["baseline_report", "print_baselines", "cats_table"]


def require_torch() -> None:
    """One-line error unless torch imports (as :func:`mechopt.cli.menus.require_torch`, which
    this module cannot import: ``mechopt.cli.menus`` imports this one)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise click.ClickException("the menus commands need torch: pip install 'mechopt[menus]'") from None


def baseline_report(trained, *, milp_buyers: int = 64, milp_time_limit: float = 30.0) -> dict[str, Any]:
    """Baselines of a trained menu on its own test buyers (``--json`` key ``baselines``)."""
    from mechopt.menus.baselines import compute_baselines
    from mechopt.menus.valuations import make_valuation

    config = trained.config
    base = compute_baselines(make_valuation(config, trained.device), trained.fit_buyers,
                             trained.test_buyers, menu_size=config.menu_size,
                             milp_buyers=milp_buyers, milp_time_limit=milp_time_limit)
    data = base.to_dict()
    data["ratio_to_best_baseline"] = base.ratio(trained.metrics.hard_revenue)
    return data


def _label(entry: dict[str, Any]) -> str:
    if entry["certified"] is None:
        return ""
    return " (MILP optimal on its sample)" if entry["certified"] else " NOT PROVEN"


def print_baselines(data: dict[str, Any], hard_revenue: float) -> None:
    out = console()
    out.print(f"[bold]baselines[/bold] (fitted on {data['n_fit_buyers']} buyers, same "
              f"{data['n_test_buyers']} test buyers as the menu)")
    for e in data["entries"]:
        rev = "—" if e["test_revenue"] is None else f"{e['test_revenue']:.4f}"
        out.print(f"  {e['name']:<20} {rev:>8}{_label(e)}  [dim]{e['method']}[/dim]")
    out.print(f"  {'welfare (upper bound)':<20} {data['welfare']:>8.4f}")
    if data.get("size_ceiling") is not None:
        out.print(f"  {'size-only ceiling':<20} {data['size_ceiling']:>8.4f}  [dim]best price per bundle "
                  f"size fitted on these test buyers (bounds size-only menus on them)[/dim]")
    ratio = data.get("ratio_to_best_baseline")
    if ratio is not None:
        out.print(f"  menu {hard_revenue:.4f} = [bold]{ratio:.3f}×[/bold] the best baseline ({data['best']})")


def _fmt(x: float | None, spec: str = ".4f") -> str:
    return "–" if x is None else format(x, spec)


def _ceiling(row: dict[str, Any]) -> str:
    """The size-only ceiling cell: revenue and (× the best baseline), "–" when it does not apply."""
    if row.get("size_ceiling") is None:
        return "–"
    ratio = row.get("size_ceiling_ratio")
    return _fmt(row["size_ceiling"]) + ("" if ratio is None else f" ({ratio:.3f}×)")


def cats_table(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`mechopt.benchmarks.menus_cats.summarize` as a Markdown table."""
    head = ["distribution", "m", "menu", "hard revenue", "soft revenue", "gap", "grand bundle", "item pricing",
            "bundle menu (MILP)", "welfare", "size-only ceiling", "× best baseline", "train s", "s/run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        milp = _fmt(r["bundle_menu_milp"])
        if r["milp_certified"] is False:
            milp += " NOT PROVEN"
        ratios = ", ".join(_fmt(x, ".3f") for x in r["ratios"])
        lines.append("| " + " | ".join([
            r["distribution"], str(r["n_items"]), r.get("kind", "mixture"), _fmt(r["hard_revenue"]), _fmt(r["soft_revenue"]),
            _fmt(r["relative_gap"], ".2%"), _fmt(r["grand_bundle"]), _fmt(r["item_pricing"]), milp,
            _fmt(r["welfare"]), _ceiling(r), f"{_fmt(r['ratio_to_best_baseline'], '.3f')} ({ratios})",
            _fmt(r["training_seconds"], ".0f"), _fmt(r["total_seconds"], ".0f")]) + " |")
    return "\n".join(lines)


@bench.command("menus-cats")
@click.option("--distributions", type=CommaList(str), default="arbitrary,regions", show_default=True,
              help="Single-buyer XOR valuation distributions (comma-separated).")
@click.option("--items", type=CommaList(int), default="50,100,150", show_default=True,
              help="Comma-separated numbers of items m.")
@click.option("--kinds", type=CommaList(str, CATS_KINDS), default="mixture", show_default=True,
              help="Menu kinds to train on the same buyers (comma-separated): mixture (K bundles/"
                   "lotteries) and/or priced (item pricing + monotone price function + offers).")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Runs per row (seeds 0..N-1).")
@click.option("--steps", type=click.IntRange(min=1), default=300, show_default=True,
              help="Training steps per menu.")
@click.option("--menu-size", type=click.IntRange(min=1), default=1024, show_default=True,
              help="Menu elements K.")
@click.option("--mixture-bundles", type=click.IntRange(min=1), default=1, show_default=True,
              help="Candidate bundles per (randomized) menu element.")
@click.option("--batch-size", type=click.IntRange(min=1), default=512, show_default=True,
              help="Buyers per training step.")
@click.option("--train-pool", type=click.IntRange(min=1), default=16384, show_default=True,
              help="Fixed pool of training buyers (batches are drawn from it).")
@click.option("--val-size", type=click.IntRange(min=1), default=2048, show_default=True,
              help="Validation buyers (choose the menu kept).")
@click.option("--test-size", type=click.IntRange(min=1), default=4096, show_default=True,
              help="Held-out test buyers (menu and baselines are evaluated on them).")
@click.option("--milp-buyers", type=click.IntRange(min=0), default=64, show_default=True,
              help="Buyers of the bundle-menu MILP baseline (0: skip it).")
@click.option("--milp-time-limit", type=click.FloatRange(min=0, min_open=True), default=30.0,
              show_default=True, help="Seconds for the bundle-menu MILP baseline (NOT PROVEN if it stops).")
@click.option("--priced-offers", type=click.IntRange(min=1), default=PRICED_OFFERS, show_default=True,
              help="--kinds priced: explicit offers K next to the price function.")
@click.option("--priced-steps", type=click.IntRange(min=1), default=PRICED_STEPS, show_default=True,
              help="--kinds priced: training steps (--steps is the mixture menu's).")
@click.option("--priced-lr", type=click.FloatRange(min=0, min_open=True), default=PRICED_LR, show_default=True,
              help="--kinds priced: learning rate (the mixture menu uses 0.03).")
@click.option("--priced-init", type=click.Choice(PRICED_INITS), default=PRICED_INIT, show_default=True,
              help="--kinds priced: start at item pricing (items), or at the best on the validation "
                   "buyers of item pricing and price-per-bundle-size starts (size).")
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (for README.md).")
@executor_options
@json_option
def bench_menus_cats(distributions, items, kinds, seeds, steps, menu_size, mixture_bundles, batch_size,
                     train_pool, val_size, test_size, milp_buyers, milp_time_limit, priced_offers,
                     priced_steps, priced_lr, priced_init, markdown, jobs, scheduler, as_json):
    """Mixture and priced menus for CATS-style XOR buyers (m = 50-150) against exact/optimized
    baselines on the same test buyers."""
    from mechopt.generators import DISTRIBUTIONS

    for d in distributions:
        if d not in DISTRIBUTIONS:
            raise click.BadParameter(f"unknown distribution {d!r} (choose from {', '.join(DISTRIBUTIONS)})",
                                     param_hint="--distributions")
    require_torch()
    from mechopt.benchmarks.menus_cats import run_cats, summarize

    with make_executor(jobs, scheduler) as executor:
        runs = run_cats(tuple(distributions), tuple(items), tuple(range(seeds)), kinds=tuple(kinds),
                        priced_offers=priced_offers, priced_steps=priced_steps, priced_lr=priced_lr,
                        priced_init=priced_init, executor=executor,
                        progress=progress_label("runs", as_json), milp_buyers=milp_buyers,
                        milp_time_limit=milp_time_limit, steps=steps, menu_size=menu_size,
                        mixture_bundles=mixture_bundles, batch_size=batch_size,
                        train_pool=train_pool, val_size=val_size, test_size=test_size)
    rows = summarize(runs)
    command = (f"mechopt bench menus-cats --distributions {','.join(distributions)} "
               f"--items {','.join(map(str, items))} --kinds {','.join(kinds)} --seeds {seeds} --steps {steps} "
               f"--menu-size {menu_size} --mixture-bundles {mixture_bundles} --batch-size {batch_size} "
               f"--train-pool {train_pool} --val-size {val_size} --test-size {test_size} "
               f"--milp-buyers {milp_buyers} --milp-time-limit {milp_time_limit:g}")
    if "priced" in kinds:
        command += f" --priced-offers {priced_offers} --priced-steps {priced_steps} --priced-lr {priced_lr:g}"
        if priced_init != PRICED_INIT:
            command += f" --priced-init {priced_init}"
    if as_json:
        print_json({"command": command, "rows": rows, "runs": runs})
        return
    table = cats_table(rows)
    if markdown:
        click.echo(table)
        click.echo(f"\n`{command}`")
    else:
        console().print(table, markup=False)
        console().print(command, markup=False)


@bench.command("menus-device")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True,
              help="auto: the CPU, and CUDA when present; cuda: the CPU and CUDA (an error "
                   "without CUDA); cpu: the CPU only.")
@click.option("--items", type=click.IntRange(min=1), default=50, show_default=True,
              help="Items m of the XOR buyers.")
@click.option("--menu-size", type=click.IntRange(min=1), default=256, show_default=True,
              help="Menu elements K.")
@click.option("--batch-size", type=click.IntRange(min=1), default=4096, show_default=True,
              help="Buyers per step.")
@click.option("--steps", type=click.IntRange(min=1), default=10, show_default=True,
              help="Timed steps per device (after two warm-up steps).")
@click.option("--threads", type=click.IntRange(min=0), default=1, show_default=True,
              help="CPU threads for torch (0: torch's default).")
@markdown_option
@json_option
def bench_menus_device(device, items, menu_size, batch_size, steps, threads, markdown, as_json):
    """Buyers per second of a mixture menu (XOR buyers, a=5) on the CPU and on CUDA."""
    require_torch()
    import torch

    from mechopt.benchmarks.menus_cats import device_throughput

    has_cuda = torch.cuda.is_available()
    if device == "cuda" and not has_cuda:
        raise click.ClickException("--device cuda was requested but CUDA is not available on this "
                                   "machine (torch reports no GPU); use --device cpu or auto")
    devices = ["cpu"] + (["cuda"] if device in ("auto", "cuda") and has_cuda else [])
    rows = [device_throughput(d, n_items=items, menu_size=menu_size, batch_size=batch_size,
                              steps=steps, threads=threads) for d in devices]
    if as_json:
        print_json({"cuda_available": has_cuda, "rows": rows})
        return
    if markdown:
        print_table(("device", "name", "train buyers/s", "evaluate buyers/s", "m", "K", "C", "batch"),
                    [[r["device"], r["device_name"], f"{r['train_buyers_per_s']:,.0f}",
                      f"{r['eval_buyers_per_s']:,.0f}", str(r["n_items"]), str(r["menu_size"]),
                      str(r["mixture_bundles"]), str(r["batch_size"])] for r in rows],
                    markdown=True, left=("device", "name"),
                    footer=None if has_cuda else "CUDA: not available on this machine (no GPU row)")
        return
    out = console()
    for r in rows:
        out.print(f"{r['device']:<6} {r['device_name']:<24} train {r['train_buyers_per_s']:>12,.0f} buyers/s   "
                  f"evaluate {r['eval_buyers_per_s']:>12,.0f} buyers/s  (m={r['n_items']}, K={r['menu_size']}, "
                  f"C={r['mixture_bundles']}, batch {r['batch_size']})", markup=False)
    if not has_cuda:
        out.print("CUDA: not available on this machine (no GPU row)", markup=False)
