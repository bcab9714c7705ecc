"""Winner-exclusion discovery of shill bidders (steps 2–7 of the algorithm).

Matsuo, Ito, Shintani, "A method of discovering shill bidders based on a comparison of
bidders' utilities in combinatorial auctions" (JSAI 2005, LF-004; docs/shill-audit.md),
and its English version by Matsuo, Ito, Day, Shintani (AAMAS 2006).

Theorem 1 of the paper: a schemer cannot raise its utility with false names unless its false
names win.  So the algorithm looks only at winners W of the GVA (VCG) outcome:

* step 2: the utility u_ι of every winner ι;
* step 3–4: for every winner θ, the auction without θ, and the utility u_ι^{~θ} of every
  other original winner ι there;
* step 5: the difference u_ι − u_ι^{~θ};
* step 6–7: winners whose utility drops when another winner is left out, and vice versa,
  form a suspected group; several disjoint groups mean several schemers.

With VCG utilities every term is a difference of optimal welfares ``W_{-E}`` of the auction
without the bidders E (u_ι = W − W_{-ι}, and u_ι^{~θ} = W_{-θ} − W_{-θ,-ι}, 0 when ι loses
there), so that

    u_ι − u_ι^{~θ} = W − W_{-θ} − W_{-ι} + W_{-θ,-ι}.

Two consequences, both tested: the drop is *symmetric* in θ and ι (the "vice versa" of
step 7 holds automatically), and it does not depend on which optimal allocation a tie-break
picked.  A positive drop says the two winners are complements in the reported welfare —
which is exactly what a bundle split across false names looks like, and also what two
honest single-item bidders beating one bundle bid look like (example E3 of
docs/shill-audit.md#limits: the method has false positives by design).

This module is pure arithmetic on solved economies; :mod:`mechopt.audit.runner` decides
which economies to solve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mechopt.audit.economies import EconomyResult, welfare_tolerance
from mechopt.errors import InputError

__all__ = ["PairEvidence", "SuspectedGroup", "Discovery", "discover_groups", "economies_needed"]


@dataclass(frozen=True)
class PairEvidence:
    """Steps 4–5 for one ordered pair: winner ``bidder`` (ι) when ``excluded`` (θ) stays out.

    ``utility`` is u_ι in the full auction, ``utility_without`` is u_ι^{~θ}; either is None
    when a solve it needs returned no allocation.  ``proven`` is True only when all four
    welfares behind the pair (W, W_{-θ}, W_{-ι}, W_{-θ,-ι}) are proven optimal.
    """

    bidder: str
    excluded: str
    utility: float | None
    utility_without: float | None
    proven: bool

    @property
    def drop(self) -> float | None:
        """u_ι − u_ι^{~θ} (positive: ι is worse off without θ)."""
        if self.utility is None or self.utility_without is None:
            return None
        return self.utility - self.utility_without

    def to_dict(self) -> dict:
        return {
            "bidder": self.bidder,
            "excluded": self.excluded,
            "utility": self.utility,
            "utility_without": self.utility_without,
            "drop": self.drop,
            "proven": self.proven,
        }


@dataclass(frozen=True)
class SuspectedGroup:
    """Winners linked by proven utility drops (a connected component of the drop graph).

    ``evidence`` lists, for every linked pair, the drop of each member when the other is
    excluded (both directions).
    """

    members: tuple[str, ...]
    evidence: tuple[PairEvidence, ...]

    def to_dict(self) -> dict:
        return {"members": list(self.members), "evidence": [e.to_dict() for e in self.evidence]}


@dataclass(frozen=True)
class Discovery:
    """Steps 2–7 for one auction.

    ``winners``: the original winners (in auction order); ``utilities``: u_ι (None if not
    computable); ``pairs``: a :class:`PairEvidence` for every ordered pair of distinct winners;
    ``groups``: suspected groups from proven drops; ``unresolved``: unordered pairs whose
    drop could not be proven (a solve is not proven optimal), so the group list may be
    incomplete when it is non-empty.
    """

    winners: tuple[str, ...]
    utilities: Mapping[str, float | None]
    pairs: tuple[PairEvidence, ...]
    groups: tuple[SuspectedGroup, ...]
    unresolved: tuple[tuple[str, str], ...]
    tolerance: float

    @property
    def suspects(self) -> tuple[str, ...]:
        """All members of all suspected groups, in winner order."""
        members = {m for g in self.groups for m in g.members}
        return tuple(w for w in self.winners if w in members)

    def pair(self, bidder: str, excluded: str) -> PairEvidence:
        for p in self.pairs:
            if p.bidder == bidder and p.excluded == excluded:
                return p
        raise KeyError((bidder, excluded))


def economies_needed(winners: Sequence[str]) -> list[frozenset[str]]:
    """The exclusion sets whose optimal welfare steps 2–5 need, besides the full auction:
    every single winner and every unordered pair of winners."""
    singles = [frozenset({w}) for w in winners]
    pairs = [
        frozenset({a, b}) for i, a in enumerate(winners) for b in winners[i + 1 :]
    ]
    return singles + pairs


def _difference(a: EconomyResult, b: EconomyResult) -> float | None:
    if a.welfare is None or b.welfare is None:
        return None
    return a.welfare - b.welfare


def discover_groups(
    winners: Sequence[str], economies: Mapping[frozenset[str], EconomyResult]
) -> Discovery:
    """Steps 2–7 from solved economies (keys: excluded bidder sets, ``frozenset()`` = all in).

    A drop counts when it exceeds :func:`welfare_tolerance` of W and every welfare behind it
    is proven optimal; an unproven pair is listed in ``unresolved``, never accused.
    """
    full = economies[frozenset()]
    if full.welfare is None:
        raise InputError("the full auction has no allocation: nothing to discover")
    tol = welfare_tolerance(full.welfare)
    utilities: dict[str, float | None] = {}
    for w in winners:
        u = _difference(full, economies[frozenset({w})])
        utilities[w] = None if u is None else max(u, 0.0)
    pairs: list[PairEvidence] = []
    for theta in winners:
        without_theta = economies[frozenset({theta})]
        for iota in winners:
            if iota == theta:
                continue
            both = economies[frozenset({theta, iota})]
            u_without = _difference(without_theta, both)
            proven = (
                full.is_optimal
                and without_theta.is_optimal
                and economies[frozenset({iota})].is_optimal
                and both.is_optimal
            )
            pairs.append(
                PairEvidence(
                    bidder=iota,
                    excluded=theta,
                    utility=utilities[iota],
                    utility_without=None if u_without is None else max(u_without, 0.0),
                    proven=proven,
                )
            )
    by_key = {(p.bidder, p.excluded): p for p in pairs}
    edges: list[tuple[str, str]] = []
    unresolved: list[tuple[str, str]] = []
    for i, a in enumerate(winners):
        for b in winners[i + 1 :]:
            ab, ba = by_key[(a, b)], by_key[(b, a)]
            if not (ab.proven and ba.proven):
                unresolved.append((a, b))
                continue
            if ab.drop > tol and ba.drop > tol:  # type: ignore[operator]
                edges.append((a, b))
    groups = _components(winners, edges, by_key)
    return Discovery(
        winners=tuple(winners),
        utilities=utilities,
        pairs=tuple(pairs),
        groups=groups,
        unresolved=tuple(unresolved),
        tolerance=tol,
    )


def _components(
    winners: Sequence[str],
    edges: Sequence[tuple[str, str]],
    by_key: Mapping[tuple[str, str], PairEvidence],
) -> tuple[SuspectedGroup, ...]:
    """Connected components (size ≥ 2) of the drop graph, members in winner order."""
    parent = {w: w for w in winners}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        parent[root(a)] = root(b)
    order = {w: k for k, w in enumerate(winners)}
    members: dict[str, list[str]] = {}
    for w in winners:
        members.setdefault(root(w), []).append(w)
    groups = []
    for group in members.values():
        if len(group) < 2:
            continue
        inside = set(group)
        evidence = tuple(
            by_key[(x, y)]
            for a, b in edges
            if a in inside
            for x, y in ((a, b), (b, a))
        )
        groups.append(SuspectedGroup(tuple(sorted(group, key=order.__getitem__)), evidence))
    groups.sort(key=lambda g: order[g.members[0]])
    return tuple(groups)
