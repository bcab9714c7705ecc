"""``mechopt menus``: train a menu for one buyer, evaluate it, price bundles exactly.

Thin wrappers over :mod:`mechopt.menus`.  This module imports no torch at import time: a
menus command run without the ``menus`` extra stops with one line saying what to install.
"""

from __future__ import annotations

import copy
import sys
import warnings
from dataclasses import fields
from pathlib import Path
from typing import Any

import click

from mechopt.cli import cli, exit_for
from mechopt.cli.options import json_option, print_json
from mechopt.cli.report import console, literal, markdown_option, money, not_proven, print_table
from mechopt.generators import DISTRIBUTIONS
from mechopt.menus.config import (
    DEPRECATED_CHOICES,
    DEVICES,
    KINDS,
    PRESETS,
    PRICED_INITS,
    RELAXATIONS,
    SCHEDULES,
    VALUATIONS,
    MenuConfig,
    bundleflow_failure_config,
    known_optimum,
)
from mechopt.solve import SolveStatus

TORCH_HINT = "the menus commands need torch: pip install 'mechopt[menus]'"

#: the default settings, shown in the options' help
DEFAULT_CONFIG = MenuConfig()


#: MenuConfig field -> ``mechopt menus train`` option (booleans are --x/--no-x flags)
CLI_FLAGS: dict[str, str] = {
    "valuation": "--valuation", "n_items": "--items", "n_atoms": "--atoms",
    "distribution": "--distribution", "menu_size": "--menu-size", "kind": "--kind",
    "straight_through": "--straight-through", "init_price": "--init-price",
    "relaxation": "--relaxation", "schedule": "--schedule", "temperature": "--temperature",
    "temperature_end": "--temperature-end", "ir_penalty": "--ir-penalty",
    "ir_dual_lr": "--ir-dual-lr", "price_cap": "--price-cap", "max_price": "--max-price",
    "steps": "--steps", "batch_size": "--batch-size", "lr": "--lr", "lr_end": "--lr-end",
    "train_pool": "--train-pool", "val_size": "--val-size", "test_size": "--test-size",
    "keep": "--keep", "seed": "--seed", "device": "--device", "threads": "--threads",
    "name": "--name", "target_revenue": "--target-revenue", "eval_every": "--eval-every",
    "gap_warning": "--gap-warning", "bids_per_instance": "--bids-per-instance",
    "mixture_bundles": "--mixture-bundles", "mixture_init_fill": "--mixture-init-fill",
    "priced_init": "--priced-init",
}


class DeprecatedChoice(click.Choice):
    """A ``click.Choice`` that also takes the deprecated spellings of ``deprecated`` (old ->
    new; not listed in ``--help``), with a warning."""

    def __init__(self, choices: tuple[str, ...], deprecated: dict[str, str]) -> None:
        super().__init__(choices)
        self.deprecated = deprecated

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value in self.deprecated:
            new = self.deprecated[value]
            flag = param.opts[0] if param is not None else "value"
            warnings.warn(f"{flag} {value} is deprecated; use {flag} {new}", DeprecationWarning, stacklevel=2)
            value = new
        return super().convert(value, param, ctx)


def preset_config(preset: str = "default", **changes: Any) -> MenuConfig:
    """The config of ``preset`` (one of :data:`PRESETS`) with ``changes`` applied."""
    preset = DEPRECATED_CHOICES["preset"].get(preset, preset)
    if preset == "bundleflow-failure":
        return bundleflow_failure_config(**changes)
    return MenuConfig(**changes)


