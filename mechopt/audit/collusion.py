"""Collusion check between the auctioneer and suspected bidders (§4 of Matsuo, Ito, Shintani).

The paper compares the auctioneer's total revenue Σ_i p_i of the GVA outcome with the total
revenue Σ_{N∖w} p_i of the auction re-run without the suspects w, and calls a large drop a
sign that the auctioneer and the suspects may be colluding (the suspects' bids were propping
up the prices others pay, as a seller's shills would).

We flag when the drop exceeds ``threshold`` times the original revenue:

    flagged  ⇔  R − R_{N∖w} > threshold · R          (R > 0; R = 0 is never flagged)

with ``threshold`` in [0, 1] (default :data:`DEFAULT_THRESHOLD` = 0.5: more than half the
revenue depends on the suspects).  What the flag does **not** prove: removing any set of
genuine competitors lowers VCG revenue too (in E1 the auction without the false names has a
single bidder who pays 0), so a flag says "the suspects carry this much of the revenue",
which is consistent with collusion but equally with honest competition.  No flag does not
rule out collusion that leaves no winner-exclusion signature.  A flag never rests on a solve
that is not proven optimal: then ``flagged`` is None.
"""

from __future__ import annotations

from dataclasses import dataclass

from mechopt.audit.economies import welfare_tolerance
from mechopt.errors import InputError

__all__ = ["CollusionCheck", "check_collusion", "DEFAULT_THRESHOLD", "check_threshold"]

#: default share of the original revenue whose loss (without the suspects) raises the flag
DEFAULT_THRESHOLD = 0.5

CAVEAT = (
    "a drop shows how much revenue the suspects' bids carry; it is consistent with collusion "
    "between auctioneer and suspects but also with honest competition, and its absence does "
    "not rule out collusion"
)


def check_threshold(threshold: float) -> float:
    """Validate a collusion threshold (a share in [0, 1]); ValueError names the problem."""
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise InputError(f"threshold must be a number in [0, 1], got {threshold!r}") from None
    if not (0.0 <= value <= 1.0):
        raise InputError(f"threshold must be in [0, 1] (a share of the revenue), got {threshold!r}")
    return value


@dataclass(frozen=True)
class CollusionCheck:
    """Revenue with and without the suspects, and whether the drop is flagged.

    ``flagged`` is None when either revenue rests on a solve that is not proven optimal.
    """

    revenue: float
    revenue_without_suspects: float
    threshold: float
    flagged: bool | None
    proven: bool

    @property
    def drop(self) -> float:
        return self.revenue - self.revenue_without_suspects

    @property
    def relative_drop(self) -> float | None:
        """Drop as a share of the original revenue (None when that revenue is 0)."""
        return self.drop / self.revenue if self.revenue > 0 else None

    @property
    def explanation(self) -> str:
        if self.flagged is None:
            return "not decided: a revenue rests on a solve that is not proven optimal"
        share = self.relative_drop
        if self.flagged:
            return (
                f"revenue falls by {share:.0%} without the suspects (threshold "
                f"{self.threshold:.0%}): {CAVEAT}"
            )
        if share is None:
            return "the original revenue is 0: there is no revenue to lose"
        change = 0.0 - share  # never "-0%"
        return (
            f"revenue changes by {change:+.0%} without the suspects (flag at a drop of more "
            f"than {self.threshold:.0%})"
        )

    def to_dict(self) -> dict:
        return {
            "revenue": self.revenue,
            "revenue_without_suspects": self.revenue_without_suspects,
            "drop": self.drop,
            "relative_drop": self.relative_drop,
            "threshold": self.threshold,
            "flagged": self.flagged,
            "proven": self.proven,
            "explanation": self.explanation,
        }


def check_collusion(
    revenue: float,
    revenue_without_suspects: float,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    proven: bool = True,
    welfare: float = 0.0,
) -> CollusionCheck:
    """Apply the collusion rule of the module docstring.

    ``welfare`` (of the original auction) only scales the numerical tolerance below which a
    drop counts as zero.
    """
    threshold = check_threshold(threshold)
    flagged: bool | None = None
    if proven:
        drop = revenue - revenue_without_suspects
        flagged = revenue > 0 and drop > threshold * revenue + welfare_tolerance(welfare)
    return CollusionCheck(revenue, revenue_without_suspects, threshold, flagged, proven)
