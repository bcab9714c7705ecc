"""Model builders: each ``build_*`` function returns a Pyomo ``ConcreteModel`` (or a CVXPY
``Problem``) and never solves it, so a user can add side constraints and solve it with
:func:`mechopt.solve.solve_model` or any Pyomo solver."""

from mechopt.formulations.wdp import build_wdp_model, read_wdp_allocation

__all__ = ["build_wdp_model", "read_wdp_allocation"]
