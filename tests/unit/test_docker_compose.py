"""docker-compose.yaml cannot run here (no Docker engine); its structure is checked instead."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")


def test_all_airflow_components_postgres_and_fate_are_services() -> None:
    assert set(COMPOSE["services"]) >= {*AIRFLOW_SERVICES, "airflow-init", "postgres", "fate"}


def test_airflow_services_mount_our_code_and_reach_fate() -> None:
    for name in AIRFLOW_SERVICES:
        service = COMPOSE["services"][name]
        mounts = {v.split(":")[1] for v in service["volumes"] if not v.startswith("fateops-state")}
        assert mounts == {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include"}, name
        assert service["environment"]["AIRFLOW_CONN_FATEFLOW_DEFAULT"] == "fateflow://fate:9380"
        assert "postgresql" in service["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_mlflow_server_on_postgres_is_what_every_airflow_component_tracks_to() -> None:
    mlflow = COMPOSE["services"]["mlflow"]
    args = dict(a.removeprefix("--").split("=", 1) for a in mlflow["command"] if "=" in a)
    assert args["backend-store-uri"].startswith("postgresql+psycopg2://mlflow:${MLFLOW_DB_PASSWORD:?")
    assert args["backend-store-uri"].endswith("@mlflow-db/mlflow") and "mlflow-db" in COMPOSE["services"]
    assert mlflow["depends_on"]["mlflow-db"]["condition"] == "service_healthy"
    assert args["artifacts-destination"] == "/mlflow/artifacts" and "mlflow:5000" in args["allowed-hosts"]
    for name in AIRFLOW_SERVICES:
        service = COMPOSE["services"][name]
        conn = yaml.safe_load(service["environment"]["AIRFLOW_CONN_MLFLOW_DEFAULT"])
        assert (conn["host"], conn["port"]) == ("mlflow", int(args["port"])), name
        assert service["depends_on"]["mlflow"]["condition"] == "service_healthy"


def test_published_ports_bind_loopback_only() -> None:
    for name, service in COMPOSE["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)


def test_no_secret_is_written_in_the_file() -> None:
    text = (ROOT / "docker-compose.yaml").read_text()
    assert "${POSTGRES_PASSWORD:?" in text and "${AIRFLOW_JWT_SECRET:?" in text
    postgres = COMPOSE["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert postgres.startswith("${"), "the database password must come from the environment"
    assert COMPOSE["services"]["mlflow-db"]["environment"]["POSTGRES_PASSWORD"].startswith("${")


def test_build_contexts_exist() -> None:
    for service in COMPOSE["services"].values():
        build = service.get("build")
        if build:
            assert (ROOT / build["context"] / build["dockerfile"]).is_file()
