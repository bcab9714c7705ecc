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

**Which pair economies need a MILP** (:func:`plan_pairs`).  By the identity above a pair
shows a drop iff

    W_{-θ,-ι} > W_{-θ} + W_{-ι} − W   (+ the tolerance),

and since u_ι^{~θ} ≥ 0 (removing a bidder never raises the optimum: W_{-θ,-ι} ≤ W_{-θ}),
the drop is at most u_ι — and, being symmetric, at most u_θ.  Three cases need no MILP:

1. *a winner of zero utility* (u_θ ≤ tol or u_ι ≤ tol, both welfares proven): no drop is
   possible, so the pair can never be an edge of the drop graph.  W_{-θ,-ι} is not solved;
   the pair is reported as proven "no drop" with its bound (``PairEvidence.pruned``);
2. *ι loses in the optimal allocation of the economy without θ*: that allocation stays
   feasible without ι, and W_{-θ,-ι} ≤ W_{-θ}, so W_{-θ,-ι} = W_{-θ} exactly — the number
   comes from the proven solve of W_{-θ} (likewise with θ and ι swapped);
3. *an LP bound*: the LP relaxation of W_{-θ,-ι} is an upper bound; if it is at most
   W_{-θ} + W_{-ι} − W + tol, no drop is possible.  The LP is proven optimal by the solver
   (the MILP solver, or HiGHS for one whose kept LPs are slow, such as SCIP:
   :data:`~mechopt.audit.economies.LP_BOUND_SOLVERS`) to the same tolerances as the MILP's
   own dual bound at gap 0 (which comes from LPs too), so this is the proof the MILP would
   have ended with.  It often prunes pairs of
   independent winners (drop exactly 0), because on CATS-like instances the relaxation of
   a pair economy is frequently integral.  One kept relaxed model is re-solved per worker,
   the simplex restarting from the previous basis (:func:`~mechopt.audit.economies.pair_lp_bounds`);
4. otherwise the MILP is solved.

Every pair that can be flagged therefore rests on proven solves (case 2 or 4), and the
verdict, the groups and their evidence are those of solving every pair (tested against the
unpruned audit and brute force).

**Which drops the groups need** (:class:`LinkPlanner`).  Steps 6–7 only use the *connected
components* of the drop graph.  A pair whose two winners are already linked by a path of
proven drops cannot change any group, so its MILP is not needed for the verdict: with
``evidence="spanning"`` (the default) the pair MILPs run in waves, and a pair is skipped
(``PairEvidence.linked``) once its members are in one component.  Pairs certain to be
drops run first — a feasible allocation of W_{-θ,-ι} (:func:`pair_incumbent`) already
beats W_{-θ} + W_{-ι} − W + tol, so their MILP only supplies the exact number — then the
others in decreasing order of their LP bound.  Every group is the same as with every pair
solved (a drop between two skipped winners joins nothing new), every drop shown is exact and
proven, and a group's evidence is a set of drops that connects its members (at most
``members − 1`` MILPs per group in the best case, instead of one per pair).
``evidence="all"`` solves every pair that can show a drop and lists them all.

This module is pure arithmetic on solved economies; :mod:`mechopt.audit.runner` decides
which economies to solve.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from mechopt.audit.economies import EconomyResult, welfare_tolerance
from mechopt.errors import InputError

__all__ = [
    "PairEvidence", "SuspectedGroup", "Discovery", "discover_groups", "economies_needed", "plan_pairs",
    "no_drop_by_bound", "Links", "LinkPlanner", "EVIDENCE",
]

#: what a suspected group's evidence lists: a connecting set of drops, or every drop
EVIDENCE = ("spanning", "all")


