"""The package type-checks: ``python -m mypy mechopt`` reports no error.

mechopt ships ``py.typed``, so its annotations are part of its interface.  The settings
(strict for the typed core, the default level elsewhere, the third-party packages without
type information) are in ``[tool.mypy]`` of pyproject.toml; mypy comes with the ``test``
extra, so CI runs this check on both the newest and the lowest versions it allows.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mypy_reports_no_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "mechopt"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, f"mypy failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
