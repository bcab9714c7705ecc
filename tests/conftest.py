"""Shared fixtures: paths to the bundled instance files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# The default profile is derandomized so that CI is reproducible; explore new random
# examples locally with HYPOTHESIS_PROFILE=explore.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA
