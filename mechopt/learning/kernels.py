"""Kernels on attribute vectors for the payment-rule SVM (Dütting et al., EC 2012, §4.1.1).

The discriminant is f_w(x, o) = w_1 · v_1(x_1, o) + w_{-1}ᵀ φ(ψ(x_{-1}, o)); the kernel
K(a, a') = ⟨φ(a), φ(a')⟩ is applied to the attribute vectors a = ψ(·) only, the value term
stays linear (docs/payment-rules.md#kernels).  Every kernel used here is a function of the inner product
s = ⟨a, a'⟩ and the squared norms n = ‖a‖², n' = ‖a'‖²:

- linear       K = s
- polynomial   K = (s + c)^d                (the paper's (⟨a, a'⟩ + 1)^d with c = 1)
- RBF          K = exp(−γ (n + n' − 2 s))   = exp(−γ‖a − a'‖²)

The attribute maps of the paper place a vector in one of several orthogonal *blocks* (the
block of outcome o in φ1 and φ2), so two attribute vectors in different blocks have s = 0
and their kernel value depends on the norms only.  :meth:`Kernel.cross` gives that value
in the separable form ``cross_scale · g(n) · g(n')``, which lets the learner sum the kernel
over all blocks at once (:mod:`mechopt.learning.structured`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mechopt.errors import InputError

__all__ = [
    "Kernel",
    "LinearKernel",
    "PolynomialKernel",
    "RBFKernel",
    "KERNELS",
    "make_kernel",
    "kernel_from_dict",
]


class Kernel(ABC):
    """A kernel written as a function of (s, n, n'); see the module docstring."""

    name: ClassVar[str]

    @abstractmethod
    def from_inner(self, s: np.ndarray, n1: np.ndarray, n2: np.ndarray) -> np.ndarray:
        """K for inner products ``s`` and squared norms ``n1``, ``n2`` (broadcast)."""

    @property
    @abstractmethod
    def cross_scale(self) -> float:
        """K(a, a') = cross_scale · g(‖a‖²) · g(‖a'‖²) whenever ⟨a, a'⟩ = 0."""

    def norm_factor(self, n: np.ndarray) -> np.ndarray:
        """g(n) of :attr:`cross_scale` (1 unless the kernel depends on norms)."""
        return np.ones_like(np.asarray(n, dtype=float))

    def cross(self, n1: np.ndarray, n2: np.ndarray) -> np.ndarray:
        """K of two orthogonal vectors (different blocks) with squared norms n1, n2."""
        return self.cross_scale * self.norm_factor(n1) * self.norm_factor(n2)

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Gram matrix of the rows of ``a`` (N×d) against the rows of ``b`` (M×d)."""
        a = np.atleast_2d(np.asarray(a, dtype=float))
        b = np.atleast_2d(np.asarray(b, dtype=float))
        return self.from_inner(a @ b.T, np.einsum("ij,ij->i", a, a)[:, None], np.einsum("ij,ij->i", b, b)[None, :])

    @property
    def is_linear(self) -> bool:
        return False

    @abstractmethod
    def params(self) -> dict[str, float]:
        """Parameters (JSON-serializable)."""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.params()}

    def describe(self) -> str:
        p = ", ".join(f"{k}={v:g}" for k, v in self.params().items())
        return f"{self.name}({p})" if p else self.name


@dataclass(frozen=True)
class LinearKernel(Kernel):
    """K(a, a') = ⟨a, a'⟩ (the primal QP applies)."""

    name: ClassVar[str] = "linear"

    def from_inner(self, s, n1, n2):
        return np.asarray(s, dtype=float) + 0.0 * (np.asarray(n1) + np.asarray(n2))

    @property
    def cross_scale(self) -> float:
        return 0.0

    @property
    def is_linear(self) -> bool:
        return True

    def params(self) -> dict[str, float]:
        return {}


@dataclass(frozen=True)
class PolynomialKernel(Kernel):
    """K(a, a') = (⟨a, a'⟩ + coef0)^degree (paper §4.1.1: coef0 = 1)."""

    degree: int = 2
    coef0: float = 1.0
    name: ClassVar[str] = "poly"

    def __post_init__(self) -> None:
        if int(self.degree) != self.degree or self.degree < 1:
            raise InputError(f"polynomial degree must be a positive integer, got {self.degree}")
        if not np.isfinite(self.coef0) or self.coef0 < 0:
            raise InputError(f"polynomial coef0 must be finite and >= 0, got {self.coef0}")

    def from_inner(self, s, n1, n2):
        base = np.asarray(s, dtype=float) + self.coef0 + 0.0 * (np.asarray(n1) + np.asarray(n2))
        return base ** int(self.degree)

    @property
    def cross_scale(self) -> float:
        return float(self.coef0) ** int(self.degree)

    def params(self) -> dict[str, float]:
        return {"degree": int(self.degree), "coef0": float(self.coef0)}


@dataclass(frozen=True)
class RBFKernel(Kernel):
    """K(a, a') = exp(−γ‖a − a'‖²) (paper §4.1.1)."""

    gamma: float = 1.0
    name: ClassVar[str] = "rbf"

    def __post_init__(self) -> None:
        if not np.isfinite(self.gamma) or self.gamma <= 0:
            raise InputError(f"RBF gamma must be finite and > 0, got {self.gamma}")

    def from_inner(self, s, n1, n2):
        d2 = np.asarray(n1, dtype=float) + np.asarray(n2, dtype=float) - 2.0 * np.asarray(s, dtype=float)
        return np.exp(-self.gamma * np.maximum(d2, 0.0))

    @property
    def cross_scale(self) -> float:
        return 1.0

    def norm_factor(self, n):
        return np.exp(-self.gamma * np.asarray(n, dtype=float))

    def params(self) -> dict[str, float]:
        return {"gamma": float(self.gamma)}


KERNELS: dict[str, type[Kernel]] = {
    LinearKernel.name: LinearKernel,
    PolynomialKernel.name: PolynomialKernel,
    RBFKernel.name: RBFKernel,
}


def make_kernel(name: str, **params: Any) -> Kernel:
    """A kernel by name (``linear``, ``poly``, ``rbf``) with its parameters.

    Parameters that do not belong to the kernel (e.g. ``gamma`` for ``linear``) are ignored
    when they are None and refused otherwise.
    """
    if isinstance(name, Kernel):
        return name
    key = str(name).lower()
    if key in ("polynomial",):
        key = "poly"
    if key not in KERNELS:
        raise InputError(f"unknown kernel {name!r} (choose from {', '.join(KERNELS)})")
    cls = KERNELS[key]
    allowed = {"linear": set(), "poly": {"degree", "coef0"}, "rbf": {"gamma"}}[key]
    given = {k: v for k, v in params.items() if v is not None}
    extra = set(given) - allowed
    if extra:
        raise InputError(f"kernel {key!r} takes no parameter(s) {', '.join(sorted(extra))}")
    return cls(**given)


def kernel_from_dict(data: dict[str, Any]) -> Kernel:
    """Inverse of :meth:`Kernel.to_dict`."""
    if not isinstance(data, dict) or "name" not in data:
        raise InputError(f"not a kernel description: {data!r}")
    params = {k: v for k, v in data.items() if k != "name"}
    return make_kernel(data["name"], **params)
