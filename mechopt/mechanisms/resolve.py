"""Kept models for the economies of an auction: one model per worker, re-solved many times.

VCG's marginal economies and the audit's economies differ from the full auction only by the
bidders left out (docs/auctions.md#winner-determination), so every worker process keeps one
model per auction and solver and leaves bidders out by setting the upper bounds of their
bids' columns to 0, instead of building a model per economy.  :func:`economy_solver` hands
out this process's kept model:

* the plain names ``highs`` (the default), ``gurobi``, ``cplex`` and ``scip``: the WDP built
  directly in the solver's own API (:class:`~mechopt.mechanisms.kept_model.KeptWdpModel`:
  :class:`~mechopt.mechanisms.resolve_highs.HighsEconomySolver`,
  :class:`~mechopt.mechanisms.resolve_gurobi.GurobiEconomySolver`,
  :class:`~mechopt.mechanisms.resolve_cplex.CplexEconomySolver`,
  :class:`~mechopt.mechanisms.resolve_scip.ScipEconomySolver`), the same rows, columns,
  column order, bounds and objective scale as the Pyomo model, re-solved without a
  modelling layer.  On the small MILPs of VCG and the audit (~15 ms on medium L4) Pyomo's
  share of a re-solve (~4–7 ms: change detection, solution loading, output capture) was a
  third of the solve time;
* every other solver and every full Pyomo name (``gurobi_persistent``, ``scip_direct``, ...):
  :class:`~mechopt.mechanisms.wdp.EconomySolver`, the Pyomo model through the solver's
  persistent interface.

Both answer ``solve(exclude, ...)`` with an :class:`~mechopt.mechanisms.outcome.Allocation`
exactly as :func:`~mechopt.mechanisms.wdp.solve_wdp` does for a fresh model, and
``bound(exclude)`` (relaxed models) with the LP bound.  The public model builder stays the
Pyomo one (:func:`~mechopt.formulations.wdp.build_wdp_model`), which a user can extend.
"""

from __future__ import annotations

import atexit
from collections import OrderedDict
from typing import Any

from mechopt.auction import CombinatorialAuction
from mechopt.mechanisms.kept_model import KeptWdpModel
from mechopt.mechanisms.resolve_cplex import CplexEconomySolver
from mechopt.mechanisms.resolve_gurobi import GurobiEconomySolver
from mechopt.mechanisms.resolve_highs import HighsEconomySolver
from mechopt.mechanisms.resolve_scip import ScipEconomySolver
from mechopt.mechanisms.wdp import EconomySolver
from mechopt.solve import _SOLVE_LOCK, DEFAULT_SOLVER, _missing, solver_backend

__all__ = ["HighsEconomySolver", "KEPT_MODELS", "economy_solver", "forget_kept_models"]

#: the solvers whose plain name gets a model in the solver's own API
KEPT_MODELS: dict[str, type[KeptWdpModel]] = {
    "highs": HighsEconomySolver, "gurobi": GurobiEconomySolver, "cplex": CplexEconomySolver,
    "scip": ScipEconomySolver,
}


#: economy solvers of this process, newest last (a worker keeps the models of the few
#: auctions it is working on, not of every auction of a long benchmark)
_ECONOMY_SOLVERS: OrderedDict[tuple[Any, ...], EconomySolver | KeptWdpModel] = OrderedDict()
_KEEP = 4
# release the solver models before the interpreter tears down the solvers' modules
atexit.register(_ECONOMY_SOLVERS.clear)


def economy_solver(
    auction: CombinatorialAuction, solver: str = DEFAULT_SOLVER, relax: bool = False
) -> EconomySolver | KeptWdpModel:
    """This process's kept model of ``auction`` for ``solver`` (made on first use).

    Tasks reach a worker process as pickled copies of the auction, so the key is the
    auction's content (it is a frozen dataclass of tuples: equal auctions hash equal), not
    its identity.
    """
    if isinstance(solver, str) and solver in KEPT_MODELS:
        missing = _missing(solver, solver_backend(solver))
        if missing is not None:  # the one-line error naming the extra
            raise missing
    key = (auction, str(solver), relax)
    with _SOLVE_LOCK:
        found = _ECONOMY_SOLVERS.get(key)
        if found is None:
            found = _new_solver(auction, solver, relax)
            _ECONOMY_SOLVERS[key] = found
            while len(_ECONOMY_SOLVERS) > _KEEP:
                _ECONOMY_SOLVERS.popitem(last=False)
        else:
            _ECONOMY_SOLVERS.move_to_end(key)
        return found


def _new_solver(auction: CombinatorialAuction, solver: str, relax: bool) -> EconomySolver | KeptWdpModel:
    kept = KEPT_MODELS.get(solver) if isinstance(solver, str) else None
    if kept is not None:
        return kept(auction, relax)
    return EconomySolver(auction, solver, relax)


def forget_kept_models() -> None:
    """Drop this process's kept models (benchmarks: each timed run builds its own)."""
    with _SOLVE_LOCK:
        _ECONOMY_SOLVERS.clear()
