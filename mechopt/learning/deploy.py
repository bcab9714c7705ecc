"""Deploy a learned payment rule on an auction: the auction as a profile of the rule's domain,
and the prices the rule charges the winners.

A :class:`~mechopt.learning.payment_rule.PaymentRule` is trained on a domain of
:mod:`mechopt.domains.distributions`: ``n_agents`` agents, ``n_items`` items (1 for the single
item) and ``n_bundles`` XOR bids per agent (1 for the single item).  An auction fits that
domain when it has exactly as many bidders, items and bids per bidder; it is mapped to a
one-instance :class:`~mechopt.domains.distributions.XORProfiles` the way
:meth:`XORProfiles.to_auction` maps back: bidder ``k`` of the auction (in file order) is agent
``k``, item ``g`` of ``auction.items`` (in file order) is bit ``g``, and bid ``j`` of a bidder
is its bid ``j``.  Agent ``i`` then pays ``t(x_{-i}, g_i(x))``: the rule's price
(:meth:`PaymentRule.prices`, offset included) of the bundle it wins — exactly what
:func:`mechopt.domains.evaluate` charges on the same profile.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mechopt.auction import CombinatorialAuction
from mechopt.domains.distributions import XORProfiles
from mechopt.learning.payment_rule import ModelFileError, PaymentRule

__all__ = ["RULE_PREFIX", "DomainMismatch", "auction_profile", "rule_payments"]

#: ``--payments rule:PATH`` names a saved payment rule
RULE_PREFIX = "rule:"


class DomainMismatch(ModelFileError):
    """The auction does not fit the payment rule's domain (one line naming the mismatch); a
    :class:`ModelFileError`, so it is reported wherever a payment rule's errors are."""


def _domain_shape(rule: PaymentRule) -> tuple[int, int, int]:
    domain = rule.domain
    name = domain.get("domain")
    if rule.model.kind == "assignment" or name == "assignment":
        raise DomainMismatch("this payment rule is for the assignment problem, not for combinatorial auctions")
    n = int(domain.get("n_agents", 0))
    if name == "single-item":
        return n, 1, 1
    return n, int(domain.get("n_items", 0)), int(domain.get("n_bundles", 0))


def auction_profile(auction: CombinatorialAuction, rule: PaymentRule) -> XORProfiles:
    """``auction`` as one profile of ``rule``'s domain (module docstring); raises
    :class:`DomainMismatch` naming the first difference."""
    n, m, b = _domain_shape(rule)
    label = rule.domain.get("domain", "?")
    if n and len(auction.bidders) != n:
        raise DomainMismatch(
            f"the payment rule was trained for {n} bidders ({label}); the auction has {len(auction.bidders)}")
    if m and len(auction.items) != m:
        raise DomainMismatch(
            f"the payment rule was trained for {m} items ({label}); the auction has {len(auction.items)}")
    for bidder in auction.bidders:
        if b and len(bidder.bids) != b:
            raise DomainMismatch(
                f"the payment rule was trained for {b} bid(s) per bidder ({label}); "
                f"bidder {bidder.id!r} has {len(bidder.bids)}")
    bit = {g: k for k, g in enumerate(auction.items)}
    bundles = [[sum(1 << bit[g] for g in bid.items) for bid in bidder.bids] for bidder in auction.bidders]
    values = [[bid.value for bid in bidder.bids] for bidder in auction.bidders]
    return XORProfiles(np.array([bundles], dtype=np.int64), np.array([values], dtype=np.float64),
                       len(auction.items))


def rule_payments(rule: PaymentRule, auction: CombinatorialAuction,
                  bundles: dict[str, Any]) -> dict[str, float]:
    """What ``rule`` charges every bidder of ``auction`` for the items it wins.

    ``bundles`` maps bidder ids to the items they win (bidders not in it win nothing and pay
    the price of the empty bundle, which is 0 for combinatorial rules)."""
    profile = auction_profile(auction, rule)
    bit = {g: k for k, g in enumerate(auction.items)}
    payments: dict[str, float] = {}
    try:
        for i, bidder in enumerate(auction.bidders):
            prices = rule.prices(profile.without_agent(i))
            mask = sum(1 << bit[g] for g in bundles.get(bidder.id, ()))
            payments[bidder.id] = float(prices[0, mask])
    except ModelFileError as exc:
        raise DomainMismatch(str(exc)) from None
    return payments


def run_with_rule(auction: CombinatorialAuction, rule: str, payment_rule: PaymentRule, *, label: str,
                  solver: str | None = None, time_limit: float | None = None, executor: Any = None):
    """Clear ``auction`` under outcome ``rule`` and charge ``payment_rule``'s prices.

    ``rule`` must be the outcome rule the payment rule was trained for; ``label`` names the
    payment rule in the outcome (``rule:PATH``).  Returns a :class:`mechopt.mechanisms.Outcome`."""
    from dataclasses import replace

    from mechopt.mechanisms import run_auction
    from mechopt.solve import DEFAULT_SOLVER

    if payment_rule.rule != rule:
        raise DomainMismatch(
            f"the payment rule was trained for the {payment_rule.rule} rule; the auction is cleared "
            f"by the {rule} rule (use --rule {payment_rule.rule})")
    auction_profile(auction, payment_rule)  # refuse before solving
    outcome = run_auction(auction, rule=rule, payments="none", solver=solver or DEFAULT_SOLVER,
                          time_limit=time_limit, executor=executor)
    won = {b: bid.items for b, bid in outcome.allocation.bids.items()}
    payments = rule_payments(payment_rule, auction, won)
    note = (f"learned payment rule ({payment_rule.domain.get('domain')}, offset {payment_rule.offset:g}): "
            "prices are the rule's, not strategyproof in general")
    return replace(outcome, payments=payments, payment_rule=label, notes=(*outcome.notes, note))
