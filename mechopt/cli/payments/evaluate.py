"""``mechopt payments``: payment rules for the mechanism-design domains.

``mechopt payments evaluate`` measures accuracy, ex post regret, IR violation and the
welfare ratio under deallocation of the baseline payment rules (second price, VCG, tot-vcg,
eg-vcg) for an outcome rule on freshly sampled (or cached) labelled test instances — a thin
wrapper over :func:`mechopt.domains.make_dataset` and :func:`mechopt.domains.evaluate.evaluate`.
Comma-separated ``--agents``, ``--gamma`` and ``--payment`` sweep a whole table at once.
"""

from __future__ import annotations

import click

from mechopt.benchmarks.domains import BENCH_TASKS, benchmark_domains
from mechopt.cli.bench import bench
from mechopt.cli.options import (
    CommaList,
    check_jobs,
    executor_options,
    json_option,
    make_executor,
    print_json,
    progress_label,
    solver_options,
)
from mechopt.cli.payments import payments
from mechopt.cli.payments.learn import evaluate_model_command
from mechopt.cli.report import markdown_option, print_table
from mechopt.domains.datasets import make_dataset
from mechopt.domains.distributions import DOMAINS, make_domain
from mechopt.domains.evaluate import BASELINES, DOMAIN_BASELINES, baseline_prices, evaluate
from mechopt.domains.rules import RULE_ALIASES

#: rule used when --rule is not given
DEFAULT_RULES = {"single-item": "optimal", "mmca": "optimal", "assignment": "egalitarian"}
#: (domain, rule) pairs whose labels come from MILPs
MILP_RULES = {("mmca", "optimal"), ("assignment", "egalitarian")}


@payments.command("evaluate")
@click.argument("model", required=False, type=click.Path(dir_okay=False))
@click.option("--domain", type=click.Choice(list(DOMAINS)), default=None,
              help="Type distribution: single item, multi-minded CA or assignment (baselines; "
                   "omit with MODEL, whose manifest names its domain).")
@click.option("--rule", type=click.Choice(["optimal", "greedy", "egalitarian", *RULE_ALIASES]), default=None,
              help="Outcome rule [default: optimal; egalitarian for the assignment]. "
                   "'optimal' in the assignment is the utilitarian rule.")
@click.option("--payment", "payment_rules", type=CommaList(str), default=None,
              help=f"Payment rule(s), comma-separated: {', '.join(BASELINES)} "
                   "[default: the domain's baselines].")
@click.option("--agents", "-n", type=CommaList(int), default="3", show_default=True,
              help="Number(s) of agents, comma-separated (e.g. 2,3,4,5,6).")
@click.option("--items", "-m", type=int, default=None, help="mmca: number of items [default: 5].")
@click.option("--bundles", "-b", type=int, default=None, help="mmca: bundles per agent [default: 3].")
@click.option("--alpha", type=float, default=None, help="mmca: bundle-size decay α [default: 0.75].")
@click.option("--beta", type=float, default=None, help="mmca: common-value weight β [default: 0.5].")
@click.option("--gamma", type=CommaList(float), default=None,
              help="mmca: complementarity exponent(s) γ, comma-separated [default: 1.0].")
@click.option("--test", "n_test", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Test instances per setting.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the test set.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where labelled instances are cached [default: $MECHOPT_CACHE or ~/.cache/mechopt].")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the dataset cache.")
@click.option("--offset", type=click.FloatRange(min=0), default=None,
              help="MODEL only: payment offset replacing the saved one (IR fix).")
@solver_options
@executor_options
@json_option
@click.pass_context
def evaluate_command(ctx, model, domain, rule, payment_rules, agents, items, bundles, alpha, beta, gamma, n_test,
                     seed, cache_dir, no_cache, offset, solver, time_limit, jobs, scheduler, as_json):
    """Accuracy, regret and IR violation of baseline payment rules on labelled test instances,
    or of the learned payment rule saved in MODEL (``mechopt payments learn``).

    Every agent of every test instance is evaluated exactly: its utility at the rule's
    outcome is compared with its best utility over all 2^m bundles (all items in the
    assignment) at the same prices.
    """
    if model is not None:
        return evaluate_model_command(ctx, model, n_test, seed, offset, cache_dir, no_cache, jobs, scheduler, as_json)
    if domain is None:
        raise click.UsageError("give --domain (to evaluate baselines) or a MODEL file (a learned rule)")
    if offset is not None:
        raise click.UsageError("--offset applies to a MODEL only")
    rule = RULE_ALIASES.get(rule, rule) if rule else DEFAULT_RULES[domain]
    payment_rules = payment_rules or list(DOMAIN_BASELINES[domain])
    mmca_given = {"items": items, "bundles": bundles, "alpha": alpha, "beta": beta, "gamma": gamma}
    if domain != "mmca":
        extra = [k for k, v in mmca_given.items() if v is not None]
        if extra:
            raise click.UsageError(f"--{extra[0]} applies to --domain mmca only")
    for p in payment_rules:
        baseline_prices(domain, p)  # unknown or inapplicable payment rule -> ValueError, one line
    gammas = gamma if gamma is not None else [None]
    settings_list = []
    for n in agents:
        for g in gammas:
            settings = {"n_agents": n}
            if domain == "mmca":
                fixed = {"n_items": items, "n_bundles": bundles, "alpha": alpha, "beta": beta, "gamma": g}
                settings.update({k: v for k, v in fixed.items() if v is not None})
            settings_list.append(make_domain(domain, **settings))  # bad settings -> ValueError
    for d in settings_list:
        if rule not in d.rules:
            raise click.UsageError(f"rule {rule!r} is not defined for domain {domain!r} (choose from {', '.join(d.rules)})")
    cache = False if no_cache else (cache_dir if cache_dir is not None else True)
    rows = []
    with make_executor(jobs, scheduler) as executor:
        for d in settings_list:
            data = make_dataset(
                d, rule, n_test, seed, executor=executor, solver=solver, time_limit=time_limit, cache=cache,
                progress=progress_label(f"labelling {n_test} instances ({d.name}, n={d.n_agents}, {rule})", as_json),
            )
            for p in payment_rules:
                result = evaluate(data.profiles, data.outcomes, baseline_prices(domain, p, executor=executor))
                rows.append({
                    "settings": d.settings(),
                    "rule": rule,
                    "payment": p,
                    "test_instances": n_test,
                    "seed": seed,
                    "labels": data.status.value,
                    "label_seconds": data.label_seconds,
                    "from_cache": data.from_cache,
                    "cache_file": str(data.cache_path) if data.cache_path else None,
                    **result.to_dict(),
                })
    if as_json:
        print_json(rows)
    else:
        _print_rows(domain, rule, rows)