def config_command(config: MenuConfig, preset: str = "default") -> str:
    """The shortest ``mechopt menus train`` command that trains ``config``."""
    preset = DEPRECATED_CHOICES["preset"].get(preset, preset)
    base = preset_config(preset)
    parts = ["mechopt menus train"] + ([f"--preset {preset}"] if preset != "default" else [])
    for f in fields(MenuConfig):
        value, default = getattr(config, f.name), getattr(base, f.name)
        if value == default or f.name not in CLI_FLAGS:
            continue
        flag = CLI_FLAGS[f.name]
        if isinstance(value, bool):
            parts.append(flag if value else "--no-" + flag[2:])
        else:
            parts.append(f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
    return " ".join(parts)


def require_torch() -> None:
    """Raise a one-line error unless torch can be imported."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise click.ClickException(TORCH_HINT) from None


def _settings_options(fn):
    """Options that map one-to-one onto :class:`MenuConfig` fields (None: keep the base)."""
    opts = [
        click.option("--valuation", type=click.Choice(VALUATIONS), default=None,
                     help=f"Buyer valuation [default: {DEFAULT_CONFIG.valuation}]."),
        click.option("--items", "n_items", type=int, default=None,
                     help=f"Number of items m [default: {DEFAULT_CONFIG.n_items}]."),
        click.option("--atoms", "n_atoms", type=int, default=None,
                     help=f"XOR atoms per buyer (--valuation xor) [default: {DEFAULT_CONFIG.n_atoms}]."),
        click.option("--distribution", type=click.Choice(DISTRIBUTIONS), default=None,
                     help=f"Generator distribution (--valuation generated) [default: {DEFAULT_CONFIG.distribution}]."),
        click.option("--menu-size", "menu_size", type=int, default=None,
                     help=f"Menu elements K [default: {DEFAULT_CONFIG.menu_size}]."),
        click.option("--kind", type=click.Choice(KINDS), default=None,
                     help=f"Deterministic bundles, lotteries, mixtures of bundles, or priced (XOR "
                          f"buyers: item prices + monotone price function + --menu-size offers, "
                          f"starting at item pricing) [default: {DEFAULT_CONFIG.kind}]."),
        click.option("--mixture-bundles", "mixture_bundles", type=int, default=None,
                     help=f"--kind mixture: candidate bundles per element "
                          f"[default: {DEFAULT_CONFIG.mixture_bundles}]."),
        click.option("--mixture-init-fill", "mixture_init_fill", type=float, default=None,
                     help=f"--kind mixture/priced: initial bundles/offers add each item with probability "
                          f"U[0, this] [default: {DEFAULT_CONFIG.mixture_init_fill}]."),
        click.option("--priced-init", "priced_init", type=click.Choice(PRICED_INITS), default=None,
                     help=f"--kind priced: start at item pricing (items), or at the best on the "
                          f"validation buyers of item pricing and price-per-bundle-size starts (size) "
                          f"[default: {DEFAULT_CONFIG.priced_init}]."),
        click.option("--straight-through/--no-straight-through", "straight_through", default=None,
                     help="Bundle menus: train on rounded bundles with relaxed gradients "
                          "[default: on]."),
        click.option("--init-price", "init_price", type=float, default=None,
                     help=f"Initial prices ~ U[0, this] [default: {DEFAULT_CONFIG.init_price}]."),
        click.option("--relaxation", type=DeprecatedChoice(RELAXATIONS, DEPRECATED_CHOICES["relaxation"]), default=None,
                     help=f"Relaxation of the buyer's choice [default: {DEFAULT_CONFIG.relaxation}]."),
        click.option("--schedule", type=DeprecatedChoice(SCHEDULES, DEPRECATED_CHOICES["schedule"]), default=None,
                     help="Temperature relative to the value scale, or BundleFlow's lambda*u "
                          "[default: relative]."),
        click.option("--temperature", type=float, default=None,
                     help=f"Start temperature relative to the value scale [default: {DEFAULT_CONFIG.temperature}]."),
        click.option("--temperature-end", "temperature_end", type=float, default=None,
                     help=f"Final relative temperature [default: {DEFAULT_CONFIG.temperature_end}]."),
        click.option("--ir-penalty", "ir_penalty", type=float, default=None,
                     help="Weight of the IR penalty E[sum Z_k max(0,-u_k)^2] [default: 0]."),
        click.option("--ir-dual-lr", "ir_dual_lr", type=float, default=None,
                     help="Lagrangian on IR: dual step size for the IR weight [default: 0]."),
        click.option("--price-cap/--no-price-cap", "price_cap", default=None,
                     help="Cap prices at the highest value seen in the batch [default: off]."),
        click.option("--max-price", "max_price", type=float, default=None,
                     help="Upper bound on prices (the BundleFlow failure used 10) [default: none]."),
        click.option("--steps", type=int, default=None, help=f"Training steps [default: {DEFAULT_CONFIG.steps}]."),
        click.option("--batch-size", "batch_size", type=int, default=None,
                     help=f"Buyers per step [default: {DEFAULT_CONFIG.batch_size}]."),
        click.option("--lr", type=float, default=None, help=f"Adam learning rate [default: {DEFAULT_CONFIG.lr}]."),
        click.option("--lr-end", "lr_end", type=float, default=None,
                     help=f"Learning rate at the last step (cosine decay) [default: {DEFAULT_CONFIG.lr_end}]."),
        click.option("--train-pool", "train_pool", type=int, default=None,
                     help="Train on N fixed buyers (0: fresh buyers every step) [default: 0]."),
        click.option("--val-size", "val_size", type=int, default=None,
                     help=f"Validation buyers [default: {DEFAULT_CONFIG.val_size}]."),
        click.option("--test-size", "test_size", type=int, default=None,
                     help=f"Fresh test buyers [default: {DEFAULT_CONFIG.test_size}]."),
        click.option("--keep", type=click.Choice(["best", "last"]), default=None,
                     help="Keep the best menu on validation or the last one [default: best]."),
        click.option("--seed", type=int, default=None, help="Random seed [default: 0]."),
        click.option("--device", type=click.Choice(DEVICES), default=None,
                     help="auto picks CUDA when present [default: auto]."),
        click.option("--threads", type=int, default=None,
                     help="CPU threads for torch (0: torch's default) [default: 1]."),
        click.option("--name", default=None, help="Model name (file runs/menus/NAME.json)."),
        click.option("--bids-per-instance", "bids_per_instance", type=int, default=None,
                     help=f"Bids per generated instance (--valuation generated) "
                          f"[default: {DEFAULT_CONFIG.bids_per_instance}]."),
        click.option("--eval-every", "eval_every", type=int, default=None,
                     help=f"Steps between validation evaluations [default: {DEFAULT_CONFIG.eval_every}]."),
        click.option("--gap-warning", "gap_warning", type=float, default=None,
                     help=f"Warn when (soft - hard) / soft exceeds this [default: {DEFAULT_CONFIG.gap_warning}]."),
        click.option("--target-revenue", "target_revenue", type=float, default=None,
                     help="Stop when the validation hard revenue reaches this."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


#: the settings options, one per MenuConfig field (same table as the command printer)
SETTING_KEYS = tuple(CLI_FLAGS)


def build_config(preset: str, settings: dict[str, Any]) -> MenuConfig:
    """The config of ``preset`` (one of :data:`PRESETS`) with the given settings applied."""
    return preset_config(preset, **{k: v for k, v in settings.items() if v is not None})


@cli.group("menus")
def menus() -> None:
    """Differentiable menus for one buyer (needs torch: pip install 'mechopt[menus]')."""


class _Progress:
    """A rich progress bar fed by the trainer's progress callback."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled
        self.total = total
        self._bar = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                                 transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task("train", total=self.total, info="")
        return self

    def __call__(self, step: int, total: int, point) -> None:
        if self._bar is None:
            return
        info = ""
        if point is not None:
            info = f"hard {point.hard_revenue:.4f}  soft {point.soft_revenue:.4f}"
        self._bar.update(self._task, completed=step, info=info)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)
        return False


