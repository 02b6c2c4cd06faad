from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
SITES = {s: CONFIGS / "sites" / f"site_{s}.yaml" for s in "abcd"}


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def site_paths() -> dict[str, Path]:
    return SITES
