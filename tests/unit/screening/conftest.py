from __future__ import annotations

from pathlib import Path

import pytest

from app.screening.sources import default_fixtures_dir


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return default_fixtures_dir()