@dataclass(frozen=True)
class PairEvidence:
    """Steps 4–5 for one ordered pair: winner ``bidder`` (ι) when ``excluded`` (θ) stays out.

    ``utility`` is u_ι in the full auction, ``utility_without`` is u_ι^{~θ}; either is None
    when a solve it needs returned no allocation.  ``proven`` is True only when all four
    welfares behind the pair (W, W_{-θ}, W_{-ι}, W_{-θ,-ι}) are proven optimal — or, for a
    ``pruned`` pair (W_{-θ,-ι} not solved because θ or ι has zero utility; see the module
    docstring), when W, W_{-θ} and W_{-ι} are: its drop is then None and at most
    ``min(u_θ, u_ι)`` ≤ the tolerance.  A ``linked`` pair was not solved because θ and ι
    were already in one suspected group (``evidence="spanning"``): its drop is None and
    unknown, and ``proven`` says that its group membership rests on proven solves.
    """

    bidder: str
    excluded: str
    utility: float | None
    utility_without: float | None
    proven: bool
    pruned: bool = False
    linked: bool = False

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
            "pruned": self.pruned,
            "linked": self.linked,
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


def plan_pairs(
    winners: Sequence[str], economies: Mapping[frozenset[str], EconomyResult]
) -> tuple[list[frozenset[str]], dict[frozenset[str], EconomyResult]]:
    """The pair economies W_{-θ,-ι} that need a MILP, and those known without one.

    ``economies`` holds the full auction and every winner's marginal economy.  Returns
    ``(to_check, derived)``: ``derived`` maps a pair to the proven economy it equals (case 2
    of the module docstring); pairs of case 1 are in neither (:func:`discover_groups`
    reports them as pruned); ``to_check`` are left for an LP bound (:func:`no_drop_by_bound`)
    and then a MILP.
    """
    full = economies[frozenset()]
    tol = welfare_tolerance(full.welfare or 0.0)
    zero = set()
    for w in winners:
        single = economies[frozenset({w})]
        if full.is_optimal and single.is_optimal and _welfare(full) - _welfare(single) <= tol:
            zero.add(w)
    to_solve: list[frozenset[str]] = []
    derived: dict[frozenset[str], EconomyResult] = {}
    for i, a in enumerate(winners):
        for b in winners[i + 1 :]:
            pair = frozenset({a, b})
            if pair in economies:
                continue
            if a in zero or b in zero:
                continue
            for theta, iota in ((a, b), (b, a)):
                without = economies[frozenset({theta})]
                if without.is_optimal and iota not in (without.bids or {}):
                    derived[pair] = EconomyResult(pair, dict(without.bids or {}), without.solve)
                    break
            else:
                to_solve.append(pair)
    return to_solve, derived


def _welfare(economy: EconomyResult) -> float:
    """The welfare of a proven economy (which always has one)."""
    assert economy.welfare is not None
    return economy.welfare


def no_drop_by_bound(
    bounds: Iterable[tuple[frozenset[str], float | None]],
    economies: Mapping[frozenset[str], EconomyResult],
) -> set[frozenset[str]]:
    """The pairs whose upper bound of W_{-θ,-ι} proves that no drop is possible (case 3)."""
    full = economies[frozenset()]
    tol = welfare_tolerance(full.welfare or 0.0)
    proven = set()
    for pair, bound in bounds:
        if bound is None or not full.is_optimal:
            continue
        a, b = sorted(pair)
        ea, eb = economies[frozenset({a})], economies[frozenset({b})]
        if not (ea.is_optimal and eb.is_optimal):
            continue
        if bound <= _welfare(ea) + _welfare(eb) - _welfare(full) + tol:
            proven.add(pair)
    return proven


def pair_incumbent(
    pair: frozenset[str], economies: Mapping[frozenset[str], EconomyResult]
) -> dict | None:
    """The better of the two marginal allocations of a pair's members, without the other
    member: a feasible start for the pair economy."""
    best = None
    for theta in pair:
        econ = economies.get(frozenset({theta}))
        if econ is None or econ.bids is None:
            continue
        bids = {b: bid for b, bid in econ.bids.items() if b not in pair}
        if best is None or sum(x.value for x in bids.values()) > sum(x.value for x in best.values()):
            best = bids
    return best


def _difference(a: EconomyResult, b: EconomyResult) -> float | None:
    if a.welfare is None or b.welfare is None:
        return None
    return a.welfare - b.welfare


