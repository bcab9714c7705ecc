"""A menu of K (allocation, price) elements for one buyer, as a torch module.

Each element k offers an allocation ``x_k ∈ [0, 1]^m`` (``sigmoid`` of a free logit) at a
price ``β_k ≥ 0``; a null option (nothing, price 0, utility 0) is always available and is
not a parameter.  ``kind="lottery"``: item i is allocated with probability ``x_ki``
independently of the other items.  ``kind="bundle"``: the element is the deterministic
bundle {i : x_ki ≥ ½}; training uses the relaxed ``x_k`` and evaluation the rounded bundle.

This is the menu parameterization of RochetNet (Dütting, Feng, Narasimhan, Parkes, ICML
2019, §4: u(v) = max_k {α_k·v − β_k} with the null element) extended to XOR buyers.
Prices stay non-negative by projection after each optimizer step (:meth:`Menu.project_`),
not by a squashing function, so a price at 0 still receives gradient.

Bundle menus train on relaxed bundles by default; with ``straight_through=True`` the
forward pass values the rounded bundles and the backward pass uses the relaxed bundles'
gradient (Bengio, Léonard, Courville 2013), so training sees what buyers will be offered.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mechopt.errors import InputError
from mechopt.menus.config import KINDS

__all__ = ["Menu", "project_prices_"]


@torch.no_grad()
def project_prices_(prices: Tensor, upper: Tensor | float | None = None) -> None:
    """Clamp menu ``prices`` in place to ``[0, upper]`` (``upper`` scalar or per element)."""
    prices.clamp_(min=0.0)
    if upper is not None:
        upper_t = torch.as_tensor(upper, dtype=prices.dtype, device=prices.device)
        torch.minimum(prices, upper_t, out=prices)


class Menu(nn.Module):
    """K menu elements over ``n_items`` items.

    Parameters: ``logits`` ``(K, m)`` (allocation before the sigmoid) and ``prices`` ``(K,)``.
    """

    def __init__(self, n_items: int, size: int, kind: str = "lottery",
                 straight_through: bool = False) -> None:
        super().__init__()
        if size < 1:
            raise InputError(f"menu size K must be >= 1, got {size}")
        if n_items < 1:
            raise InputError(f"number of items must be >= 1, got {n_items}")
        if kind not in KINDS:
            raise InputError(f"unknown menu kind {kind!r} (choose from {', '.join(KINDS)})")
        self.n_items = int(n_items)
        self.size = int(size)
        self.kind = kind
        self.straight_through = bool(straight_through) and kind == "bundle"
        self.logits = nn.Parameter(torch.zeros(size, n_items))
        self.prices = nn.Parameter(torch.zeros(size))

    @torch.no_grad()
    def initialize_(self, generator: torch.Generator, max_init_price: float,
                    logit_scale: float = 2.0) -> Menu:
        """Random start: logits ~ N(0, logit_scale²), prices ~ U[0, max_init_price]."""
        shape, device, dtype = self.logits.shape, self.logits.device, self.logits.dtype
        self.logits.copy_(logit_scale * torch.randn(shape, generator=generator, device=device,
                                                    dtype=dtype))
        self.prices.copy_(max_init_price * torch.rand(self.size, generator=generator,
                                                      device=device, dtype=dtype))
        return self

    def forward(self, hard: bool = False) -> tuple[Tensor, Tensor]:
        """``(allocation (K, m), prices (K,))``.

        ``hard=True`` rounds bundle elements to {0, 1} (lotteries are returned as they are).
        """
        alloc = torch.sigmoid(self.logits)
        if hard and self.kind == "bundle":
            alloc = (self.logits >= 0).to(alloc.dtype)
        return alloc, self.prices

    def project_(self, upper: Tensor | float | None = None) -> None:
        """Clamp prices to ``[0, upper]`` (``upper`` scalar or per element ``(K,)``)."""
        project_prices_(self.prices, upper)

    def extra_repr(self) -> str:
        return (f"n_items={self.n_items}, size={self.size}, kind={self.kind!r}, "
                f"straight_through={self.straight_through}")

    def describe(self, hard: bool = True, top: int | None = None) -> list[tuple[list[float], float]]:
        """The elements as ``(allocation, price)`` pairs (rounded bundles when ``hard``)."""
        alloc, prices = self(hard=hard)
        rows = [(a.tolist(), float(p)) for a, p in zip(alloc.detach().cpu(), prices.detach().cpu(), strict=True)]
        return rows if top is None else rows[:top]