def _result_dict(trained, path: Path | None, plot: Path | None) -> dict[str, Any]:
    m = trained.metrics
    optimum = known_optimum(trained.config.valuation, trained.config.n_items)
    return {
        "hard_revenue": m.hard_revenue,
        "hard_revenue_se": m.hard_revenue_se,
        "soft_revenue": m.soft_revenue,
        "gap": m.gap,
        "relative_gap": m.relative_gap,
        "buy_rate": m.buy_rate,
        "ir_violation_rate": m.ir_violation_rate,
        "phantom_revenue": m.phantom_revenue,
        "n_test_buyers": m.n_buyers,
        "known_optimum": optimum,
        "share_of_optimum": m.hard_revenue / optimum if optimum else None,
        "validation_hard_revenue": trained.validation.hard_revenue,
        "kept_step": trained.kept_step,
        "seconds": trained.seconds,
        "device": trained.device,
        "model": str(path) if path else None,
        "plot": str(plot) if plot else None,
        "warnings": trained.warnings,
        "config": trained.config.to_dict(),
    }


def print_metrics(title: str, data: dict[str, Any]) -> None:
    from rich.table import Table

    out = console()
    out.print(f"[bold]{title}[/bold]")
    table = Table(show_edge=False, show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("hard revenue (test)", f"{money(data['hard_revenue'])} ± {money(data['hard_revenue_se'])}"),
        ("soft revenue (test)", money(data['soft_revenue'])),
        ("gap soft − hard", f"{money(data['gap'])} ({data['relative_gap']:.1%})"),
        ("buyers buying", f"{data['buy_rate']:.1%}"),
        ("IR violation rate (soft)", f"{data['ir_violation_rate']:.3f}"),
    ]
    if data.get("known_optimum"):
        rows.append(("known optimum", f"{money(data['known_optimum'])} "
                                      f"({data['share_of_optimum']:.2%} reached)"))
    if "seconds" in data:
        rows.append(("training seconds", f"{data['seconds']:.1f} on {data['device']}"))
    for key, label in (("model", "model"), ("plot", "plot")):
        if data.get(key):
            rows.append((label, literal(data[key])))
    for r in rows:
        table.add_row(*r)
    out.print(table)