def _utilities(
    winners: Sequence[str], economies: Mapping[frozenset[str], EconomyResult]
) -> dict[str, float | None]:
    """u_ι = W − W_{-ι} (clipped at 0) of every winner, None when a welfare is missing."""
    full = economies[frozenset()]
    out: dict[str, float | None] = {}
    for w in winners:
        u = _difference(full, economies[frozenset({w})])
        out[w] = None if u is None else max(u, 0.0)
    return out


def _solved_pair(
    theta: str, iota: str, economies: Mapping[frozenset[str], EconomyResult],
    utilities: Mapping[str, float | None],
) -> PairEvidence:
    """The evidence of ι when θ is excluded, from the solved pair economy W_{-θ,-ι}."""
    full, without_theta = economies[frozenset()], economies[frozenset({theta})]
    both = economies[frozenset({theta, iota})]
    u_without = _difference(without_theta, both)
    proven = (
        full.is_optimal
        and without_theta.is_optimal
        and economies[frozenset({iota})].is_optimal
        and both.is_optimal
    )
    return PairEvidence(
        bidder=iota,
        excluded=theta,
        utility=utilities[iota],
        utility_without=None if u_without is None else max(u_without, 0.0),
        proven=proven,
    )


def _is_edge(ab: PairEvidence, ba: PairEvidence, tol: float) -> bool:
    """A proven drop both ways (steps 6–7; by symmetry one implies the other up to rounding)."""
    if not (ab.proven and ba.proven) or ab.pruned or ba.pruned or ab.linked or ba.linked:
        return False
    return ab.drop is not None and ba.drop is not None and ab.drop > tol and ba.drop > tol


class Links:
    """Union–find over winners: the components of the drop graph found so far."""

    def __init__(self, winners: Iterable[str]) -> None:
        self._parent = {w: w for w in winners}

    def root(self, x: str) -> str:
        parent = self._parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def same(self, a: str, b: str) -> bool:
        return self.root(a) == self.root(b)

    def union(self, a: str, b: str) -> None:
        self._parent[self.root(a)] = self.root(b)

    def copy(self) -> Links:
        other = Links(())
        other._parent = dict(self._parent)
        return other


class LinkPlanner:
    """Which pair MILPs to solve, wave by wave, until the groups are known (module docstring).

    ``candidates`` are the pairs that still need a MILP after :func:`plan_pairs` and
    :func:`no_drop_by_bound`; ``upper`` their LP bounds of W_{-θ,-ι} (None: unknown).
    ``economies`` must already hold W, every W_{-θ} and the pairs known without a MILP;
    the caller adds each wave's solved economies and calls :meth:`update`.  ``linked`` are
    the pairs skipped because their members were already linked.  ``wave`` caps the
    uncertain pairs per wave (pairs certain to be drops are not capped).
    """

    def __init__(
        self,
        winners: Sequence[str],
        economies: Mapping[frozenset[str], EconomyResult],
        candidates: Sequence[frozenset[str]],
        upper: Mapping[frozenset[str], float | None],
        wave: int = 8,
    ) -> None:
        self.winners = tuple(winners)
        self.economies = economies
        self.wave = wave
        self.links = Links(winners)
        self.linked: set[frozenset[str]] = set()
        self._utilities = _utilities(winners, economies)
        self._tol = welfare_tolerance(economies[frozenset()].welfare or 0.0)
        known = [e for e in economies if len(e) == 2 and e <= set(winners)]
        self.update(known)
        priority = {p: self._priority(p, upper.get(p)) for p in candidates}
        self._certain = {p: priority[p][0] for p in candidates}
        self._pending = sorted(candidates, key=priority.__getitem__, reverse=True)

    def _threshold(self, pair: frozenset[str]) -> float | None:
        """W_{-θ} + W_{-ι} − W: a pair economy above it (by tol) is a drop."""
        a, b = sorted(pair)
        ws = [self.economies[e].welfare for e in (frozenset({a}), frozenset({b}), frozenset())]
        if any(w is None for w in ws):
            return None
        wa, wb, w = ws
        assert wa is not None and wb is not None and w is not None
        return wa + wb - w

    def _priority(self, pair: frozenset[str], upper: float | None) -> tuple[bool, float]:
        """(certain to be a drop, how far the LP bound lies above the threshold)."""
        threshold = self._threshold(pair)
        if threshold is None:
            return (False, -math.inf)
        start = pair_incumbent(pair, self.economies)
        lower = None if start is None else math.fsum(b.value for b in start.values())
        certain = lower is not None and lower > threshold + self._tol
        return (certain, math.inf if upper is None else upper - threshold)

    def next_wave(self) -> list[frozenset[str]]:
        """The next pairs to solve (empty: the groups are known)."""
        wave: list[frozenset[str]] = []
        planned = self.links.copy()
        rest: list[frozenset[str]] = []
        uncertain = 0
        for pair in self._pending:
            a, b = sorted(pair)
            if self.links.same(a, b):
                self.linked.add(pair)
                continue
            certain = self._certain[pair]
            if planned.same(a, b) or (not certain and uncertain >= self.wave):
                rest.append(pair)  # a pair of this wave may link them: decide next time
                continue
            wave.append(pair)
            planned.union(a, b)
            uncertain += not certain
        self._pending = rest
        return wave

    def update(self, pairs: Iterable[frozenset[str]]) -> None:
        """Link the members of every solved pair that shows a proven drop."""
        for pair in pairs:
            a, b = sorted(pair)
            ab = _solved_pair(a, b, self.economies, self._utilities)
            ba = _solved_pair(b, a, self.economies, self._utilities)
            if _is_edge(ab, ba, self._tol):
                self.links.union(a, b)


