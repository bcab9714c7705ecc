"""Shared fixtures: paths to the bundled instance files."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
CATS = DATA / "cats"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def cats_dir() -> Path:
    return CATS
