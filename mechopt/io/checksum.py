"""SHA-256 of a JSON document over all its fields: the integrity check of saved models.

A model file (payment rule, menu) stores ``sha256`` = the hash of its own canonical JSON
(sorted keys, no spaces) without the ``sha256`` field.  Every field is covered — settings,
fitted constants, arrays, metrics — so editing any number that changes results (a kernel γ,
``w1``, an inverse temperature) is refused instead of silently changing results.  The file
name is not part of the document, so a copied or renamed model still loads.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["CHECKSUM_FIELD", "document_sha256"]

CHECKSUM_FIELD = "sha256"


def document_sha256(doc: dict[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of ``doc`` without its ``sha256`` field."""
    body = {k: v for k, v in doc.items() if k != CHECKSUM_FIELD}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