def discover_groups(
    winners: Sequence[str],
    economies: Mapping[frozenset[str], EconomyResult],
    no_drop: Collection[frozenset[str]] = (),
    linked: Collection[frozenset[str]] = (),
) -> Discovery:
    """Steps 2–7 from solved economies (keys: excluded bidder sets, ``frozenset()`` = all in).

    A drop counts when it exceeds :func:`welfare_tolerance` of W and every welfare behind it
    is proven optimal; an unproven pair is listed in ``unresolved``, never accused.  A pair
    whose economy was not solved is reported as pruned: it must be in ``no_drop`` (an LP
    bound proved no drop) or have a member of zero utility (see :func:`plan_pairs`) — or as
    linked, when it is in ``linked`` (its members were joined by other drops,
    :class:`LinkPlanner`).
    """
    full = economies[frozenset()]
    if full.welfare is None:
        raise InputError("the full auction has no allocation: nothing to discover")
    tol = welfare_tolerance(full.welfare)
    utilities = _utilities(winners, economies)
    pairs: list[PairEvidence] = []
    for theta in winners:
        without_theta = economies[frozenset({theta})]
        for iota in winners:
            if iota == theta:
                continue
            key = frozenset({theta, iota})
            if key in economies:
                pairs.append(_solved_pair(theta, iota, economies, utilities))
                continue
            proven = (
                full.is_optimal
                and without_theta.is_optimal
                and economies[frozenset({iota})].is_optimal
            )
            if key in linked:
                pairs.append(PairEvidence(iota, theta, utilities[iota], None, proven, linked=True))
                continue
            # not solved: zero utility or an LP bound (plan_pairs)
            u_a, u_b = utilities[theta], utilities[iota]
            if key not in no_drop and (u_a is None or u_b is None or min(u_a, u_b) > tol):
                raise KeyError(key)
            pairs.append(PairEvidence(iota, theta, u_b, None, proven, pruned=True))
    by_key = {(p.bidder, p.excluded): p for p in pairs}
    edges: list[tuple[str, str]] = []
    unresolved: list[tuple[str, str]] = []
    for i, a in enumerate(winners):
        for b in winners[i + 1 :]:
            ab, ba = by_key[(a, b)], by_key[(b, a)]
            if not (ab.proven and ba.proven):
                unresolved.append((a, b))
            elif _is_edge(ab, ba, tol):
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
    links = Links(winners)
    for a, b in edges:
        links.union(a, b)
    order = {w: k for k, w in enumerate(winners)}
    members: dict[str, list[str]] = {}
    for w in winners:
        members.setdefault(links.root(w), []).append(w)
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
