"""PNG plot of soft vs hard revenue over training (matplotlib, Agg backend)."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

from mechopt.errors import InputError
from mechopt.io.atomic import atomic_write_bytes
from mechopt.menus.trainer import HistoryPoint

__all__ = ["plot_history"]


def plot_history(
    history: Sequence[HistoryPoint],
    path: str | os.PathLike,
    *,
    title: str = "",
    optimum: float | None = None,
    dpi: int = 80,
) -> Path:
    """Plot validation soft and hard revenue against the step and write a PNG atomically.

    The shaded area between the curves is the phantom revenue of the relaxation; a dashed
    line marks the known optimum when given.
    """
    if not history:
        raise InputError("nothing to plot: the training log is empty")
    # a bare Figure renders through Agg without pyplot: no global backend is touched
    from matplotlib.figure import Figure

    steps = [p.step for p in history]
    soft = [p.soft_revenue for p in history]
    hard = [p.hard_revenue for p in history]
    fig = Figure(figsize=(5.5, 3.4))
    ax = fig.add_subplot()
    ax.plot(steps, soft, label="soft (relaxed) revenue", color="tab:orange")
    ax.plot(steps, hard, label="hard revenue (buyer picks best)", color="tab:blue")
    ax.fill_between(steps, hard, soft, where=[s > h for s, h in zip(soft, hard, strict=True)],
                    color="tab:orange", alpha=0.15, linewidth=0)
    if optimum is not None:
        ax.axhline(optimum, color="gray", linestyle="--", linewidth=1, label=f"optimum {optimum:.4f}")
    ax.set_xlabel("training step")
    ax.set_ylabel("revenue per buyer (validation)")
    top = max(max(soft), max(hard), optimum or 0.0)
    if top > 4 * max(max(hard), 1e-9) and top > 1.5:
        ax.set_yscale("symlog", linthresh=0.1)
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    target = Path(path)
    atomic_write_bytes(target, buf.getvalue())
    return target
