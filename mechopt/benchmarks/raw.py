"""The WDP built and solved through each solver's own Python API, without Pyomo or mechopt.

The reference for ``mechopt bench wdp --solver ...``: the same set-packing MILP as
:func:`~mechopt.formulations.wdp.build_wdp_model` (one row per item named by a bid, one XOR
row per bidder with two or more bids, objective welfare / ``objective_scale``), gap 0,
one thread, no output.  :func:`raw_sequential_vcg` clears an auction the way a plain
library does (the Java library the issue compares against): one fresh model for the main
problem and one per winner, solved one after another.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from mechopt.auction import Bid, CombinatorialAuction
from mechopt.errors import InputError
from mechopt.formulations.wdp import objective_scale
from mechopt.formulations.wdp_matrix import wdp_columns_and_rows
from mechopt.solve import solver_backend

__all__ = ["raw_wdp", "raw_sequential_vcg", "RAW_SOLVERS"]

Rows = list[list[int]]


def _columns_and_rows(auction: CombinatorialAuction, exclude: Iterable[str]):
    bids, rows = wdp_columns_and_rows(auction, exclude)
    scale = objective_scale(auction)
    return bids, [bid.value / scale for _, bid in bids], rows


def _highs(obj: list[float], rows: Rows) -> list[float]:
    import highspy
    from pyomo.common.tee import capture_output

    from mechopt.solve import prepare_highs_threads

    with capture_output(capture_fd=True):  # HiGHS prints its banner on the first construction
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for key, value in (("mip_rel_gap", 0.0), ("mip_abs_gap", 0.0), ("threads", 1)):
        h.setOptionValue(key, value)
    n = len(obj)
    inf = highspy.kHighsInf
    h.addVars(n, [0.0] * n, [1.0] * n)
    h.changeColsCost(n, list(range(n)), obj)
    h.changeColsIntegrality(n, list(range(n)), [highspy.HighsVarType.kInteger] * n)  # type: ignore[arg-type]
    for ks in rows:
        h.addRow(-inf, 1.0, len(ks), ks, [1.0] * len(ks))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    prepare_highs_threads(1)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"raw HiGHS: {h.modelStatusToString(h.getModelStatus())}")
    return list(h.getSolution().col_value)


def _gurobi(obj: list[float], rows: Rows) -> list[float]:
    import gurobipy as gp

    with gp.Env(params={"OutputFlag": 0}) as env, gp.Model(env=env) as m:
        x = m.addVars(len(obj), vtype=gp.GRB.BINARY, obj=obj)  # type: ignore[call-overload]
        for ks in rows:
            m.addConstr(gp.quicksum(x[k] for k in ks) <= 1)
        m.ModelSense = gp.GRB.MAXIMIZE
        m.Params.MIPGap, m.Params.MIPGapAbs, m.Params.Threads = 0.0, 0.0, 1
        m.optimize()
        if m.Status != gp.GRB.OPTIMAL:
            raise RuntimeError(f"raw Gurobi: status {m.Status}")
        return [x[k].X for k in range(len(obj))]


def _cplex(obj: list[float], rows: Rows) -> list[float]:
    import cplex

    c = cplex.Cplex()
    for stream in (c.set_log_stream, c.set_results_stream, c.set_warning_stream, c.set_error_stream):
        stream(None)
    c.variables.add(obj=obj, lb=[0.0] * len(obj), ub=[1.0] * len(obj), types="B" * len(obj))
    c.objective.set_sense(c.objective.sense.maximize)
    c.linear_constraints.add(
        lin_expr=[cplex.SparsePair(ks, [1.0] * len(ks)) for ks in rows],
        senses="L" * len(rows), rhs=[1.0] * len(rows),
    )
    c.parameters.mip.tolerances.mipgap.set(0.0)
    c.parameters.mip.tolerances.absmipgap.set(0.0)
    c.parameters.threads.set(1)
    c.solve()
    status = c.solution.get_status()
    if status not in (c.solution.status.MIP_optimal, c.solution.status.optimal_tolerance):
        raise RuntimeError(f"raw CPLEX: {c.solution.get_status_string()}")
    values = c.solution.get_values()
    c.end()
    return values


def _scip(obj: list[float], rows: Rows) -> list[float]:
    import pyscipopt as scip

    m = scip.Model()
    m.hideOutput()
    x = [m.addVar(vtype="B", obj=v) for v in obj]
    for ks in rows:
        m.addCons(scip.quicksum(x[k] for k in ks) <= 1)
    m.setMaximize()
    m.setParam("limits/gap", 0.0)
    m.setParam("limits/absgap", 0.0)
    m.optimize()
    if m.getStatus() != "optimal":
        raise RuntimeError(f"raw SCIP: {m.getStatus()}")
    return [m.getVal(v) for v in x]


#: the raw builder-and-solver of each backend
RAW_SOLVERS: dict[str, Callable[[list[float], Rows], list[float]]] = {
    "highs": _highs, "gurobi": _gurobi, "cplex": _cplex, "scip": _scip,
}


def raw_wdp(auction: CombinatorialAuction, solver: str, exclude: Iterable[str] = ()) -> dict[str, Bid]:
    """The optimal allocation, built and solved through ``solver``'s own API."""
    backend = solver_backend(solver)
    if backend is None or backend.name not in RAW_SOLVERS:
        raise InputError(f"no raw reference for solver {solver!r}")
    bids, obj, rows = _columns_and_rows(auction, exclude)
    if not bids:
        return {}
    x = RAW_SOLVERS[backend.name](obj, rows)
    return {bidder: bid for (bidder, bid), v in zip(bids, x, strict=True) if v > 0.5}


def raw_sequential_vcg(auction: CombinatorialAuction, solver: str) -> dict[str, float]:
    """VCG payments from a fresh raw model per winner, one after another."""
    main = raw_wdp(auction, solver)
    welfare = math.fsum(b.value for b in main.values())
    payments = {}
    for w, bid in main.items():
        without = math.fsum(b.value for b in raw_wdp(auction, solver, exclude=[w]).values())
        payments[w] = without - (welfare - bid.value)
    return payments
