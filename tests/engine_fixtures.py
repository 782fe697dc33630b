"""Session fixtures for the real local FATE engine and a migrated Airflow metadata DB."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fateops.engine import LocalEngine


@pytest.fixture(scope="session")
def fate_engine() -> Iterator[LocalEngine]:
    """The engine fateops installs and starts itself (cached venv; start ≈ seconds). Stopped at the end."""
    engine = LocalEngine()
    already = engine.pid() is not None
    engine.start(timeout_s=180)
    yield engine
    if not already:
        engine.stop()


@pytest.fixture(scope="session")
def fate_url(fate_engine: LocalEngine) -> str:
    return fate_engine.config.base_url


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata DB for `dag.test()` (SQLite in the test state dir)."""
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], check=True,
                   capture_output=True, timeout=600, env=os.environ.copy())
    return home