@menus.command("train")
@_settings_options
@click.option("--preset", type=DeprecatedChoice(PRESETS, DEPRECATED_CHOICES["preset"]), default="default",
              show_default=True,
              help="Start from the defaults or from the configuration of BundleFlow's softmax failure "
                   "(docs/menus.md#the-softmax-failure).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Menu file [default: runs/menus/<name>.json; models/ holds the committed reference menus].")
@click.option("--no-save", is_flag=True, help="Do not write the menu file.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG of soft vs hard revenue over training.")
@click.option("--baselines/--no-baselines", "baselines", default=True, show_default=True,
              help="Report grand-bundle, item-pricing and MILP bundle-menu baselines on the test buyers.")
@click.option("--milp-buyers", type=click.IntRange(min=0), default=64, show_default=True,
              help="Buyers of the bundle-menu MILP baseline (XOR buyers; 0: skip it).")
@click.option("--milp-time-limit", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="Seconds for the MILP baseline (a stopped solve is NOT PROVEN).")
@json_option
def train_command(preset, out, no_save, plot, baselines, milp_buyers, milp_time_limit, as_json,
                  **settings):
    """Train a menu; report hard and soft revenue on fresh test buyers (and the baselines)."""
    config = build_config(preset, {k: settings[k] for k in SETTING_KEYS})
    require_torch()
    from mechopt.menus.plot import plot_history
    from mechopt.menus.store import save_menu
    from mechopt.menus.trainer import train_menu

    show = not as_json and sys.stderr.isatty()
    with _Progress(show, config.steps) as bar:
        trained = train_menu(config, progress=bar)
    path = None if no_save else save_menu(trained, out)
    if plot is not None:
        plot = plot_history(trained.history, plot, optimum=known_optimum(config.valuation, config.n_items),
                            title=f"{config.valuation} m={config.n_items} K={config.menu_size} "
                                  f"{config.kind} {config.relaxation}")
    data = _result_dict(trained, path, plot)
    data["menu"] = _menu_table(trained.menu, config, config.test_size, trained.device)
    if baselines:
        from mechopt.cli.menus_cats import baseline_report, print_baselines

        data["baselines"] = baseline_report(trained, milp_buyers=milp_buyers,
                                            milp_time_limit=milp_time_limit)
        data["ratio_to_best_baseline"] = data["baselines"]["ratio_to_best_baseline"]
    if as_json:
        print_json(data)
    else:
        print_metrics(f"menu: {config.valuation} m={config.n_items}, K={config.menu_size} "
                      f"{config.kind} elements, relaxation {config.relaxation}", data)
        if baselines:
            print_baselines(data["baselines"], data["hard_revenue"])


