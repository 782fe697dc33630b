"""Session fixtures for the real local FATE engine, a migrated Airflow metadata DB and the real Airflow
components on 127.0.0.1 (shared by the REST-pipeline and the UI trigger-form tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fateops.engine import LocalEngine
from fateops.localstack import AirflowStack
from fateops.paths import CONFIGS_DIR, state_dir

if TYPE_CHECKING:
    from fateops.engine.sites import LocalSites

SITES_FEDERATION = CONFIGS_DIR / "federation.local.yaml"


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
def local_sites() -> Iterator[LocalSites]:
    """Two real sites (FATE Flow + RabbitMQ each) and the traffic-server Exchange, once per session.

    The federation is ``include/configs/federation.local.yaml`` (the two-site default) with the test
    ports of conftest.py; the Exchange's routes are written and verified the way fate_exchange_federate
    does. Started ≈ 20 s (brokers and servers in parallel); stopped at the end unless already running.
    """
    from fateops.engine.sites import LocalSites
    from fateops.exchange import federate_local_sites
    from fateops.federation import load_federation

    sites = LocalSites(load_federation(SITES_FEDERATION))
    already = all(site.engine.pid() is not None for site in sites.sites()) and sites.exchange.pid() is not None
    sites.start_all(timeout_s=300)
    federate_local_sites(sites.federation, log=lambda _line: None)
    yield sites
    if not already:
        sites.stop_all()


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


@pytest.fixture(scope="session")
def airflow_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowStack]:
    """api-server, scheduler, dag-processor and triggerer on 127.0.0.1 (port ``FATEOPS_REST_TEST_PORT``,
    default 8481), their own AIRFLOW_HOME under the test state dir, started once per session (≈30 s).

    The FATE connection points at the test engine's port; tests that run FATE jobs also request
    ``fate_engine``. The last module that needs the stack (``test_rest_ui_trigger``, after
    ``test_rest_pipeline`` in file order) stops it early so the dag-processor does not keep re-parsing
    the DAGs while the rest of the suite runs; stopping again here is a no-op.
    """
    root = tmp_path_factory.mktemp("airflow-stack")
    stack = AirflowStack(
        port=int(os.environ.get("FATEOPS_REST_TEST_PORT", "8481")),
        home=state_dir() / "airflow-rest",
        extra_env={
            "AIRFLOW_CONN_FATEFLOW_DEFAULT": f"fateflow://127.0.0.1:{os.environ['FATEOPS_ENGINE_PORT']}",
            "FATEOPS_DATA_DIR": str(root / "data"),
            "FATEOPS_REPORTS_DIR": str(root / "reports"),
            "FATEOPS_REGISTRY_DIR": str(root / "registry"),
            "AIRFLOW__CORE__PARALLELISM": "3",
        },
    )
    try:
        stack.start(timeout_s=900)
        yield stack
    finally:
        stack.stop()
