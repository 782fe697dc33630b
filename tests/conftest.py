"""Shared pytest wiring: Airflow's environment (set before anything imports airflow), the real local FATE
engine and the real-peers harness fixtures.

Ports default to spares (9480/9460 for the engine) so a developer's running demo engine is left alone.
"""

from __future__ import annotations

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
_STATE = Path(os.environ.setdefault("FATEOPS_STATE_DIR", str(_ROOT / ".fateops" / "test")))
os.environ.setdefault("FATEOPS_ENGINE_PORT", "9480")
os.environ.setdefault("FATEOPS_ENGINE_GRPC_PORT", "9460")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# the suite's default federation is the one-engine config (fast); the two-site one has its own fixture
os.environ.setdefault("FATEOPS_FEDERATION", "federation.single.yaml")
# the two-site topology (tests/engine_fixtures.py::local_sites): spare bases, never the demo's
for _var, _port in (("FATEOPS_SITES_HTTP_PORT", 9581), ("FATEOPS_SITES_GRPC_PORT", 9591),
                    ("FATEOPS_SITES_AMQP_PORT", 5581), ("FATEOPS_SITES_MGMT_PORT", 15581),
                    ("FATEOPS_SITES_DIST_PORT", 25581), ("FATEOPS_EXCHANGE_PORT", 9570)):
    os.environ.setdefault(_var, str(_port))

from fateops.localstack.airflow import airflow_env  # noqa: E402

for _key, _value in airflow_env(_STATE / "airflow", port=int(os.environ.get("FATEOPS_AIRFLOW_PORT", "8480"))).items():
    if _key != "PYTHONPATH":
        os.environ.setdefault(_key, _value)
os.environ.setdefault("AIRFLOW_CONN_FATEFLOW_DEFAULT", f"fateflow://127.0.0.1:{os.environ['FATEOPS_ENGINE_PORT']}")
for _index, _party in enumerate((9999, 10000)):  # federation.local.yaml's per-site connections
    os.environ.setdefault(f"AIRFLOW_CONN_FATEFLOW_{_party}",
                          f"fateflow://127.0.0.1:{int(os.environ['FATEOPS_SITES_HTTP_PORT']) + _index}")
os.environ.setdefault("FATEOPS_FATE_URL", f"http://127.0.0.1:{os.environ['FATEOPS_ENGINE_PORT']}")

pytest_plugins = ["tests.harness.fixtures", "tests.engine_fixtures"]
