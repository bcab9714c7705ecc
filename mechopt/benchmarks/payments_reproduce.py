"""Reproduction of the experiments of Dütting et al. (EC 2012, §6) with this package.

Each experiment is a list of rows (a domain setting, an outcome rule, an attribute map);
for every row a grid of cutting-plane fits is trained, the best is selected on a validation
set (:mod:`mechopt.learning.train`), evaluated exactly on a test set next to the baselines
of :mod:`mechopt.domains.evaluate`, and saved under ``<out>/<experiment>/`` with its
manifest.  Results are written to ``<out>/<experiment>.json`` after every row (atomically),
so an interrupted run resumes where it stopped.

Experiments
-----------
``single-item``  Table 1: n = 2..6, values U[0,1], optimal rule, φ1 and φ2, linear kernel,
                 300 training examples.
``mmca``         Table 2: multi-minded CA, m = 5, b = 3, α = 0.75, optimal and greedy
                 rules, γ ∈ {0.5, 1.0, 1.5}, n = 2..6, φ1 and φ2, RBF kernel.
``mmca-large``   the greedy rows of Table 2 with γ ∈ {0.5, 1.0} again, φ1, with 2000
                 training examples (four times the paper's largest set).
``assignment``   Table 6: egalitarian (leximin) assignment, n agents = n items, RBF kernel;
                 the paper's attribute map ψ (the others' values without item j) and the
                 leximin map (the others' leximin utilities without item j, see
                 :class:`~mechopt.learning.structured.AssignmentModel`).
``ir-fixes``     Table 4 / Figure 2: greedy rule, n = 6, γ ∈ {0.5, 1.0, 1.5}; one rule per
                 null loss, evaluated across payment offsets (regret, IR violation, welfare
                 ratio under deallocation); :func:`plot_ir_fixes` draws Figure 2.

Each row runs :func:`mechopt.learning.pipeline.learn_payment_rule`: validation and test sets
use the seeds ``seed + 10000`` and ``seed + 20000`` (the training set ``seed``,
:func:`mechopt.domains.splits.split_seeds`), labelled datasets are cached
(:mod:`mechopt.domains.datasets`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mechopt.benchmarks.payments_paper import TABLE1_SINGLE_ITEM, TABLE2_MMCA
from mechopt.domains.distributions import make_domain
from mechopt.domains.evaluate import DOMAIN_BASELINES
from mechopt.errors import InputError
from mechopt.io.atomic import atomic_write_text
from mechopt.learning.pipeline import learn_payment_rule
from mechopt.learning.structured import make_structured_model
from mechopt.learning.train import GridPoint, make_grid
from mechopt.parallel import Executor

__all__ = ["RowPlan", "EXPERIMENTS", "plan_experiment", "run_experiment", "load_results", "markdown_table",
           "plot_ir_fixes", "IR_OFFSETS", "IR_NULL_LOSSES"]

#: payment offsets swept by the IR-fix experiment (value units)
IR_OFFSETS = (0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2)
#: null losses of the IR-fix experiment
IR_NULL_LOSSES = (1.0, 1.5, 2.0, 3.0)

MMCA_C = (1e3, 1e4, 1e5)
#: RBF γ values times (n − 1): squared distances between attribute vectors grow linearly with
#: the number of other agents, so γ is scaled by 1/(n − 1) (n = 6: 0.001 … 0.03)
MMCA_RBF_GAMMA_AGENTS = (0.005, 0.015, 0.05, 0.15)


def mmca_grid(n_agents: int) -> tuple[GridPoint, ...]:
    """The (C, γ) grid of a multi-minded CA row with ``n_agents`` agents."""
    return tuple(make_grid(MMCA_C, [g / (n_agents - 1) for g in MMCA_RBF_GAMMA_AGENTS]))
#: C and RBF γ of the assignment rows with the leximin map: its vectors (n − 1 sorted utilities)
#: lie at squared distances of about 0.1 whatever n, so one γ grid around 1/0.1 serves every n
ASSIGNMENT_LEXIMIN_C = (1e2, 1e3, 1e4, 1e5)
ASSIGNMENT_LEXIMIN_GAMMA = (0.3, 1.0, 3.0, 10.0)
#: baselines compared in the reproduction beyond the domain's own (DOMAIN_BASELINES): the
#: paper's literal vcg of the assignment (tot-vcg's accuracy and regret, higher payments)
PAPER_BASELINES = {"assignment": ("vcg-paper",)}


@dataclass(frozen=True)
class RowPlan:
    """One row of an experiment: what to train and how."""

    experiment: str
    domain: str
    settings: dict[str, Any]
    rule: str
    attribute: str | None
    kernel: str
    grid: tuple[GridPoint, ...]
    n_train: int
    n_validation: int = 1000
    n_test: int = 1000
    null_loss: float = 1.0
    offsets: tuple[float, ...] = (0.0,)

    @property
    def key(self) -> str:
        parts = [self.domain, self.rule] + [f"{k}{v:g}" if isinstance(v, float) else f"{k}{v}"
                                            for k, v in sorted(self.settings.items())]
        if self.attribute:
            parts.append(self.attribute)
        if self.null_loss != 1.0:
            parts.append(f"null{self.null_loss:g}")
        parts += [self.kernel, f"l{self.n_train}"]
        return "-".join(parts).replace("n_agents", "n").replace("n_items", "m").replace("n_bundles", "b")


def plan_experiment(name: str, *, agents: Sequence[int] | None = None, gammas: Sequence[float] | None = None,
                    rules: Sequence[str] | None = None, n_train: int | None = None) -> list[RowPlan]:
    """The rows of experiment ``name`` (optionally restricted to some n, γ, rules)."""
    rows: list[RowPlan] = []
    if name == "single-item":
        for n in agents or (2, 3, 4, 5, 6):
            for attr in ("phi1", "phi2"):
                rows.append(RowPlan(name, "single-item", {"n_agents": n}, "optimal", attr, "linear",
                                    tuple(make_grid((1e3, 1e4, 1e5), None)), n_train or 300))
    elif name == "mmca":
        for rule in rules or ("optimal", "greedy"):
            for g in gammas or (0.5, 1.0, 1.5):
                for n in agents or (2, 3, 4, 5, 6):
                    for attr in ("phi1", "phi2"):
                        rows.append(RowPlan(name, "mmca", {"n_agents": n, "gamma": g}, rule, attr, "rbf",
                                            mmca_grid(n), n_train or 500))
    elif name == "mmca-large":
        # the greedy rows where the paper's learned rule beats VCG, with 4x the paper's data
        for g in gammas or (0.5, 1.0):
            for n in agents or (2, 3, 4, 5, 6):
                grid = tuple(make_grid((1e4, 1e5), [x / (n - 1) for x in (0.005, 0.015, 0.05)]))
                rows.append(RowPlan(name, "mmca", {"n_agents": n, "gamma": g}, "greedy", "phi1", "rbf", grid,
                                    n_train or 2000))
    elif name == "assignment":
        for n in agents or (3, 4, 5, 6):
            # attribute None: the paper's map ψ (row keys as before the leximin map existed)
            rows.append(RowPlan(name, "assignment", {"n_agents": n}, "egalitarian", None, "rbf",
                                tuple(make_grid((1e2, 1e3, 1e4), (0.1, 0.3, 1.0, 3.0))), n_train or 500))
            rows.append(RowPlan(name, "assignment", {"n_agents": n}, "egalitarian", "leximin", "rbf",
                                tuple(make_grid(ASSIGNMENT_LEXIMIN_C, ASSIGNMENT_LEXIMIN_GAMMA)), n_train or 500))
    elif name == "ir-fixes":
        for g in gammas or (0.5, 1.0, 1.5):
            for n in agents or (6,):
                for null_loss in IR_NULL_LOSSES:
                    rows.append(RowPlan(name, "mmca", {"n_agents": n, "gamma": g}, "greedy", "phi1", "rbf",
                                        mmca_grid(n), n_train or 500,
                                        null_loss=null_loss, offsets=IR_OFFSETS))
    else:
        raise InputError(f"unknown experiment {name!r} (choose from {', '.join(EXPERIMENTS)})")
    return rows


EXPERIMENTS = ("single-item", "mmca", "mmca-large", "assignment", "ir-fixes")


def _paper(plan: RowPlan) -> dict[str, Any] | None:
    if plan.domain == "single-item":
        entry: Mapping[str, tuple[float, ...]] | None = TABLE1_SINGLE_ITEM.get(plan.settings["n_agents"])
        if entry is None:
            return None
        i = 0 if plan.attribute == "phi1" else 1
        return {k: v[i] for k, v in entry.items()}
    if plan.domain == "mmca" and plan.experiment in ("mmca", "mmca-large"):
        entry = TABLE2_MMCA.get((plan.rule, plan.settings["n_agents"], float(plan.settings["gamma"])))
        if entry is None:
            return None
        i = 1 if plan.attribute == "phi1" else 2
        return {**{k: v[i] for k, v in entry.items()}, **{f"vcg_{k}": v[0] for k, v in entry.items()}}
    return None


def run_row(plan: RowPlan, out: Path, executor: Executor, seed: int = 0, cache: Any = True,
            progress: Callable[[str], str | None] = lambda label: None) -> dict[str, Any]:
    """Train, select, evaluate and save one row; return its JSON-ready result."""
    start = time.perf_counter()
    domain = make_domain(plan.domain, **plan.settings)
    if plan.domain == "assignment":
        options: dict[str, Any] = {"attribute": plan.attribute} if plan.attribute else {}
    else:
        options = {"attribute": plan.attribute, "null_loss": plan.null_loss}
    model = make_structured_model(plan.domain, **options)
    result = learn_payment_rule(
        domain, plan.rule, model, plan.kernel, plan.grid, n_train=plan.n_train, n_validation=plan.n_validation,
        n_test=plan.n_test, seed=seed, learner_options={"epsilon": 0.01, "max_iter": 1000}, offsets=plan.offsets,
        baselines=DOMAIN_BASELINES[plan.domain] + PAPER_BASELINES.get(plan.domain, ()), executor=executor,
        cache=cache, progress=lambda label: progress(f"{plan.key}: {label}"), strict=False,
        info={"experiment": plan.experiment,
              "results": f"{plan.experiment}.json (key {plan.key}: the whole grid)"},
        save_to=out / plan.experiment / plan.key,
    )
    row: dict[str, Any] = {
        "key": plan.key, "experiment": plan.experiment, "domain": plan.domain, "settings": domain.settings(),
        "rule": plan.rule, "attribute": plan.attribute, "kernel": plan.kernel, "null_loss": plan.null_loss,
        "n_train": plan.n_train, "n_validation": plan.n_validation, "n_test": plan.n_test, "seed": seed,
        "grid": [c.summary() for c in result.selection.candidates], "notes": result.selection.notes,
        "paper": _paper(plan),
    }
    row["baselines"] = {p: ev.to_dict() for p, ev in result.baselines.items()}
    if result.payment_rule is None:
        row["error"] = "no grid point gave a payment rule"
        row["seconds"] = time.perf_counter() - start
        return row
    selected = result.selected
    assert selected is not None and selected.validation is not None  # a payment rule was selected
    learner = result.payment_rule.learner
    row["selected"] = {"C": selected.point.C, "gamma": selected.point.gamma}
    row["validation"] = selected.validation.to_dict()
    row["train_seconds"] = learner.train_seconds_
    row["iterations"] = learner.n_iter_
    row["converged"] = learner.converged_
    row["qp_fallbacks"] = learner.qp_fallbacks_
    row["support"] = None if learner.support_ is None else learner.support_.n
    per_offset = [{"offset": o, **ev.to_dict()} for o, ev in zip(result.offsets, result.test, strict=True)]
    row["test"] = per_offset[0]
    if len(plan.offsets) > 1:
        row["offsets"] = per_offset
    row["model"] = str(result.saved)
    row["seconds"] = time.perf_counter() - start
    return row


def results_path(out: Path, name: str) -> Path:
    return Path(out) / f"{name}.json"


def load_results(out: Path, name: str) -> list[dict[str, Any]]:
    """Rows already computed for experiment ``name`` (empty if none)."""
    path = results_path(out, name)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc}); delete it to start afresh") from None
    return list(data.get("rows", []))


def run_experiment(name: str, out: str | Path = "models/payments", *, executor: Executor | None = None,
                   seed: int = 0, fresh: bool = False, cache: Any = True,
                   agents: Sequence[int] | None = None, gammas: Sequence[float] | None = None,
                   rules: Sequence[str] | None = None, n_train: int | None = None,
                   progress: Callable[[str], str | None] = lambda label: None,
                   on_row: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run (or resume) an experiment; results go to ``<out>/<name>.json`` after each row."""
    out = Path(out)
    plans = plan_experiment(name, agents=agents, gammas=gammas, rules=rules, n_train=n_train)
    existing = {r["key"]: r for r in load_results(out, name) if r.get("seed", 0) == seed}
    done = {} if fresh else existing
    executor = executor or Executor(1)
    # rows outside this run's plan are kept (``--fresh -n 2`` recomputes n = 2 only)
    rows = list(existing.values())
    for plan in plans:
        if plan.key in done:
            continue
        row = run_row(plan, out, executor, seed=seed, cache=cache, progress=progress)
        rows = [r for r in rows if r["key"] != row["key"]] + [row]
        atomic_write_text(results_path(out, name),
                          json.dumps({"experiment": name, "rows": rows}, indent=1, allow_nan=False) + "\n")
        if on_row is not None:
            on_row(row)
    order = {p.key: i for i, p in enumerate(plan_experiment(name))}
    return sorted(rows, key=lambda r: order.get(r["key"], len(order)))


