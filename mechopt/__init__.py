"""mechopt: computational mechanism design built on mathematical programming.

Public API (see README.md):

- instances: :class:`CombinatorialAuction`, :class:`Bidder`, :class:`Bid`,
  :func:`load_auction`, :func:`save_auction`
- models: :func:`build_wdp_model` (a Pyomo ConcreteModel you may extend and solve)
- solving: :func:`solve_model`, :class:`SolveResult`, :class:`SolveStatus`, :class:`Termination`
- mechanisms: :func:`solve_wdp`, :func:`run_vcg`, :func:`vcg_payments`,
  :func:`greedy_allocation`, :func:`critical_payments`, :func:`run_auction`
- scale: :class:`Executor`
- errors: :class:`MechoptError`, the base of every error mechopt raises on purpose
  (:mod:`mechopt.errors`)
"""

__version__ = "0.1.0"

from mechopt.auction import AuctionError, Bid, Bidder, CombinatorialAuction
from mechopt.errors import InputError, MechoptError
from mechopt.formulations.wdp import build_wdp_model, read_wdp_allocation
from mechopt.io import load_auction, save_auction
from mechopt.mechanisms import (
    Allocation,
    Outcome,
    critical_payments,
    greedy_allocation,
    run_auction,
    run_greedy,
    run_vcg,
    solve_wdp,
    vcg_payments,
)
from mechopt.parallel import Executor
from mechopt.solve import SolverError, SolveResult, SolveStatus, Termination, solve_model

__all__ = [
    "__version__",
    "AuctionError",
    "InputError",
    "MechoptError",
    "Bid",
    "Bidder",
    "CombinatorialAuction",
    "build_wdp_model",
    "read_wdp_allocation",
    "load_auction",
    "save_auction",
    "Allocation",
    "Outcome",
    "critical_payments",
    "greedy_allocation",
    "run_auction",
    "run_greedy",
    "run_vcg",
    "solve_wdp",
    "vcg_payments",
    "Executor",
    "SolveResult",
    "SolverError",
    "SolveStatus",
    "Termination",
    "solve_model",
]
