"""Relaxations of the buyer's discrete choice, selectable by name (docs/menus.md#relaxations).

A buyer facing utilities ``u (N, K)`` (value minus price) and a null option of utility 0
*really* takes ``argmax`` and pays that element's price only if its utility is ≥ 0 (the
"hard" revenue of :mod:`mechopt.menus.evaluate`).  Training needs a gradient, so the choice
is relaxed.  Every function here takes batched tensors and is device-agnostic; the null
option is the last column of every choice-probability tensor ``(N, K + 1)``.

==============  ===========================================================================
``softmax``     Z = softmax([u, 0] / (T · scale)), objective Σ_k Z_k β_k, with T relative
                to the value scale and annealed (the cure in docs/menus.md#the-softmax-failure)
``bundleflow``  Z = softmax(λ · [u, 0]) with λ ≤ 0.2 as in BundleFlow's failing setup (preset
                ``bundleflow-failure``): λ *multiplies* utilities, so for values in [0, 1]
                every element keeps ~15 % probability even at utility −9.3 ("phantom" revenue)
``rochetnet``   Σ_k Z_k v_k − max(0, max_k u_k): soft value minus hard best utility (Dütting
                et al. 2019).  Equals the true revenue under a hard choice and, by
                max ≥ soft average, never exceeds the soft revenue Σ_k Z_k β_k
``gumbel``      straight-through Gumbel-softmax (Jang, Gu, Poole, ICLR 2017): forward the
                one-hot argmax of [u, 0]/(T·scale) + Gumbel noise, backward the softmax
``reinforce``   score-function estimator of E_{k∼Z}[β_k 1{u_k ≥ 0}] with a leave-one-out
                baseline (docs/menus.md#remedies), plus the pathwise term of β_k
==============  ===========================================================================

Remedies that combine with any of them: the IR penalty α · E[Σ_k Z_k max(0, −u_k)²]
(docs/menus.md#remedies; with a dual step it becomes a Lagrangian on IR) and the price cap at the
highest value seen (docs/menus.md#remedies, in :mod:`mechopt.menus.trainer`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mechopt.errors import InputError
from mechopt.menus.config import MenuConfig

__all__ = [
    "Relaxed",
    "choice_probabilities",
    "soft_revenue",
    "rochetnet_revenue",
    "ir_penalty",
    "gumbel_straight_through",
    "reinforce_surrogate",
    "relaxed_objective",
    "inverse_temperature",
]


@dataclass(frozen=True)
class Relaxed:
    """One relaxed evaluation of a batch (all scalars are batch means).

    ``objective``: what the trainer maximizes (surrogate revenue minus IR penalty);
    ``soft_revenue``: Σ_k Z_k β_k under the softmax choice; ``penalty``: the IR penalty
    term before its weight; ``probs``: softmax choice probabilities ``(N, K + 1)``.
    """

    objective: Tensor
    soft_revenue: Tensor
    penalty: Tensor
    probs: Tensor


def _with_null(utilities: Tensor) -> Tensor:
    """``(N, K) -> (N, K + 1)``: append the null option's utility 0."""
    return torch.cat([utilities, utilities.new_zeros(utilities.shape[0], 1)], dim=1)


def choice_probabilities(utilities: Tensor, inv_temp: float | Tensor) -> Tensor:
    """Softmax choice ``(N, K + 1)`` over the K elements and the null option (last column):
    Z_k = exp(κ u_k) / (Σ_j exp(κ u_j) + 1) with inverse temperature κ."""
    return torch.softmax(_with_null(utilities) * inv_temp, dim=1)


def soft_revenue(probs: Tensor, prices: Tensor) -> Tensor:
    """Σ_k Z_k β_k per buyer ``(N,)`` (the null option pays nothing); ``prices`` ``(K,)``
    or per buyer ``(N, K)`` (priced menus, :mod:`mechopt.menus.priced`)."""
    if prices.dim() == 2:
        return (probs[:, :-1] * prices).sum(dim=1)
    return probs[:, :-1] @ prices


def rochetnet_revenue(values: Tensor, utilities: Tensor, probs: Tensor) -> Tensor:
    """RochetNet payment per buyer ``(N,)``: Σ_k Z_k v_k − max(0, max_k u_k).

    Revenue = welfare − utility; the buyer's utility is taken hard (the best element or
    null), the welfare soft.  Under a hard choice (Z one-hot on the argmax) it is exactly the
    price paid.
    """
    best = utilities.amax(dim=1).clamp_min(0.0)
    return (probs[:, :-1] * values).sum(dim=1) - best


def ir_penalty(probs: Tensor, utilities: Tensor) -> Tensor:
    """Σ_k Z_k max(0, −u_k)² per buyer ``(N,)``: soft purchases a real buyer would refuse."""
    return (probs[:, :-1] * torch.relu(-utilities).square()).sum(dim=1)