@menus.command("evaluate")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--test-size", type=click.IntRange(min=1), default=None,
              help="Fresh buyers [default: the model's test size].")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Draw a new sample with this seed [default: the model's own test sample].")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True, help="Torch device (auto: CUDA when available).")
@click.option("--reference", "reference_buyers", type=click.IntRange(min=1), default=None,
              metavar="N", help="Also solve the exact pricing MILP on N buyers and compare.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds for the reference MILP (a stopped solve is labelled not optimal).")
@json_option
def evaluate_command(model, test_size, seed, device, reference_buyers, time_limit, as_json):
    """Evaluate the menu in MODEL on fresh buyers (and against the exact MILP reference)."""
    require_torch()
    from mechopt.menus.store import load_menu
    from mechopt.menus.trainer import evaluate_on_fresh_sample, make_generators, resolve_device

    stored = load_menu(model)
    config = stored.config
    n = test_size or config.test_size
    if seed is None:
        # the model's own test stream: the sample its manifest's test metrics came from
        from mechopt.menus.evaluate import evaluate_menu
        from mechopt.menus.valuations import make_valuation

        dev = resolve_device(device)
        buyers = make_valuation(config, dev).sample(n, make_generators(config.seed, dev)["test"])
        metrics = evaluate_menu(stored.menu.to(dev), make_valuation(config, dev), buyers,
                                stored.inverse_temperature)
    else:
        metrics = evaluate_on_fresh_sample(stored.menu, config, n=n, seed=seed,
                                           inverse_temp=stored.inverse_temperature, device=device)
    optimum = known_optimum(config.valuation, config.n_items)
    data: dict[str, Any] = dict(metrics.to_dict())
    data.update(known_optimum=optimum,
                share_of_optimum=metrics.hard_revenue / optimum if optimum else None,
                model=str(model), config=config.to_dict())
    if reference_buyers is not None:
        from mechopt.menus.reference import compare_with_reference

        comparison = compare_with_reference(stored.menu, config, n_buyers=reference_buyers,
                                            test_size=n, device=device, time_limit=time_limit)
        data["reference"] = comparison.to_dict()
    if as_json:
        print_json(data)
    else:
        print_metrics(f"{literal(model)}: {config.valuation} m={config.n_items}, K={config.menu_size} "
                      f"{config.kind} elements", data)
        if "reference" in data:
            print_reference(data["reference"])
    if reference_buyers is not None:
        exit_for(comparison.solve_status)


def print_reference(ref: dict[str, Any]) -> None:
    out = console()
    status = ref["milp_status"]
    label = "" if status == "optimal" else f" [bold red]({not_proven(status)})[/bold red]"
    where = "training pool" if ref["reference_is_training_pool"] else "reference sample"
    out.print(f"[bold]exact reference[/bold]: best deterministic menu on {ref['n_reference_buyers']} "
              f"buyers ({where}), MILP {ref['milp_seconds']:.1f} s{label}")
    prices = ", ".join(f"{k} {money(v)}" for k, v in ref["milp_prices"].items())
    out.print(f"  MILP prices: {prices}")
    out.print(f"  in sample:  MILP {money(ref['milp_in_sample'])}   menu {money(ref['menu_in_sample'])}   "
              f"ratio {ref['ratio_in_sample']:.2%}")
    out.print(f"  test ({ref['n_test_buyers']} buyers): MILP menu {money(ref['milp_test'])}   "
              f"menu {money(ref['menu_test'])}   ratio {ref['ratio_test']:.2%}")


def _menu_table(menu, config, n: int, device: str = "cpu") -> list[dict[str, Any]]:
    """The rows of :func:`mechopt.menus.table.menu_rows` on the config's own test buyers."""
    from mechopt.menus.table import menu_rows
    from mechopt.menus.trainer import make_generators, resolve_device
    from mechopt.menus.valuations import make_valuation

    dev = resolve_device(device)
    valuation = make_valuation(config, dev)
    buyers = valuation.sample(n, make_generators(config.seed, dev)["test"])
    return menu_rows(menu.to(dev), valuation, buyers)


def print_menu_table(rows: list[dict[str, Any]], kind: str, top: int | None = None) -> None:
    from rich.table import Table

    from mechopt.menus.table import element_text

    shown = rows[:-1]
    if top is not None and top < len(shown):
        shown = sorted(shown, key=lambda r: -r["buyers"])[:top]
    table = Table(show_edge=False, header_style="bold")
    table.add_column("element", justify="right")
    table.add_column("bundle (items)" if kind in ("bundle", "priced") else "lottery (item: probability)")
    for col in ("price", "buyers", "revenue"):
        table.add_column(col, justify="right")
    for r in [*shown, rows[-1]]:
        table.add_row("-" if r["element"] is None else str(r["element"]), element_text(r), money(r["price"]),
                      f"{r['buyers']:.1%}", f"{r['revenue']:.1%}")
    console().print(table)
    if len(shown) < len(rows) - 1:
        console().print(f"{len(shown)} of {len(rows) - 1} elements shown (the most chosen); --top to change")
    console().print("buyers: share of the test buyers choosing the element (hard choice); "
                    "revenue: its share of the hard revenue")


@menus.command("show")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--test-size", type=click.IntRange(min=1), default=None,
              help="Test buyers behind the shares [default: the model's test size].")
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Show only the N most chosen elements [default: all].")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True,
              help="Torch device for the evaluation.")
@json_option
def show_command(model, test_size, top, device, as_json):
    """Print the menu in MODEL: each element's bundle or lottery, price, share of test buyers
    choosing it and share of revenue."""
    require_torch()
    from mechopt.menus.store import load_menu

    stored = load_menu(model)
    config = stored.config
    rows = _menu_table(stored.menu, config, test_size or config.test_size, device)
    if as_json:
        print_json({"model": str(model), "kind": config.kind, "n_items": config.n_items,
                    "menu_size": config.menu_size, "n_test_buyers": test_size or config.test_size,
                    "elements": rows, "config": config.to_dict()})
        return
    console().print(f"[bold]{literal(model)}[/bold]: {config.valuation} m={config.n_items}, K={config.menu_size} "
                    f"{config.kind} elements, {test_size or config.test_size} test buyers")
    print_menu_table(rows, config.kind, top)