def _print_rows(domain: str, rule: str, rows: list[dict]) -> None:
    from rich.table import Table

    from mechopt.cli.report import console

    out = console()
    first = rows[0]
    fixed = {k: v for k, v in first["settings"].items() if k not in ("domain", "n_agents", "gamma")}
    extra = ", ".join(f"{k}={v}" for k, v in fixed.items())
    milp = (domain, rule) in MILP_RULES
    labels = f"labels {first['labels']} (MILPs at gap 0)" if milp else "labels exact (no MILP)"
    out.print(
        f"[bold]{domain}[/bold], rule [bold]{rule}[/bold]{', ' + extra if extra else ''}; "
        f"{first['test_instances']} test instances (seed {first['seed']}), {labels}; "
        "every agent evaluated exactly"
    )
    table = Table(show_edge=False, header_style="bold")
    table.add_column("n", justify="right")
    if domain == "mmca":
        table.add_column("γ", justify="right")
    table.add_column("payment")
    for col in ("acc %", "regret", "max regret", "IR viol.", "W ratio", "labels"):
        table.add_column(col, justify="right")
    for r in rows:
        cells = [str(r["settings"]["n_agents"])]
        if domain == "mmca":
            cells.append(f"{r['settings']['gamma']:g}")
        ratio = "-" if r["welfare_ratio"] is None else f"{r['welfare_ratio']:.3f}"
        cells += [
            r["payment"], f"{100 * r['accuracy']:.1f}", f"{r['regret']:.3f}", f"{r['max_regret']:.3f}",
            f"{r['ir_violation']:.2f}", ratio, "cached" if r["from_cache"] else f"{r['label_seconds']:.1f} s",
        ]
        table.add_row(*cells)
    out.print(table)
    out.print(
        "acc: agents whose outcome maximizes their utility at the prices; regret: mean ex post "
        "regret per agent; IR viol.: share of agents with negative utility; W ratio: welfare "
        "after / before deallocating them; labels: seconds to sample and label, or cached."
    )


# --------------------------------------------------------------------------------------
# benchmark
# --------------------------------------------------------------------------------------
@bench.command("domains")
@click.option("--instances", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Instances to sample and label per measurement.")
@click.option("--jobs", "jobs_list", type=CommaList(int), default="1,2", show_default=True,
              help="Worker-process counts to measure, comma-separated.")
@click.option("--agents", type=click.IntRange(min=2), default=6, show_default=True, help="mmca: agents.")
@click.option("--items", type=click.IntRange(min=1), default=5, show_default=True, help="mmca: items.")
@click.option("--bundles", type=click.IntRange(min=1), default=3, show_default=True, help="mmca: bundles per agent.")
@click.option("--assignment-agents", type=click.IntRange(min=2), default=6, show_default=True,
              help="assignment: agents (= items).")
@click.option("--task", "tasks", type=click.Choice(BENCH_TASKS), multiple=True,
              help="Measure only these tasks (repeatable) [default: all].")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed of the test instances.")
@markdown_option
@json_option
def bench_domains(instances, jobs_list, agents, items, bundles, assignment_agents, tasks, seed, markdown, as_json):
    """Seconds to sample and label instances under each outcome rule (no cache).

    mmca-optimal: winner-determination MILPs (Pyomo + HiGHS, gap 0, checked against the
    exact dynamic program); mmca-greedy: vectorized LOS greedy; assignment-egalitarian:
    leximin by ordered-outcomes MILPs (n solves per instance).  Worker start-up is measured
    separately from the labelling.
    """
    check_jobs(None, None, jobs_list)
    from mechopt.domains.distributions import AssignmentProblem, MultiMindedCA

    rows = benchmark_domains(
        instances=instances, jobs=jobs_list, tasks=tasks or BENCH_TASKS, seed=seed,
        mmca=MultiMindedCA(n_agents=agents, n_items=items, n_bundles=bundles),
        assignment=AssignmentProblem(n_agents=assignment_agents),
        progress=progress_label("x", as_json) is not None,
    )
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    print_table(
        ("task", "jobs", "start-up s", "seconds", "ms/inst.", "MILPs", "labels"),
        [[r.task, str(r.jobs), f"{r.startup_s:.1f}", f"{r.seconds:.3g}", f"{r.ms_per_instance:.3g}",
          str(r.milp_solves), "exact" if r.milp_solves == 0 and r.status == "optimal" else r.status] for r in rows],
        markdown=markdown, left=("task", "labels"),
        title=f"sample + label {instances} instances per row: mmca n={agents} m={items} b={bundles}, "
              f"assignment n={assignment_agents} (seed {seed}, no cache)",
    )