def gumbel_straight_through(
    utilities: Tensor, inv_temp: float | Tensor, generator: torch.Generator | None = None,
    noise: Tensor | None = None,
) -> Tensor:
    """Straight-through Gumbel-softmax choice ``(N, K + 1)``.

    Forward: one-hot of argmax(κ [u, 0] + g), g i.i.d. Gumbel(0, 1) (``noise`` if given);
    backward: the gradient of softmax(κ [u, 0] + g).
    """
    logits = _with_null(utilities) * inv_temp
    if noise is None:
        uniform = torch.rand(logits.shape, generator=generator, device=logits.device,
                             dtype=logits.dtype)
        noise = -torch.log(-torch.log(uniform.clamp(1e-20, 1 - 1e-7)))
    soft = torch.softmax(logits + noise, dim=1)
    hard = torch.zeros_like(soft).scatter_(1, soft.argmax(dim=1, keepdim=True), 1.0)
    return hard - soft.detach() + soft


def reinforce_surrogate(
    utilities: Tensor, prices: Tensor, inv_temp: float | Tensor,
    generator: torch.Generator | None = None, choice: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """REINFORCE for the expected IR revenue E_{k∼Z}[β_k 1{u_k ≥ 0}] (Williams 1992).

    Returns ``(surrogate (N,), reward (N,))``: the surrogate's gradient is the unbiased
    estimator ∇β_k 1{u_k ≥ 0} + (r − b) ∇ log Z_k for the sampled k (``choice`` if given),
    with the leave-one-out baseline b = mean of the other buyers' rewards; its value is the
    sampled reward.
    """
    probs = choice_probabilities(utilities, inv_temp)
    if choice is None:
        choice = torch.multinomial(probs.detach(), 1, generator=generator).squeeze(1)
    paid = torch.cat([prices, prices.new_zeros(1)])[choice]  # null pays 0
    u_chosen = _with_null(utilities).gather(1, choice.unsqueeze(1)).squeeze(1)
    reward = paid * (u_chosen >= 0).to(paid.dtype)
    n = reward.shape[0]
    r = reward.detach()
    baseline = (r.sum() - r) / max(n - 1, 1) if n > 1 else torch.zeros_like(r)
    log_p = torch.log(probs.gather(1, choice.unsqueeze(1)).squeeze(1).clamp_min(1e-30))
    surrogate = reward + (r - baseline) * (log_p - log_p.detach())
    return surrogate, reward


def inverse_temperature(config: MenuConfig, step: int, scale: float) -> float:
    """The softmax inverse temperature κ at ``step`` (0-based) of a run of ``config.steps``.

    BundleFlow schedule (relaxation ``bundleflow`` or ``schedule="bundleflow"``):
    κ = λ = min(λ_max, λ_0 · growth^⌊step / every⌋) — independent of the values.
    Otherwise: κ = 1 / (T · scale) with T annealed geometrically from ``temperature`` to
    ``temperature_end``, ``scale`` being the mean value of the grand bundle.
    """
    if config.uses_bundleflow_schedule:
        lam = config.bundleflow_lambda * config.bundleflow_lambda_growth ** (step // config.bundleflow_lambda_every)
        return float(min(config.bundleflow_lambda_max, lam))
    frac = min(1.0, step / max(config.steps - 1, 1))
    t = config.temperature * (config.temperature_end / config.temperature) ** frac
    return 1.0 / (t * scale)


def relaxed_objective(
    relaxation: str,
    values: Tensor,
    prices: Tensor,
    inv_temp: float | Tensor,
    *,
    ir_weight: float | Tensor = 0.0,
    generator: torch.Generator | None = None,
) -> Relaxed:
    """The training objective of ``relaxation`` for values ``(N, K)`` and prices ``(K,)``
    (or ``(N, K)`` per buyer, except for ``reinforce``)."""
    utilities = values - prices
    probs = choice_probabilities(utilities, inv_temp)
    soft = soft_revenue(probs, prices)
    if relaxation in ("softmax", "bundleflow"):
        revenue = soft
    elif relaxation == "rochetnet":
        revenue = rochetnet_revenue(values, utilities, probs)
    elif relaxation == "gumbel":
        choice = gumbel_straight_through(utilities, inv_temp, generator)
        revenue = soft_revenue(choice, prices)
    elif relaxation == "reinforce":
        if prices.dim() != 1:
            raise InputError("relaxation reinforce needs one price per menu element (not priced menus)")
        revenue, _ = reinforce_surrogate(utilities, prices, inv_temp, generator)
    else:
        raise InputError(f"unknown relaxation {relaxation!r}")
    penalty = ir_penalty(probs, utilities).mean()
    objective = revenue.mean() - ir_weight * penalty
    return Relaxed(objective=objective, soft_revenue=soft.mean(), penalty=penalty, probs=probs)
