"""``mechopt generate``: write random instances from the built-in distributions."""

from __future__ import annotations

from pathlib import Path

import click

from mechopt.cli import cli
from mechopt.generators import DISTRIBUTIONS, PARAMETERS, generate_auction
from mechopt.io import auction_text, save_auction


def _parse_params(values: tuple[str, ...]) -> dict[str, float]:
    params: dict[str, float] = {}
    for text in values:
        key, sep, raw = text.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {text!r}", param_hint="--param")
        try:
            params[key.strip()] = float(raw)
        except ValueError:
            raise click.BadParameter(f"{key}: {raw!r} is not a number", param_hint="--param") from None
    return params


@cli.command("generate")
@click.option("--distribution", "-d", type=click.Choice(DISTRIBUTIONS), default="L4", show_default=True,
              help="L1-L4, L6, L7 (Sandholm's legacy distributions; L4 = decay) or CATS-style arbitrary.")
@click.option("--items", "n_items", type=click.IntRange(min=1), default=16, show_default=True, help="Number of items.")
@click.option("--bids", "n_bids", type=click.IntRange(min=1), default=40, show_default=True, help="Number of bids.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed (the first one with --count).")
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True,
              help="Number of instances (seeds SEED, SEED+1, ...); OUTPUT is then a directory.")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="Override a distribution parameter, e.g. -p alpha=0.75 (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["json", "cats"]), default=None,
              help="Output format [default: from the suffix; json for directories].")
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True,
              help="Output file, or directory with --count > 1; - writes the instance to stdout "
                   "(JSON unless --format cats).")
def generate_command(distribution, n_items, n_bids, seed, count, params, fmt, output):
    """Write random auction instances (JSON or CATS)."""
    overrides = _parse_params(params)
    if "max_sub_bids" in overrides or "const_goods" in overrides:
        for key in ("max_sub_bids", "const_goods"):
            if key in overrides and overrides[key] != int(overrides[key]):
                raise click.BadParameter(f"{key} must be an integer", param_hint="--param")
    for key in overrides:
        if key not in PARAMETERS[distribution]:
            known = ", ".join(PARAMETERS[distribution]) or "none"
            raise click.BadParameter(f"{distribution} has no parameter {key!r} (parameters: {known})",
                                     param_hint="--param")
    if str(output) == "-":
        if count > 1:
            raise click.BadParameter("- (stdout) takes one instance; give a directory for --count > 1",
                                     param_hint="--output")
        auction = generate_auction(distribution, n_items=n_items, n_bids=n_bids, seed=seed, **overrides)
        click.echo(auction_text(auction, fmt or "json"), nl=False)
        return
    if count > 1 or output.is_dir():
        output.mkdir(parents=True, exist_ok=True)
        suffix = ".txt" if fmt == "cats" else ".json"
        targets = [(seed + k, output / f"{distribution}-m{n_items}-b{n_bids}-s{seed + k}{suffix}")
                   for k in range(count)]
    else:
        targets = [(seed, output)]
    for s, path in targets:
        auction = generate_auction(distribution, n_items=n_items, n_bids=n_bids, seed=s, **overrides)
        save_auction(auction, path, format=fmt)
        click.echo(f"wrote {path} ({len(auction.bidders)} bidders, {auction.n_bids} bids)")
