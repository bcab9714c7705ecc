"""What the auctioneer can do about suspects: exclude them, or treat each group as one bidder.

* Exclusion (step 8 of Matsuo, Ito, Shintani 2005): re-run GVA on ``N \\ w``, the bidders
  without every suspect.
* Grouping (Matsuo, Ito, Day, Shintani, AAMAS 2006): keep the suspects, but let each
  suspected group act as one bidder.  Here a group becomes a single XOR bidder holding all
  its members' bids (:meth:`CombinatorialAuction.merged`), and VCG is re-run.  The group
  can then win at most one of its members' bids, so splitting a bundle over false names
  buys nothing: in E1 of docs/shill-audit.md#remedies the merged bidder is exactly the truthful X
  (v(A) = v(B) = v(AB) = 80) and revenue returns to the truthful 80.  The AAMAS paper
  instead restricts the group to the items it won in the conventional auction; the XOR
  merge is the simpler rule with the same aim and is what we implement and measure.

The price of both remedies falls on honest bidders caught as false positives: two honest
single-item winners merged into one XOR bidder can keep only one item (E3 in the tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mechopt.auction import CombinatorialAuction
from mechopt.audit.discovery import SuspectedGroup
from mechopt.audit.ties import TieCheck
from mechopt.mechanisms.outcome import Outcome

__all__ = ["Remedy", "grouped_auction", "group_id"]


def group_id(auction: CombinatorialAuction, members: Sequence[str]) -> str:
    """A bidder id for a merged group, ``a+b``, made unique against existing ids."""
    base = "+".join(members)
    taken = set(auction.bidder_ids) - set(members)
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}#{k}"
    return name


def grouped_auction(
    auction: CombinatorialAuction, groups: Sequence[SuspectedGroup]
) -> tuple[CombinatorialAuction, dict[str, tuple[str, ...]]]:
    """``auction`` with every suspected group merged into one XOR bidder.

    Returns the new auction and a map from each merged bidder's id to its members.
    """
    merged = auction
    members_of: dict[str, tuple[str, ...]] = {}
    for group in groups:
        new_id = group_id(merged, group.members)
        merged = merged.merged(group.members, new_id)
        members_of[new_id] = tuple(group.members)
    return merged, members_of


@dataclass(frozen=True)
class Remedy:
    """The VCG outcome under one remedy (or of the unchanged auction, ``name="vcg"``).

    ``auction`` is the auction actually cleared (bidders removed or merged);
    ``excluded`` the bidders left out (exclusion); ``groups`` maps merged bidder ids to their
    members (grouping); ``tie`` says whether the allocation shown is the only optimal one.
    """

    name: str
    outcome: Outcome
    tie: TieCheck
    excluded: tuple[str, ...] = ()
    groups: Mapping[str, tuple[str, ...]] | None = None

    @property
    def revenue(self) -> float:
        return self.outcome.revenue

    @property
    def is_optimal(self) -> bool:
        return self.outcome.is_optimal

    def to_dict(self) -> dict:
        data = self.outcome.to_dict()
        data["remedy"] = self.name
        data["excluded"] = list(self.excluded)
        data["groups"] = {k: list(v) for k, v in (self.groups or {}).items()}
        data["tie"] = self.tie.to_dict()
        return data
