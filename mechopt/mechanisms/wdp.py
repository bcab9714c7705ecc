"""Optimal winner determination: build the MILP, solve it, read the allocation back."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from mechopt.auction import Bid, CombinatorialAuction, id_list
from mechopt.formulations.wdp import build_wdp_model, read_wdp_allocation, unscale_result
from mechopt.mechanisms.greedy import greedy_bids
from mechopt.mechanisms.outcome import Allocation
from mechopt.solve import (
    _SOLVE_LOCK,
    DEFAULT_SOLVER,
    InfeasibleProblem,
    SolverError,
    SolveResult,
    SolveStatus,
    get_solver,
    not_optimal_error,
    solve_model,
    with_defaults,
)

__all__ = ["solve_wdp", "EconomySolver", "WDP_OPTIONS"]

#: solver options for the set-packing MILPs of winner determination, by backend (explicit
#: ``options`` override them).  The HiGHS options were measured on marginal economies of the
#: medium CATS files (threads=1, gap 0, same optima):
#:
#: * no restart of the branch and bound once root reductions have fixed enough columns: six
#:   marginal economies each, alternating runs (load noise ~±30 %), took regions 7.7/9.4 s →
#:   3.7/3.9 s, L3 17.8/16.9 s → 8.3/8.9 s, arbitrary 123/57 s → 46/54 s; L4, paths, matching
#:   (< 0.7 s) unchanged;
#: * no sub-MIP heuristics (RINS, RENS, root reduced cost): most of these MILPs close at the
#:   root or after a few nodes, and the nested sub-MIPs cost more than their incumbents
#:   save.  The full auction and six marginals (two on L7, arbitrary): L3 5.3 → 3.2 s, L6
#:   2.7 → 1.5 s, regions 1.9 → 1.1 s, L7 1.7 → 0.9 s, arbitrary 16.9 → 10.9 s, paths,
#:   matching, scheduling, L2 unchanged (< 0.3 s); the audit's remedy economies of medium L4
#:   (without its 39 suspects; the grouped auction) 3.9 → 2.9 s and 4.1 → 3.2 s for ten.
#: * a cut pool of at most 10 cuts (``mip_pool_soft_limit``, default 10000): the packing rows
#:   already hold the strong cuts, and HiGHS spent its time separating and re-solving LPs
#:   with the others.  Main WDP and eight marginals, two alternating runs each: L3 5.9 → 4.5 s,
#:   L6 2.8 → 1.7 s, L7 2.3 → 1.8 s, L4 0.21 → 0.17 s, regions 2.2 → 2.4 s, paths and
#:   matching unchanged; arbitrary (main and three marginals) 37 → 23 s; medium L4's losers'
#:   auction (the audit's exclusion remedy, without its 39 suspects) and ten of its marginal
#:   economies 4.1 → 1.6 s.
#:
#: Gurobi and CPLEX: no cutting planes and no periodic heuristics.  The rows are item and
#: XOR packing rows, whose LP is already tight (the clique cuts a solver would separate are
#: mostly the rows themselves); the cut rounds and heuristics cost more than they save.
#: Measured on the kept models (main WDP and every marginal economy, threads=1, same proven
#: welfare each time; two alternating runs each, the raw loop of fresh default models for
#: comparison): CPLEX raw → defaults → no cut passes → also no heuristics: L6 7.0 → 6.8 →
#: 1.1 → 0.75 s, L3 3.5 → 3.7 → 1.7 → 0.85 s, L7 3.2 → 3.1 → 0.7 → 0.5 s, arbitrary 8.3 →
#: 8.4 → 4.0 → 3.3 s, regions 1.7 → 1.6 → 0.5 → 0.3 s, L4 0.49 → 0.50 → 0.53 → 0.37 s;
#: Gurobi raw → defaults → Cuts 0 → also Heuristics 0: L3 5.6 → 4.7 → 2.5 → 1.1 s, L6 7.1 →
#: 6.0 → 2.8 → 1.7 s, L7 4.5 → 4.0 → 1.1 → 0.8 s, arbitrary 32 → 29 → 15 → 12 s, regions
#: 1.5 → 1.4 → 1.5 → 0.8 s, L4 0.60 → 0.39 → 0.39 → 0.43 s (paths, matching, L2,
#: scheduling: < 0.3 s either way).  SCIP keeps its defaults: without separation rounds
#: regions took 9.4 → 2.5 s but L4 0.52 → 0.71 s.
#:
#: CPLEX re-solves a kept model from its previous solve's information ("advanced start");
#: ``advance 0`` starts each economy afresh, as HiGHS' ``clearSolver`` does (so that ties do
#: not depend on what the process solved before), at 5–10 % of the time against ``advance 1``
#: (without the options above; three runs: regions 1.47 vs 1.38 s, L6 6.89 vs 6.24 s).  Gurobi keeps its warm start: a ``reset()`` before
#: each re-solve was 10–18 % slower on L3, L6 and L7.  CPLEX parameter names use ``_``
#: between levels (Pyomo's ``cplex_direct`` convention; the kept model takes them too).
WDP_OPTIONS: dict[str, dict[str, Any]] = {
    "highs": {
        "mip_allow_restart": False,
        "mip_heuristic_run_rins": False,
        "mip_heuristic_run_rens": False,
        "mip_heuristic_run_root_reduced_cost": False,
        "mip_pool_soft_limit": 10,
    },
    "cplex": {"advance": 0, "mip_limits_cutpasses": -1, "mip_strategy_heuristicfreq": -1},
    "gurobi": {"Cuts": 0, "Heuristics": 0},
}


def solve_wdp(
    auction: CombinatorialAuction,
    *,
    exclude: Iterable[str] = (),
    must_win: Iterable[str] = (),
    solver: str | Any = DEFAULT_SOLVER,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    threads: int | None = None,
    options: dict[str, Any] | None = None,
) -> Allocation:
    """Welfare-maximizing allocation of ``auction`` (without the bidders in ``exclude``;
    with every bidder in ``must_win`` winning one of its bids).

    The returned :class:`Allocation` carries the solver's report; check ``is_optimal``
    before treating it as the optimum.  A time or iteration limit yields a feasible, unproven
    allocation (the solver's incumbent, or the LOS greedy allocation when the solver stopped
    before finding one, said in its message); a solver error or an unknown stop without a
    solution raises :class:`SolverError` with the cause.  The report's objective
    and bound are in the unit of the values (the MILP is solved scaled, see
    :mod:`mechopt.formulations.wdp`); values outside the guaranteed range raise
    :class:`~mechopt.auction.ValueRangeError`.
    """
    excluded = frozenset(id_list("exclude", exclude))
    required = tuple(id_list("must_win", must_win))
    model = build_wdp_model(auction, exclude=excluded, must_win=required)
    if len(model.BIDS) == 0:  # nobody left: the empty allocation is optimal
        return _empty(auction, excluded, solver)
    result = solve_model(
        model, solver, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
        options=with_defaults(solver, WDP_OPTIONS, options),
    )
    scaled = unscale_result(result, model.objective_scale.value)
    return _allocation_from(auction, lambda: read_wdp_allocation(model), scaled, excluded, required)


def _empty(auction: CombinatorialAuction, excluded: frozenset[str], solver: Any) -> Allocation:
    from mechopt.solve import SolveResult

    kept = auction.welfare_of(())  # the seller keeps every reserve price
    result = SolveResult(SolveStatus.OPTIMAL, kept, kept, 0.0, str(solver), "no bids")
    return Allocation(auction, {}, "optimal", result, excluded)


def economy_exclusion(auction: CombinatorialAuction, exclude: Iterable[str]) -> frozenset[str]:
    """The bidders left out of an economy, as a set of ids (an unknown id raises
    :class:`~mechopt.auction.AuctionError`)."""
    excluded = frozenset(str(b) for b in exclude)
    for b in excluded:
        auction.bidder(b)
    return excluded


def _allocation_from(
    auction: CombinatorialAuction,
    read_bids: Callable[[], Mapping[str, Bid]],
    result: SolveResult,
    excluded: frozenset[str],
    required: tuple[str, ...] = (),
) -> Allocation:
    """The allocation of a WDP solve (see :func:`solve_wdp` for the cases): ``result`` in
    welfare units, ``read_bids`` reads the accepted bids once the solve has a solution."""
    if result.is_limit and not result.has_solution and not required:
        # a time or iteration limit stopped the solver before any incumbent: fall back to the
        # LOS greedy allocation, which is feasible, and say loudly that it is not proven optimal
        greedy = greedy_bids(auction, excluded)
        welfare = auction.welfare_of(greedy.values())
        fallback = replace(
            result,
            status=SolveStatus(result.termination, has_solution=True),
            objective=welfare,
            message=f"{result.termination.value} before any incumbent: greedy allocation used",
        )
        return Allocation(auction, greedy, "optimal", fallback, excluded)
    if result.status == SolveStatus.INFEASIBLE and required:
        raise InfeasibleProblem(f"bidders {', '.join(required)} cannot all win at once")
    if not result.has_solution:
        # x = 0 is always feasible, so anything else is a solver failure (or a limit with
        # must-win bidders, where the greedy allocation need not be feasible)
        text = f"winner determination returned no allocation: {result.status.value}"
        if result.message and result.message != result.termination.value:
            text += f" ({result.message})"
        raise not_optimal_error(result.status, text)
    try:
        bids = read_bids()
    except ValueError as exc:
        raise SolverError(str(exc)) from None
    return Allocation(auction, bids, "optimal", result, excluded)


# ------------------------------------------------------------------------------------------
# re-solves of one model: the economies of an auction without some bidders
# ------------------------------------------------------------------------------------------
class EconomySolver:
    """One WDP model of ``auction``, re-solved for the economy without any set of bidders.

    VCG's marginal economies and the audit's pair economies differ from the full auction
    only by the bidders left out, so instead of building a Pyomo model per economy this
    keeps one model (and one solver object) and leaves bidders out by setting the upper
    bound of their bids' variables to 0.  A persistent interface (HiGHS', Gurobi's and
    SCIP's contrib interfaces, classic ``cplex_persistent``) then sends only those bound
    changes to the solver, which keeps its model between solves.  (Bounds, not ``fix``: a
    fixed variable makes Pyomo's persistent interfaces recompile the objective and every
    constraint it appears in before each solve.)  Columns with bounds [0, 0] are removed by
    presolve, so the re-solve is the same MILP as a fresh build without the bidders (same
    rows, same ``objective_scale``), and the answers are identical.

    ``incumbent`` (an allocation feasible in the economy, e.g. the main allocation without
    the excluded bidders) is handed to solvers that take a MIP start
    (:func:`~mechopt.solve.supports_warm_start`) when ``warm_start`` is on.
    """

    def __init__(
        self, auction: CombinatorialAuction, solver: str | Any = DEFAULT_SOLVER, relax: bool = False
    ) -> None:
        self.auction = auction
        self.model = build_wdp_model(auction)
        self.relaxed = relax
        if relax:  # the LP relaxation: bounds only (:meth:`bound`)
            import pyomo.environ as pyo

            pyo.TransformationFactory("core.relax_integer_vars").apply_to(self.model)
        self.solver = get_solver(solver) if isinstance(solver, str) else solver
        self.name = str(solver) if isinstance(solver, str) else getattr(solver, "mechopt_name", "solver")
        self._vars_of: dict[str, list[Any]] = {}
        for bid_id, bidder in self.model.bid_owner.items():
            self._vars_of.setdefault(bidder, []).append(self.model.x[bid_id])
        self._fixed: frozenset[str] = frozenset()
        from pyomo.solvers.plugins.solvers.persistent_solver import PersistentSolver

        self._legacy_persistent = isinstance(self.solver, PersistentSolver)
        updates = getattr(getattr(self.solver, "config", None), "auto_updates", None)
        if updates is not None:
            # pyomo.contrib.solver's persistent interfaces look for every kind of change
            # before each solve; between economies only variable bounds change
            # (measured on medium L4 with HiGHS: ~10 of ~12 ms per re-solve saved)
            for flag in _UNCHANGING:
                if hasattr(updates, flag):
                    setattr(updates, flag, False)
        if self._legacy_persistent:
            # the classic persistent interfaces take the model once; changes are announced
            self.solver.set_instance(self.model)

    def _exclude(self, excluded: frozenset[str]) -> None:
        changed = []
        for b in self._fixed - excluded:
            for v in self._vars_of.get(b, ()):
                v.setub(1)
                changed.append(v)
        for b in excluded - self._fixed:
            for v in self._vars_of.get(b, ()):
                v.setub(0)
                changed.append(v)
        self._fixed = excluded
        if self._legacy_persistent and getattr(self.solver, "_pyomo_model", None) is self.model:
            for v in changed:  # the classic persistent interfaces need each change announced
                self.solver.update_var(v)

    def _forget_history(self) -> None:
        """Start HiGHS from scratch on the kept model: its basis and incumbent from the
        previous economy would otherwise pick among tied optima, so that the same economy
        could get another optimal allocation depending on what was solved before in the
        process (seen in an audit: 3 winners instead of 2 at equal welfare)."""
        highs = getattr(self.solver, "_solver_model", None)
        if highs is not None and hasattr(highs, "clearSolver"):
            highs.clearSolver()

    def solve(
        self,
        exclude: Iterable[str] = (),
        *,
        incumbent: Mapping[str, Bid] | None = None,
        warm_start: bool = False,
        time_limit: float | None = None,
        mip_gap: float = 0.0,
        threads: int | None = None,
    ) -> Allocation:
        """:func:`solve_wdp` of the economy without ``exclude``, on the kept model."""
        if self.relaxed:
            raise ValueError("a relaxed EconomySolver gives bounds, not allocations")
        excluded = economy_exclusion(self.auction, exclude)
        if excluded.issuperset(self._vars_of):
            return _empty(self.auction, excluded, self.name)
        # threads of one process (a Dask worker with several threads) share this model:
        # fixing, solving and reading back is one step
        with _SOLVE_LOCK:
            self._exclude(excluded)
            self._forget_history()
            if warm_start and incumbent is not None:
                chosen = {bid.id for b, bid in incumbent.items() if b not in excluded}
                for bid_id in self.model.BIDS:
                    if self.model.x[bid_id].ub != 0:
                        self.model.x[bid_id].set_value(1 if bid_id in chosen else 0)
            result = solve_model(
                self.model, self.solver, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                warm_start=warm_start and incumbent is not None,
                options=with_defaults(self.solver, WDP_OPTIONS, None),
            )
            scaled = unscale_result(result, self.model.objective_scale.value)
            return _allocation_from(self.auction, lambda: read_wdp_allocation(self.model), scaled, excluded)


    def bound(self, exclude: Iterable[str] = (), *, threads: int | None = None) -> SolveResult:
        """The solve of the economy without ``exclude`` in welfare units, nothing read back
        (on a relaxed model: the LP bound, an upper bound of the economy's welfare)."""
        excluded = frozenset(str(b) for b in exclude)
        if all(b in excluded for b in self._vars_of):
            empty = _empty(self.auction, excluded, self.name).solve
            assert empty is not None  # the empty allocation carries its (trivial) solve
            return empty
        with _SOLVE_LOCK:
            self._exclude(excluded)
            result = solve_model(self.model, self.solver, threads=threads, load_solutions=False)
        return unscale_result(result, self.model.objective_scale.value)


#: what never changes in a kept economy model (pyomo.contrib.solver's auto_updates flags)
_UNCHANGING = (
    "check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
    "check_for_new_or_removed_params", "check_for_new_objective", "update_constraints",
    "update_parameters", "update_named_expressions", "update_objective",
)
