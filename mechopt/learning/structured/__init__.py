"""Structured models of the payment-rule SVM (see :mod:`mechopt.learning.structured.base`)."""

from mechopt.learning.structured.base import (
    ASSIGNMENT_ATTRIBUTES,
    MAX_DENSE_ITEMS,
    AssignmentModel,
    BaseVectors,
    CombinatorialModel,
    DenseBase,
    Examples,
    RowCache,
    StructuredModel,
    XorBase,
    leximin_attributes,
    make_structured_model,
    structured_model_from_dict,
)

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
