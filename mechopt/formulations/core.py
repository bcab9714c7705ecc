"""Core-selecting payments: the separation MILP and the payment LP/QP (docs/auctions.md#core-selecting-payments).

Given the efficient allocation with winners W, values v_i and candidate payments p, a
coalition K (with the seller) blocks when it can do better on its own.  The *separation
problem* of Day and Raghavan (Management Science 53(9), 2007) finds the most blocking one:

    max  Σ_{(j,k)} ((b_jk − r(S_jk)) / s) x_jk + Σ_g r_g / s
           − Σ_{XOR winners i} (u_i / s) Σ_k x_ik − Σ_{OR winners i} (u_i / s) y_i
    s.t. the winner-determination constraints on x                      (formulations/wdp.py)
         x_ik ≤ y_i        for every bid k of every OR winner i          (joins_coalition)
         x, y binary

A winner i that wins anything in the coalition's allocation costs the coalition its surplus
u_i = v_i − p_i once.  An XOR winner wins at most one bid, so this is exactly
"each winner's bids valued at b − u_i" of Day & Raghavan, with no extra variable (and an LP
relaxation as tight as the WDP's); an OR winner may win several bids, so it gets a binary
``y_i`` and is charged once, not once per bid.  Losers' bids are unchanged; the reserve
prices r_g are the seller's own bids.

The *payment model* holds one variable p_i per winner, VCG_i ≤ p_i ≤ v_i, and the core
constraints generated so far (``cuts``):

    Σ_{i ∈ W∖K} p_i ≥ W(K) − Σ_{i ∈ W∩K} v_i − r(unsold)                 (one per coalition K)

where r(unsold) is the seller's reserve value of the items the efficient allocation does not
sell (0 without reserves).  Objective ``revenue`` (min Σ p, the LP) or ``distance`` (min
Σ (p_i − ref_i)², the QP of Day and Cramton, "Quadratic core-selecting payment rules for
combinatorial auctions", Operations Research 60(3), 2012) with ``revenue_cap`` Σ p ≤ R*.
Everything is divided by the auction's ``objective_scale`` s, like the WDP.

These Pyomo models are the reference formulation and what solvers other than HiGHS solve;
with HiGHS, :mod:`mechopt.formulations.core_highspy` holds the same MILP, LP and QP as
persistent highspy objects (``tests/test_core.py`` checks the MILPs agree).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyomo.environ as pyo

from mechopt.auction import CombinatorialAuction
from mechopt.formulations.wdp import build_wdp_model, objective_scale

__all__ = ["build_separation_model", "build_payment_model", "add_core_cut"]


def build_separation_model(auction: CombinatorialAuction, winners: Mapping[str, float]) -> pyo.ConcreteModel:
    """The separation MILP of ``auction`` for the winners in ``winners`` (id -> v_i).

    Set the surplus u_i = v_i − p_i in the mutable param ``surplus`` (value units) before
    each solve; the objective ``blocking`` is then (value of the best coalition) / s.  The
    WDP's own objective ``welfare`` is deactivated; ``x``, ``bid_owner`` etc. are the WDP's.
    """
    m = build_wdp_model(auction)
    m.name = f"core separation {auction.name or ''}".strip()
    ids = [w for w in auction.bidder_ids if w in winners]
    m.WINNERS = pyo.Set(initialize=ids, ordered=True, doc="Winners of the efficient allocation")
    m.surplus = pyo.Param(
        m.WINNERS, mutable=True, initialize=0.0, doc="Surplus v_i − p_i of each winner (value units)"
    )
    or_winners = [w for w in ids if auction.bidder(w).is_or]
    m.OR_WINNERS = pyo.Set(initialize=or_winners, ordered=True, doc="Winners bidding OR")
    m.y = pyo.Var(m.OR_WINNERS, domain=pyo.Binary, doc="1 if the OR winner joins the coalition")
    or_bids = [(k, m.bid_owner[k]) for k in m.BIDS if m.bid_owner[k] in or_winners]
    xor_bids = [(k, m.bid_owner[k]) for k in m.BIDS
                if m.bid_owner[k] in winners and m.bid_owner[k] not in or_winners]
    m.OR_WINNER_BIDS = pyo.Set(initialize=[k for k, _ in or_bids], ordered=True)
    owner = dict(or_bids)
    m.joins_coalition = pyo.Constraint(
        m.OR_WINNER_BIDS, rule=lambda model, k: model.x[k] <= model.y[owner[k]],
        doc="An OR winner's bid can be accepted only if the winner joins the coalition",
    )
    m.welfare.deactivate()
    m.blocking = pyo.Objective(
        expr=m.welfare.expr
        - sum(m.surplus[i] / m.objective_scale * m.x[k] for k, i in xor_bids)
        - sum(m.surplus[i] / m.objective_scale * m.y[i] for i in m.OR_WINNERS),
        sense=pyo.maximize,
        doc="Coalition value less the winners' surpluses, divided by objective_scale",
    )
    return m


def build_payment_model(
    auction: CombinatorialAuction,
    lower: Mapping[str, float],
    upper: Mapping[str, float],
) -> pyo.ConcreteModel:
    """The payment LP/QP for the winners in ``lower`` (VCG payment) and ``upper`` (v_i).

    Components: ``p`` (scaled payments), ``cuts`` (a ConstraintList, see :func:`add_core_cut`),
    ``revenue`` (min Σ p, active), ``distance`` (min Σ (p − ref)², inactive), ``ref`` and
    ``cap`` (mutable params, scaled), ``revenue_cap`` (Σ p ≤ cap, inactive).
    """
    scale = objective_scale(auction)
    ids = [w for w in auction.bidder_ids if w in lower]
    m = pyo.ConcreteModel(name=f"core payments {auction.name or ''}".strip())
    m.objective_scale = pyo.Param(initialize=scale)
    m.WINNERS = pyo.Set(initialize=ids, ordered=True)

    def bounds(model: Any, i: str) -> tuple[float, float]:
        lo, hi = lower[i] / scale, upper[i] / scale
        return (min(lo, hi), hi)

    m.p = pyo.Var(m.WINNERS, bounds=bounds, doc="Payment / objective_scale")
    m.cuts = pyo.ConstraintList(doc="Core constraints of the blocking coalitions found so far")
    m.revenue = pyo.Objective(expr=sum(m.p[i] for i in m.WINNERS), sense=pyo.minimize)
    m.ref = pyo.Param(m.WINNERS, mutable=True, initialize=0.0, doc="Reference point / scale")
    m.cap = pyo.Param(mutable=True, initialize=0.0, doc="Largest revenue allowed / scale")
    m.revenue_cap = pyo.Constraint(expr=sum(m.p[i] for i in m.WINNERS) <= m.cap)
    m.revenue_cap.deactivate()
    m.distance = pyo.Objective(
        expr=sum((m.p[i] - m.ref[i]) ** 2 for i in m.WINNERS), sense=pyo.minimize
    )
    m.distance.deactivate()
    return m


def add_core_cut(model: pyo.ConcreteModel, outside: list[str], rhs: float) -> None:
    """Add Σ_{i ∈ outside} p_i ≥ rhs (value units) to the payment model."""
    scale = pyo.value(model.objective_scale)
    model.cuts.add(sum(model.p[i] for i in outside) >= rhs / scale)