@menus.command("upgrade")
@click.argument("models", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def upgrade_command(models):
    """Convert format-1 menu files (checksum over the menu only) to checksummed files, and
    deprecated setting names (relaxation seed, seed_lambda, ...) to the current ones.

    The menu must match its checksum; the settings are kept as they are, but for their
    names, and from then on covered by the checksum.  Current files are checked only.
    """
    require_torch()
    from mechopt.menus.store import upgrade_menu

    for model in models:
        click.echo(f"{'upgraded' if upgrade_menu(model) else 'up to date'}: {model}")


@menus.command("reference")
@click.option("--valuation", type=click.Choice(VALUATIONS), default="xor", show_default=True, help="Buyer valuation family.")
@click.option("--items", "n_items", type=click.IntRange(min=1), default=2, show_default=True, help="Number of items.")
@click.option("--atoms", "n_atoms", type=click.IntRange(min=1), default=2, show_default=True, help="XOR atoms per buyer (xor valuation).")
@click.option("--distribution", type=click.Choice(DISTRIBUTIONS), default="L4", show_default=True, help="Generator distribution (generated valuation).")
@click.option("--buyers", "n_buyers", type=click.IntRange(min=1), default=100, show_default=True, help="Buyers in the MILP's sample.")
@click.option("--test-size", type=click.IntRange(min=1), default=131072, show_default=True, help="Fresh test buyers for the hard revenue.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None, help="Seconds for the MILP; a stopped solve is reported as not proven optimal.")
@json_option
def reference_command(valuation, n_items, n_atoms, distribution, n_buyers, test_size, seed,
                      time_limit, as_json):
    """Best deterministic menu (one price per bundle) on a sample of buyers, exactly (MILP)."""
    config = MenuConfig(valuation=valuation, n_items=n_items, n_atoms=n_atoms,
                        distribution=distribution, seed=seed, test_size=test_size, device="cpu")
    require_torch()
    from mechopt.menus.reference import exact_reference

    ref = exact_reference(config, n_buyers, test_size=test_size, time_limit=time_limit)
    data = ref.to_dict()
    if as_json:
        print_json(data)
    else:
        out = console()
        label = ("[green]optimal (proven, gap 0)[/green]" if ref.is_optimal
                 else f"[bold red]{not_proven(ref.status)}[/bold red]")
        out.print(f"best deterministic menu on {ref.n_buyers} {ref.buyers} buyers: {label}, "
                  f"{data['seconds']:.1f} s")
        for name, price in data["prices"].items():
            out.print(f"  {name:>10}  {money(price)}")
        out.print(f"in-sample revenue {money(ref.in_sample_revenue)}; on {ref.n_test_buyers} fresh buyers "
                  f"{money(ref.test_revenue)}" if ref.test_revenue is not None else "no solution")
    exit_for(ref.solve_status)


# --------------------------------------------------------------------------------------
# benchmarks
# --------------------------------------------------------------------------------------
from mechopt.cli.bench import bench  # noqa: E402
from mechopt.cli.options import CommaList, executor_options, make_executor, progress_label  # noqa: E402


def _markdown_table(results, show_target: bool) -> str:
    head = ["configuration", "hard revenue (test)", "soft revenue", "IR viol."]
    if show_target:
        head += ["target", "share"]
    head.append("s/run")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        lines.append("| " + " | ".join(_study_row(r, show_target, missing="–")) + " |")
    return "\n".join(lines)


def _study_row(r, show_target: bool, missing: str) -> list[str]:
    """One study result as table cells (hard revenue with its spread over runs)."""
    spread = f" [{min(r.hard):.3f}, {max(r.hard):.3f}]" if len(r.hard) > 1 else ""
    row = [r.label, f"{r.hard_mean:.4f}{spread}", f"{r.soft_mean:.4f}", f"{r.ir_violation_rate:.3f}"]
    if show_target:
        row += [f"{r.target:.6f}" if r.target else missing,
                f"{r.share_of_target:.2%}" if r.target else missing]
    row.append(f"{r.seconds:.1f}")
    return row


def _study_table(title: str, results, show_target: bool, markdown: bool = False) -> None:
    if markdown:
        click.echo(_markdown_table(results, show_target))
        click.echo("")
        for r in results:
            click.echo(f"- {r.label}: `{config_command(r.config, r.preset)}`")
        return
    from rich.table import Table

    out = console()
    table = Table(title=title, show_edge=False, header_style="bold")
    table.add_column("configuration")
    table.add_column("hard revenue", justify="right")
    table.add_column("soft revenue", justify="right")
    table.add_column("IR viol.", justify="right")
    if show_target:
        table.add_column("target", justify="right")
        table.add_column("share", justify="right")
    table.add_column("s/run", justify="right")
    for r in results:
        table.add_row(*_study_row(r, show_target, missing="-"))
    out.print(table)
    for r in results:
        out.print(f"  {r.label}: [dim]{config_command(r.config, r.preset)}[/dim]")


def _study_dict(r) -> dict[str, Any]:
    """A study result as JSON: the ``mechopt menus train`` command in place of its config."""
    d = r.to_dict()
    del d["config"], d["preset"]
    return {"label": d.pop("label"), "command": config_command(r.config, r.preset), **d}


def _run_study(rows, seeds: int, test_size: int, jobs: int, scheduler, as_json: bool,
               markdown: bool, title: str, show_target: bool) -> None:
    from mechopt.benchmarks.menus import run_study

    with make_executor(jobs, scheduler) as executor:
        results = run_study(rows, tuple(range(seeds)), executor=executor,
                            progress=progress_label("runs", as_json), test_size=test_size)
    if as_json:
        print_json([_study_dict(r) for r in results])
    else:
        _study_table(title, results, show_target=show_target, markdown=markdown)


@bench.command("menus-bundleflow")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Runs per row (seeds 0..N-1); the table shows the mean and [min, max].")
@click.option("--steps", type=click.IntRange(min=1), default=1000, show_default=True, help="Training steps per run.")
@click.option("--test-size", type=click.IntRange(min=1), default=65536, show_default=True, help="Fresh test buyers per run.")
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (for README.md).")
@executor_options
@json_option
def bench_menus_bundleflow(seeds, steps, test_size, markdown, jobs, scheduler, as_json):
    """Reproduce BundleFlow's softmax failure (m=2, a=2, K=4) and compare the remedies."""
    require_torch()
    from mechopt.benchmarks.menus import bundleflow_remedy_rows

    _run_study(bundleflow_remedy_rows(steps), seeds, test_size, jobs, scheduler, as_json, markdown,
               "BundleFlow failure: XOR m=2, a=2, K=4 bundles, prices <= 10 (hard = revenue buyers pay)",
               show_target=False)


def _deprecated_alias(command: click.Command, old: str) -> click.Command:
    """``command`` under its old name ``old``: hidden from ``--help``, warns when run."""
    alias = copy.copy(command)
    alias.name, alias.hidden = old, True
    alias.deprecated = f"Use 'mechopt bench {command.name}'."
    return alias


bench.add_command(_deprecated_alias(bench_menus_bundleflow, "menus-seed"))


@bench.command("menus-goals")
@click.option("--seeds", type=click.IntRange(min=1), default=1, show_default=True, help="Training runs (seeds) per row.")
@click.option("--test-size", type=click.IntRange(min=1), default=262144, show_default=True, help="Fresh test buyers per run.")
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (for README.md).")
@executor_options
@json_option
def bench_menus_goals(seeds, test_size, markdown, jobs, scheduler, as_json):
    """Hard revenue on fresh buyers against the known optima (docs/menus.md#known-optima)."""
    require_torch()
    from mechopt.benchmarks.menus import goal_rows

    _run_study(goal_rows(), seeds, test_size, jobs, scheduler, as_json, markdown,
               "menus against known optima (default settings: K=32 lotteries, RochetNet)",
               show_target=True)


@bench.command("menus")
@click.option("--device", type=click.Choice(DEVICES), default="cpu", show_default=True, help="Torch device.")
@click.option("--threads", type=click.IntRange(min=0), default=1, show_default=True,
              help="torch CPU threads (0: torch's default).")
@click.option("--items", "items", type=CommaList(int), default="2,10,50", show_default=True,
              help="Comma-separated numbers of items m.")
@click.option("--menu-sizes", "sizes", type=CommaList(int), default="64,256,1024", show_default=True,
              help="Comma-separated menu sizes K.")
@click.option("--batch-size", type=click.IntRange(min=1), default=4096, show_default=True, help="Buyers per training step.")
@click.option("--steps", type=click.IntRange(min=1), default=20, show_default=True,
              help="Timed steps per configuration (after 3 warm-up steps).")
@click.option("--target-seeds", type=click.IntRange(min=0), default=3, show_default=True,
              help="Runs of the time-to-target benchmark (0: skip it).")
@click.option("--target-share", type=click.FloatRange(0, 1, min_open=True), default=0.995,
              show_default=True,
              help="Stop when the validation revenue reaches this share of the optimum (a margin "
                   "above 0.99 so that fresh test buyers confirm 99 %).")
@markdown_option
@json_option
def bench_menus(device, threads, items, sizes, batch_size, steps, target_seeds,
                target_share, markdown, as_json):
    """Training throughput (steps/s, buyers/s) and time to 99 % of the 2-item optimum."""
    require_torch()
    from mechopt.benchmarks.menus import throughput, time_to_target

    rows = [throughput(m, k, batch_size=batch_size, steps=steps, device=device, threads=threads)
            for m in items for k in sizes]
    targets = [time_to_target(MenuConfig(n_items=2, seed=s, device=device, threads=threads,
                                         val_size=262144, eval_every=25), share=target_share)
               for s in range(target_seeds)]
    for t in targets:
        t["command"] = config_command(t.pop("config"))
    if as_json:
        print_json({"throughput": rows, "time_to_99": targets})
        return
    print_table(
        ("m", "K", "steps/s", "buyers/s", "CPU ms/step"),
        [[str(r["n_items"]), str(r["menu_size"]), f"{r['steps_per_s']:.1f}", f"{r['buyers_per_s']:,.0f}",
          f"{1000 * r['cpu_seconds_per_step']:.1f}"] for r in rows],
        markdown=markdown,
        title=f"training throughput, additive lotteries, batch {batch_size}, "
              f"{threads or 'default'} thread(s), {rows[0]['device'] if rows else device}",
    )
    if targets:
        if markdown:
            click.echo()
        print_table(
            ("seed", "reached", "wall s", "CPU s (whole run)", "steps", "test revenue", "share"),
            [[str(t["seed"]), "yes" if t["reached"] else "NO", f"{t['seconds_to_target']:.1f}",
              f"{t['cpu_seconds']:.1f}", str(t["steps"]), f"{t['test_hard_revenue']:.4f}",
              f"{t['test_share_of_optimum']:.2%}"] for t in targets],
            markdown=markdown,
            title=f"time until the validation revenue reaches {target_share:.1%} of the 2-item "
                  "additive optimum 0.549201; test = fresh buyers",
            footer=targets[0]["command"],
        )


@bench.command("menus-reference")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True, help="Training runs (seeds) per row.")
@click.option("--buyers", "n_buyers", type=click.IntRange(min=1), default=150, show_default=True,
              help="Size of the fixed training pool that the MILP prices exactly.")
@click.option("--atoms", "n_atoms", type=click.IntRange(min=1), default=2, show_default=True, help="XOR atoms per buyer.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None, help="Seconds per MILP; a stopped solve is reported as not proven optimal.")
@markdown_option
@json_option
def bench_menus_reference(seeds, n_buyers, n_atoms, time_limit, markdown, as_json):
    """XOR m=2: a bundle menu trained on N buyers vs the exact best deterministic menu on them."""
    require_torch()
    from mechopt.menus.reference import compare_with_reference
    from mechopt.menus.trainer import train_menu

    rows = []
    statuses = []
    for s in range(seeds):
        config = MenuConfig(valuation="xor", n_atoms=n_atoms, kind="bundle", menu_size=8,
                            train_pool=n_buyers, batch_size=n_buyers, keep="last", seed=s)
        trained = train_menu(config)
        cmp = compare_with_reference(trained.menu, config, time_limit=time_limit)
        statuses.append(cmp.solve_status)
        rows.append({"seed": s, "command": config_command(config), **cmp.to_dict()})
    if as_json:
        print_json(rows)
        exit_for(SolveStatus.worst(statuses))
        return
    print_table(
        ("seed", "MILP status", "MILP in sample", "menu in sample", "ratio", "MILP menu on test", "menu on test",
         "ratio"),
        [[str(r["seed"]), r["milp_status"], f"{r['milp_in_sample']:.4f}", f"{r['menu_in_sample']:.4f}",
          f"{r['ratio_in_sample']:.2%}", f"{r['milp_test']:.4f}", f"{r['menu_test']:.4f}", f"{r['ratio_test']:.2%}"]
         for r in rows],
        markdown=markdown, left=("seed", "MILP status"),
        footer=f"training: {rows[0]['command']} (seeds 0..{seeds - 1}); test: "
               f"{rows[0]['n_test_buyers']} fresh buyers",
    )
    exit_for(SolveStatus.worst(statuses))
