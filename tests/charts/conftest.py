"""Session fixtures of the chart tests. Helpers live in chartkit.py (unique module name)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools import helm_path


@pytest.fixture(scope="session")
def helm() -> str:
    """The real helm v4 binary, downloaded once into .cache/tools/ (tests/tools.py)."""
    return helm_path()
