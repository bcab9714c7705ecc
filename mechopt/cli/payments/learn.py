"""``mechopt payments learn`` and the model side of ``mechopt payments evaluate MODEL``.

Thin wrappers over :mod:`mechopt.learning.train` (grid of fits, model selection on a
validation set), :class:`mechopt.learning.payment_rule.PaymentRule` (save/load, exact
evaluation) and the labelled-dataset cache of :mod:`mechopt.domains.datasets`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mechopt.cli.bench import bench
from mechopt.cli.options import (
    CommaList,
    executor_options,
    json_option,
    make_executor,
    print_json,
    progress_label,
)
from mechopt.cli.payments import payments
from mechopt.cli.report import markdown_option, print_table, settings_text
from mechopt.domains.datasets import make_dataset
from mechopt.domains.distributions import DOMAINS, make_domain
from mechopt.domains.evaluate import DOMAIN_BASELINES
from mechopt.domains.splits import TEST_SEED_OFFSET, VALIDATION_SEED_OFFSET

#: model-selection criteria (mechopt.learning.train.SELECT_BY; the learning modules are imported
#: inside the commands, so that ``mechopt --help`` and other commands stay light)
SELECT_BY = ("regret", "accuracy")

#: attribute maps of the assignment (mechopt.learning.structured.ASSIGNMENT_ATTRIBUTES)
ASSIGNMENT_ATTRIBUTES = ("psi", "leximin")

#: default hyper-parameter grids per domain (C values; RBF γ values)
DEFAULT_C = {"single-item": [1e3, 1e4, 1e5], "mmca": [1e3, 1e4, 1e5], "assignment": [1e2, 1e3, 1e4],
             "assignment-leximin": [1e2, 1e3, 1e4, 1e5]}
DEFAULT_RBF_GAMMA = {"single-item": [0.1, 1.0], "mmca": [0.001, 0.003, 0.01, 0.03], "assignment": [0.1, 0.3, 1.0, 3.0],
                     "assignment-leximin": [0.3, 1.0, 3.0, 10.0]}
DEFAULT_KERNEL = {"single-item": "linear", "mmca": "rbf", "assignment": "rbf"}
DEFAULT_RULE = {"single-item": "optimal", "mmca": "greedy", "assignment": "egalitarian"}
#: default directory of ``payments learn`` models: git-ignored, so that running a documented
#: command never overwrites the committed reference models under ``models/``
DEFAULT_MODEL_DIRECTORY = Path("runs") / "payments"


def domain_from_options(domain: str, agents: int, items, bundles, alpha, beta, gamma):
    """A domain of :mod:`mechopt.domains.distributions` from CLI options (mmca options checked)."""
    settings: dict[str, Any] = {"n_agents": agents}
    mmca = {"n_items": items, "n_bundles": bundles, "alpha": alpha, "beta": beta, "gamma": gamma}
    given = {k: v for k, v in mmca.items() if v is not None}
    if domain != "mmca" and given:
        raise click.UsageError(f"--{next(iter(given)).replace('n_', '').replace('_', '-')} applies to --domain mmca only")
    settings.update(given)
    return make_domain(domain, **settings)


def default_model_name(settings: dict[str, Any], rule: str, attribute: str | None, kernel: str, n_train: int) -> str:
    parts = [settings["domain"], rule, f"n{settings['n_agents']}"]
    if settings["domain"] == "mmca":
        parts += [f"m{settings['n_items']}", f"b{settings['n_bundles']}", f"g{settings['gamma']:g}"]
    if attribute:
        parts.append(attribute)
    parts += [kernel, f"l{n_train}"]
    return "-".join(parts)


@payments.command("learn")
@click.option("--domain", type=click.Choice(list(DOMAINS)), required=True, help="Type distribution.")
@click.option("--rule", default=None, help="Outcome rule [default: mmca: greedy; single-item: optimal; assignment: egalitarian].")
@click.option("--agents", "-n", type=click.IntRange(min=2), default=3, show_default=True, help="Number of agents.")
@click.option("--items", "-m", type=int, default=None, help="mmca: number of items [default: 5].")
@click.option("--bundles", "-b", type=int, default=None, help="mmca: bundles per agent [default: 3].")
@click.option("--alpha", type=float, default=None, help="mmca: bundle-size decay α [default: 0.75].")
@click.option("--beta", type=float, default=None, help="mmca: common-value weight β [default: 0.5].")
@click.option("--gamma", type=float, default=None, help="mmca: complementarity exponent γ [default: 1.0].")
@click.option("--attribute", type=click.Choice(["phi1", "phi2", "psi", "leximin"]), default=None,
              help="Attribute map: auctions phi1 (default) or phi2 (§5.1.1); assignment leximin (default: the "
                   "others' leximin utilities without item j) or psi (the paper's §5.2 map: the others' values "
                   "without item j).")
@click.option("--kernel", type=click.Choice(["linear", "poly", "rbf"]), default=None,
              help="Kernel on the attribute vectors [default: single-item: linear; else rbf].")
@click.option("--C", "Cs", type=CommaList(float), default=None, help="C values to try, comma-separated.")
@click.option("--rbf-gamma", "rbf_gammas", type=CommaList(float), default=None, help="RBF γ values to try.")
@click.option("--degree", type=click.IntRange(min=1), default=2, show_default=True, help="Polynomial kernel degree.")
@click.option("--train", "n_train", type=click.IntRange(min=2), default=500, show_default=True, help="Training examples.")
@click.option("--validation", "n_val", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Validation instances (model selection).")
@click.option("--test", "n_test", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Test instances (0: skip the test evaluation).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help=f"Training seed; validation uses seed+{VALIDATION_SEED_OFFSET}, test seed+{TEST_SEED_OFFSET}.")
@click.option("--select", "select_by", type=click.Choice(SELECT_BY), default="regret", show_default=True,
              help="Keep the fit with the lowest validation regret, or the highest accuracy (the paper).")
@click.option("--null-loss", type=float, default=1.0, show_default=True,
              help="Loss for predicting the null outcome when the true one is not null (IR fix, §4.2.2).")
@click.option("--offset", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Payment offset subtracted from non-null prices (IR fix, §4.2.2).")
@click.option("--candidates", type=click.Choice(["all", "explicit"]), default="all", show_default=True,
              help="Separation over all bundles, or only bundles explicit in the bids (item monotonicity).")
@click.option("--slack", type=click.Choice(["one", "n"]), default="one", show_default=True,
              help="1-slack (aggregated cuts) or n-slack cutting planes.")
@click.option("--epsilon", type=click.FloatRange(min=0, min_open=True), default=0.01, show_default=True,
              help="Stopping tolerance ε of constraint generation.")
@click.option("--max-iter", type=click.IntRange(min=1), default=1000, show_default=True, help="Cutting-plane iterations at most.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Where to save the rule (NAME → NAME.json) [default: runs/payments/<settings>].")
@click.option("--no-save", is_flag=True, help="Do not save the selected rule.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Dataset cache directory.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the dataset cache.")
@executor_options
@json_option
def learn_command(domain, rule, agents, items, bundles, alpha, beta, gamma, attribute, kernel, Cs, rbf_gammas,
                  degree, n_train, n_val, n_test, seed, select_by, null_loss, offset, candidates, slack, epsilon,
                  max_iter, out, no_save, cache_dir, no_cache, jobs, scheduler, as_json):
    """Learn a payment rule for an outcome rule by a structural SVM (Dütting et al. 2012).

    Trains one classifier per grid point (C, and γ for RBF) by cutting planes, keeps the best
    on the validation set, reports its exact test metrics next to the baselines and saves it.
    """
    from mechopt.learning.pipeline import learn_payment_rule
    from mechopt.learning.structured import make_structured_model
    from mechopt.learning.train import make_grid

    dom = domain_from_options(domain, agents, items, bundles, alpha, beta, gamma)
    rule = rule or DEFAULT_RULE[domain]
    if rule not in dom.rules:
        raise click.UsageError(f"rule {rule!r} is not defined for domain {domain!r} (choose from {', '.join(dom.rules)})")
    kernel = kernel or DEFAULT_KERNEL[domain]
    if kernel != "rbf" and rbf_gammas:
        raise click.UsageError("--rbf-gamma applies to --kernel rbf only")
    if domain == "assignment":
        if candidates != "all" or null_loss != 1.0:
            raise click.UsageError("--candidates and --null-loss apply to auctions only")
        attribute = attribute or "leximin"
        if attribute not in ASSIGNMENT_ATTRIBUTES:
            raise click.UsageError(f"--attribute {attribute} applies to auctions only (assignment: psi or leximin)")
        model_options: dict[str, Any] = {"attribute": attribute}
    else:
        attribute = attribute or "phi1"
        if attribute in ASSIGNMENT_ATTRIBUTES:
            raise click.UsageError(f"--attribute {attribute} applies to --domain assignment only (auctions: phi1 or phi2)")
        model_options = {"attribute": attribute, "candidates": candidates, "null_loss": null_loss}
    model = make_structured_model(domain, **model_options)
    grid_key = "assignment-leximin" if attribute == "leximin" else domain
    grid = make_grid(Cs or DEFAULT_C[grid_key], (rbf_gammas or DEFAULT_RBF_GAMMA[grid_key]) if kernel == "rbf" else None)
    learner_options: dict[str, Any] = {"slack": slack, "epsilon": epsilon, "max_iter": max_iter}
    if kernel == "poly":
        learner_options["degree"] = degree
    cache = False if no_cache else (cache_dir if cache_dir is not None else True)
    target = None
    if not no_save:
        target = out or str(DEFAULT_MODEL_DIRECTORY / default_model_name(dom.settings(), rule, model_options.get("attribute"),
                                                                  kernel, n_train))
    with make_executor(jobs, scheduler) as executor:
        result = learn_payment_rule(
            dom, rule, model, kernel, grid, n_train=n_train, n_validation=n_val, n_test=n_test, seed=seed,
            select_by=select_by, learner_options=learner_options, offsets=(offset,), executor=executor, cache=cache,
            progress=lambda label: progress_label(label, as_json), save_to=target,
        )
    selection = result.selection
    grid_rows = [c.summary() for c in selection.candidates]
    rows = []
    if result.test:
        rows.append({"payment": "learned", **result.test[0].to_dict()})
        for p, ev in result.baselines.items():
            rows.append({"payment": p, **ev.to_dict(), "regret_deallocated": None})
    selected = result.selected
    summary = {
        "settings": dom.settings(), "rule": rule, "model": model.to_dict(), "kernel": kernel,
        "selected": selected.point.__dict__, "offset": offset, "grid": grid_rows, "test": rows,
        "saved": None if result.saved is None else str(result.saved), "notes": selection.notes,
        "train_seconds": selected.rule.learner.train_seconds_,
    }
    if as_json:
        print_json(summary)
    else:
        _print_learn(summary)


def _print_learn(summary: dict[str, Any]) -> None:
    from rich.table import Table

    from mechopt.cli.report import console, literal

    out = console()
    s = summary["settings"]
    model = summary["model"] if isinstance(summary["model"], dict) else {"model": summary["model"]}
    out.print(f"[bold]{s['domain']}[/bold] ({settings_text(s, skip=('domain',))}), rule [bold]{summary['rule']}"
              f"[/bold], kernel {literal(summary['kernel'])}\nstructured model: {settings_text(model)}")
    grid = Table(title="model selection (validation set)", show_edge=False, header_style="bold")
    for col in ("C", "γ", "iters", "seconds", "val acc %", "val regret", "val IR", "note"):
        grid.add_column(col, justify="right" if col != "note" else "left")
    chosen = summary["selected"]
    for g in summary["grid"]:
        mark = " ◀" if (g["C"], g["gamma"]) == (chosen["C"], chosen["gamma"]) else ""
        if g.get("error"):
            grid.add_row(f"{g['C']:g}", "-" if g["gamma"] is None else f"{g['gamma']:g}", "-", f"{g['seconds']:.1f}",
                         "-", "-", "-", "rejected: " + literal(g["error"][:60]))
            continue
        grid.add_row(
            f"{g['C']:g}", "-" if g["gamma"] is None else f"{g['gamma']:g}", str(g["iterations"]), f"{g['seconds']:.1f}",
            f"{100 * g['validation_accuracy']:.1f}", f"{g['validation_regret']:.4f}",
            f"{g['validation_ir_violation']:.3f}", ("" if g["converged"] else "not converged") + mark,
        )
    out.print(grid)
    if summary["test"]:
        out.print(_test_table(summary["test"], f"test set, payment offset {summary['offset']:g}"))
    for note in summary["notes"]:
        out.print(f"[yellow]note:[/yellow] {literal(note)}")
    if summary["saved"]:
        out.print(f"saved {literal(summary['saved'])}")


def _test_table(rows: list[dict[str, Any]], title: str):
    from rich.table import Table

    table = Table(title=title, show_edge=False, header_style="bold")
    for col in ("payment", "acc %", "regret", "max regret", "IR viol.", "W ratio", "regret (dealloc.)"):
        table.add_column(col, justify="left" if col == "payment" else "right")
    for r in rows:
        table.add_row(
            r["payment"], f"{100 * r['accuracy']:.1f}", f"{r['regret']:.4f}", f"{r['max_regret']:.3f}",
            f"{r['ir_violation']:.3f}", "-" if r["welfare_ratio"] is None else f"{r['welfare_ratio']:.3f}",
            "-" if r.get("regret_deallocated") is None else f"{r['regret_deallocated']:.4f}",
        )
    return table


def evaluate_model(model_path: str, n_test: int, seed: int, offset: float | None, cache: Any, executor: Any,
                   as_json: bool, baselines: bool = True) -> dict[str, Any]:
    """Evaluate a saved payment rule on a labelled test set of its own domain (and the
    domain's baselines on the same instances); print or return the rows."""
    from mechopt.learning.payment_rule import load_payment_rule
    from mechopt.learning.pipeline import evaluate_against_baselines

    rule = load_payment_rule(model_path)
    if offset is not None:
        rule = rule.with_offset(offset)
    settings = dict(rule.domain)
    domain_name = settings.pop("domain")
    dom = make_domain(domain_name, **settings)
    data = make_dataset(dom, rule.rule, n_test, seed, executor=executor, cache=cache,
                        progress=progress_label(f"labelling {n_test} test instances", as_json))
    (learned,), compared = evaluate_against_baselines(rule, data, DOMAIN_BASELINES[domain_name] if baselines else (),
                                                      offsets=(rule.offset,), executor=executor)
    rows = [{"payment": "learned", **learned.to_dict()}]
    for p, ev in compared.items():
        rows.append({"payment": p, **ev.to_dict(), "regret_deallocated": None})
    summary = {"model": str(model_path), "settings": dom.settings(), "rule": rule.rule, "offset": rule.offset,
               "test_instances": n_test, "seed": seed, "rows": rows}
    if as_json:
        print_json(summary)
    else:
        from mechopt.cli.report import console, literal

        out = console()
        s = summary["settings"]
        out.print(f"model {literal(model_path)}: [bold]{s['domain']}[/bold] "
                  f"({settings_text(s, skip=('domain',))}), rule [bold]{rule.rule}[/bold]; "
                  f"{n_test} test instances (seed {seed}), every agent evaluated exactly")
        out.print(_test_table(rows, f"payment offset {rule.offset:g}"))
    return summary


@payments.command("reproduce")
@click.argument("experiment", type=click.Choice(["single-item", "mmca", "mmca-large", "assignment", "ir-fixes"]))
@click.option("--out", type=click.Path(file_okay=False), default="models/payments", show_default=True,
              help="Results (<experiment>.json), models (<experiment>/) and plots go here.")
@click.option("--agents", "-n", type=CommaList(int), default=None, help="Only these numbers of agents.")
@click.option("--gamma", type=CommaList(float), default=None, help="mmca / ir-fixes: only these γ.")
@click.option("--rule", "rules", type=CommaList(str), default=None, help="mmca: only these rules.")
@click.option("--train", "n_train", type=click.IntRange(min=2), default=None, help="Training examples per row.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Base seed (train, validation and test seeds derive from it).")
@click.option("--fresh", is_flag=True, help="Recompute rows already in the results file.")
@click.option("--table-only", is_flag=True, help="Print the table of existing results; train nothing.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Dataset cache directory.")
@executor_options
@json_option
def reproduce_command(experiment, out, agents, gamma, rules, n_train, seed, fresh, table_only, cache_dir,
                      jobs, scheduler, as_json):
    """Re-run an experiment of Dütting et al. (2012) and print ours next to the paper's numbers.

    EXPERIMENT: single-item (Table 1), mmca (Table 2), mmca-large (Table 2's greedy rows with
    2000 training examples), assignment (§6.4), ir-fixes (Table 4 and Figure 2, plotted to
    <out>/ir-fixes.png).  Rows are saved as they finish; a re-run resumes.
    """
    from mechopt.benchmarks.payments_reproduce import (
        load_results,
        markdown_table,
        plot_ir_fixes,
        run_experiment,
    )

    if rules:
        for r in rules:
            if r not in ("optimal", "greedy"):
                raise click.UsageError(f"--rule must be optimal or greedy, got {r!r}")
    if table_only:
        rows = load_results(Path(out), experiment)
        if not rows:
            raise click.ClickException(f"no results for {experiment!r} under {out}")
    else:
        cache = cache_dir if cache_dir is not None else True
        with make_executor(jobs, scheduler) as executor:
            rows = run_experiment(
                experiment, out, executor=executor, seed=seed, fresh=fresh, cache=cache, agents=agents,
                gammas=gamma, rules=rules, n_train=n_train, progress=lambda label: progress_label(label, as_json),
            )
    plot = None
    if experiment == "ir-fixes":
        plot = str(plot_ir_fixes(rows, Path(out) / "ir-fixes.png"))
    if as_json:
        print_json({"experiment": experiment, "rows": rows, "plot": plot})
        return
    large = load_results(Path(out), "mmca-large") if experiment == "mmca" else None
    click.echo(markdown_table(experiment, rows, large))
    if plot:
        click.echo(f"\nplot: {plot}")


@payments.command("upgrade")
@click.argument("models", nargs=-1, required=True, type=click.Path(dir_okay=False))
def upgrade_command(models):
    """Convert format-1 payment rules (NAME.json + NAME.npz) into single checksummed files.

    Each MODEL's arrays must match the checksum its manifest recorded; the manifest's
    settings are kept as they are and from then on covered by the file's checksum (format 1
    did not protect them).  Files already in the current format are checked and left alone.
    """
    from mechopt.learning.payment_rule import upgrade_payment_rule

    for model in models:
        changed = upgrade_payment_rule(model)
        click.echo(f"{'upgraded' if changed else 'up to date'}: {model}")


@bench.command("learn")
@click.option("--sizes", type=CommaList(int), default="100,300,500,1000,2000,5000", show_default=True,
              help="Training-set sizes (nested prefixes of one sample).")
@click.option("--agents", "-n", type=click.IntRange(min=2), default=6, show_default=True, help="Number of agents.")
@click.option("--items", "-m", type=click.IntRange(min=1), default=5, show_default=True, help="Number of items.")
@click.option("--bundles", "-b", type=click.IntRange(min=1), default=3, show_default=True, help="Bundles per agent.")
@click.option("--gamma", type=float, default=0.5, show_default=True, help="Complementarity exponent γ.")
@click.option("--rule", type=click.Choice(["greedy", "optimal"]), default="greedy", show_default=True, help="Outcome rule.")
@click.option("--attribute", type=click.Choice(["phi1", "phi2"]), default="phi1", show_default=True, help="Attribute map of the structured model.")
@click.option("--C", "C", type=click.FloatRange(min=0, min_open=True), default=1e4, show_default=True, help="SVM regularization constant C.")
@click.option("--rbf-gamma", type=click.FloatRange(min=0, min_open=True), default=0.003, show_default=True, help="RBF kernel γ.")
@click.option("--test", "n_test", type=click.IntRange(min=1), default=1000, show_default=True, help="Test instances.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Base seed (train, validation and test seeds derive from it).")
@markdown_option
@executor_options
@json_option
def bench_learn(sizes, agents, items, bundles, gamma, rule, attribute, C, rbf_gamma, n_test, seed, markdown, jobs,
                scheduler, as_json):
    """Training seconds and test regret of the payment-rule SVM against the training-set size.

    RBF kernel, 1-slack cutting planes, fixed C and γ; labelling (cached) is not timed; the
    executor is used for labelling only (each fit runs in this process, BLAS on all cores).
    """
    from mechopt.benchmarks.learning import benchmark_training_sizes

    with make_executor(jobs, scheduler) as executor:
        rows = benchmark_training_sizes(
            sizes, n_agents=agents, n_items=items, n_bundles=bundles, gamma=gamma, rule=rule, attribute=attribute,
            C=C, rbf_gamma=rbf_gamma, n_test=n_test, seed=seed, executor=executor,
            progress=lambda label: progress_label(label, as_json),
        )
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    print_table(
        ("train", "wall s", "CPU s", "QP s", "iters", "cuts", "support", "acc %", "regret", "IR viol.", "VCG regret"),
        [[str(r.size), f"{r.seconds:.1f}", f"{r.cpu_seconds:.1f}", f"{r.qp_seconds:.1f}",
          str(r.iterations) + ("" if r.converged else "*"), str(r.cuts), str(r.support),
          f"{100 * r.accuracy:.1f}", f"{r.regret:.4f}", f"{r.ir_violation:.3f}", f"{r.vcg_regret:.4f}"] for r in rows],
        markdown=markdown,
        title=f"payment-rule SVM, mmca n={agents} m={items} b={bundles} γ={gamma:g}, rule {rule}, {attribute}, "
              f"RBF C={C:g} γ={rbf_gamma:g}, 1-slack; test {n_test} instances (seed {seed + TEST_SEED_OFFSET})",
    )


#: options of ``payments evaluate`` that describe a domain; a MODEL's manifest fixes them
_DOMAIN_OPTIONS = ("domain", "rule", "payment_rules", "agents", "items", "bundles", "alpha", "beta", "gamma",
                   "solver", "time_limit")


def evaluate_model_command(ctx: click.Context, model: str, n_test: int, seed: int, offset: float | None,
                           cache_dir: str | None, no_cache: bool, jobs: int, scheduler: str | None,
                           as_json: bool) -> None:
    """``mechopt payments evaluate MODEL``: the learned rule and its domain's baselines."""
    from click.core import ParameterSource

    given = [name for name in _DOMAIN_OPTIONS if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE]
    if given:
        raise click.UsageError(f"--{given[0].replace('_', '-').replace('payment-rules', 'payment')} cannot be "
                               "combined with MODEL: the model's manifest fixes its domain and rule")
    cache = False if no_cache else (cache_dir if cache_dir is not None else True)
    with make_executor(jobs, scheduler) as executor:
        evaluate_model(model, n_test, seed, offset, cache, executor, as_json)