# --------------------------------------------------------------------------------------
# tables and figures
# --------------------------------------------------------------------------------------
def _f(x: Any, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _pct(x: Any) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


#: payment offsets shown in the ir-fixes table (every offset is in the results file and the plot)
IR_FIXES_TABLE_OFFSETS = (0.0, 0.04, 0.1)


def markdown_table(name: str, rows: list[dict[str, Any]], large: list[dict[str, Any]] | None = None) -> str:
    """A README table of an experiment's results (ours, the paper's, the baselines).

    For ``mmca``, ``large`` (rows of ``mmca-large``) adds a column with more training data.
    """
    lines: list[str] = []
    r: Any  # a row (dict), or a looked-up one that may be None
    if name == "single-item":
        lines += ["| n | map | acc % ours / paper | regret ours / paper | IR ours / paper | 2nd price regret |",
                  "|---|---|---|---|---|---|"]
        for r in rows:
            t, p = r.get("test", {}), r.get("paper") or {}
            lines.append(f"| {r['settings']['n_agents']} | {r['attribute']} | {_pct(t.get('accuracy'))} / "
                         f"{p.get('accuracy', '–')} | {_f(t.get('regret'), 4)} / {_f(p.get('regret'))} | "
                         f"{_f(t.get('ir_violation'))} / {_f(p.get('ir_violation'), 2)} | "
                         f"{_f(r['baselines']['second-price']['regret'], 4)} |")
    elif name == "mmca":
        big = {}  # the largest training set per (γ, n)
        for r in sorted((r for r in (large or []) if "test" in r), key=lambda r: r["n_train"]):
            big[(r["settings"]["gamma"], r["settings"]["n_agents"])] = r
        sizes = sorted({r["n_train"] for r in big.values()})
        extra = " φ1 ours, more data: ℓ, acc / regret / IR |" if sizes else ""
        lines += ["| rule | γ | n | VCG acc / regret / IR | φ1 ours: acc / regret / IR | φ1 paper | "
                  "φ2 ours: acc / regret / IR | φ2 paper |" + extra,
                  "|---|---|---|---|---|---|---|---|" + ("---|" if sizes else "")]
        grouped: dict[tuple, dict[str, dict]] = {}
        for r in rows:
            k = (r["rule"], r["settings"]["gamma"], r["settings"]["n_agents"])
            grouped.setdefault(k, {})[r["attribute"]] = r
        for (rule, g, n), by_attr in grouped.items():
            any_row = next(iter(by_attr.values()))
            v = any_row["baselines"]["vcg"]
            cells = [rule, f"{g:g}", str(n), f"{_pct(v['accuracy'])} / {_f(v['regret'])} / {_f(v['ir_violation'], 2)}"]
            for attr in ("phi1", "phi2"):
                r = by_attr.get(attr)
                if r is None or "test" not in r:
                    cells += ["–", "–"]
                    continue
                t, p = r["test"], r.get("paper") or {}
                cells.append(f"{_pct(t['accuracy'])} / {_f(t['regret'])} / {_f(t['ir_violation'], 2)}")
                cells.append(f"{p.get('accuracy', '–')} / {_f(p.get('regret'))} / {_f(p.get('ir_violation'), 2)}"
                             if p else "–")
            if sizes:
                r = big.get((g, n)) if rule == "greedy" else None
                t = r["test"] if r else None
                cells.append(f"{r['n_train']}: {_pct(t['accuracy'])} / {_f(t['regret'])} / {_f(t['ir_violation'], 2)}"
                             if t else "")
            lines.append("| " + " | ".join(cells) + " |")
    elif name == "mmca-large":
        return markdown_table("mmca", [], rows) if not rows else _large_table(rows)
    elif name == "assignment":
        by_n: dict[int, dict[str, dict]] = {}
        for r in rows:
            by_n.setdefault(r["settings"]["n_agents"], {})[r.get("attribute") or "psi"] = r
        lines += ["| n | learned, ψ (paper's map): acc / regret / IR | learned, leximin map: acc / regret / IR | "
                  "vcg regret / IR | tot-vcg regret / IR | eg-vcg regret / IR | vcg-paper regret / IR |",
                  "|---|---|---|---|---|---|---|"]
        for n, by_attr in by_n.items():
            cells = [str(n)]
            for attr in ("psi", "leximin"):
                t = (by_attr.get(attr) or {}).get("test")
                cells.append(f"{_pct(t['accuracy'])} / {_f(t['regret'])} / {_f(t['ir_violation'], 2)}" if t else "–")
            b = next(iter(by_attr.values()))["baselines"]
            for p in ("vcg", "tot-vcg", "eg-vcg", "vcg-paper"):
                cells.append(f"{_f(b[p]['regret'])} / {_f(b[p]['ir_violation'], 2)}" if p in b else "–")
            lines.append("| " + " | ".join(cells) + " |")
    elif name == "ir-fixes":
        shown = IR_FIXES_TABLE_OFFSETS
        lines += ["| γ | null loss | offset 0: regret / IR / W ratio | "
                  + " | ".join(f"offset {o:g}" for o in shown[1:]) + " |",
                  "|---|---|" + "---|" * len(shown)]
        for r in rows:
            by_offset = {round(o["offset"], 9): o for o in r.get("offsets", [])}
            cells = [f"{r['settings']['gamma']:g}", f"{r['null_loss']:g}"]
            for off in shown:
                o = by_offset.get(round(off, 9))
                cells.append(f"{_f(o['regret'])} / {_f(o['ir_violation'], 2)} / {_f(o['welfare_ratio'], 2)}"
                             if o else "–")
            lines.append("| " + " | ".join(cells) + " |")
    else:
        raise InputError(f"unknown experiment {name!r}")
    return "\n".join(lines)


def _large_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| γ | n | ℓ | VCG regret / IR | φ1 ours: acc / regret / IR | φ1 paper (ℓ ≤ 500) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        t, p, v = r.get("test"), r.get("paper") or {}, r["baselines"]["vcg"]
        lines.append(f"| {r['settings']['gamma']:g} | {r['settings']['n_agents']} | {r['n_train']} | "
                     f"{_f(v['regret'])} / {_f(v['ir_violation'], 2)} | "
                     + (f"{_pct(t['accuracy'])} / {_f(t['regret'])} / {_f(t['ir_violation'], 2)}" if t else "–")
                     + f" | {p.get('accuracy', '–')} / {_f(p.get('regret'))} / {_f(p.get('ir_violation'), 2)} |")
    return "\n".join(lines)


def plot_ir_fixes(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Figure 2 of the paper: regret against IR violation across payment offsets, one line
    per null loss, one panel per γ (PNG, written atomically)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mechopt.io.atomic import atomic_write_bytes

    gammas = sorted({r["settings"]["gamma"] for r in rows if "offsets" in r})
    if not gammas:
        raise InputError("no IR-fix results to plot (run the ir-fixes experiment first)")
    fig, axes = plt.subplots(1, len(gammas), figsize=(4.2 * len(gammas), 3.6), squeeze=False)
    for ax, g in zip(axes[0], gammas, strict=True):
        for r in sorted((r for r in rows if r["settings"]["gamma"] == g and "offsets" in r),
                        key=lambda r: r["null_loss"]):
            ir = [o["ir_violation"] for o in r["offsets"]]
            regret = [o["regret"] for o in r["offsets"]]
            ax.plot(ir, regret, marker="o", ms=3, label=f"null loss {r['null_loss']:g}")
            ax.annotate("offset 0", (ir[0], regret[0]), fontsize=6, xytext=(3, 3), textcoords="offset points")
        ax.set_title(f"greedy rule, n = {rows[0]['settings']['n_agents']}, γ = {g:g}")
        ax.set_xlabel("IR violation (share of agents)")
        ax.set_ylabel("mean ex post regret")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"IR fixes: payment offsets 0 → {max(IR_OFFSETS):g} along each line", fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    path = Path(path)
    atomic_write_bytes(path, buffer.getvalue())
    return path

