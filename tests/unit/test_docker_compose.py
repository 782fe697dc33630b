"""docker-compose.yaml cannot run here (no Docker engine). The real docker-compose v2 binary loads it
(``config``: the Compose specification's schema, ``include``, interpolation, semantic checks), and its
structure is checked; the sites' configs are proven in the real programs by
tests/integration/test_compose_sites_real.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fateops.compose import ComposeSites, render
from fateops.engine.home import Federated
from fateops.federation import load_federation
from fateops.trafficserver.routes import PARTY_HEADER
from tests.harness.compose import compose_config

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
SITES = ("fate-9999", "fate-10000", "rabbitmq-9999", "rabbitmq-10000", "exchange")
ENV = {"POSTGRES_PASSWORD": "p", "AIRFLOW_JWT_SECRET": "j", "MLFLOW_DB_PASSWORD": "m", "RABBITMQ_PASSWORD": "r"}
FEDERATION = load_federation(ROOT / "include" / "configs" / "federation.local.yaml")


@pytest.fixture(scope="module")
def project() -> dict:
    """The whole project as docker-compose resolves it (sites.yaml included, variables interpolated)."""
    loaded = compose_config(ROOT / "docker-compose.yaml", ENV, "--format", "json")
    assert loaded.returncode == 0, loaded.stderr
    return json.loads(loaded.stdout)


def test_the_real_docker_compose_validates_the_file_and_refuses_what_the_spec_forbids(tmp_path: Path) -> None:
    assert compose_config(ROOT / "docker-compose.yaml", ENV, "-q").returncode == 0
    missing = compose_config(ROOT / "docker-compose.yaml", {k: v for k, v in ENV.items() if k != "RABBITMQ_PASSWORD"})
    assert missing.returncode != 0 and "set RABBITMQ_PASSWORD in .env" in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("services:\n  x:\n    image: a\n    bogus: 1\n")
    refused = compose_config(bad, {})
    assert refused.returncode != 0 and "additional properties 'bogus' not allowed" in refused.stderr


def test_the_committed_site_files_are_what_the_federation_renders(tmp_path: Path) -> None:
    assert render(FEDERATION, ROOT / "include" / "compose", check=True) == [], "run `fateops compose render`"
    assert sorted(render(FEDERATION, tmp_path)) == sorted(ComposeSites(FEDERATION).files())


def test_the_local_topology_a_site_and_broker_per_party_and_the_exchange(project: dict) -> None:
    services = project["services"]
    assert set(services) >= {*AIRFLOW_SERVICES, "airflow-init", "postgres", "mlflow", "mlflow-db", *SITES}
    for party, other in ((9999, 10000), (10000, 9999)):
        site = Federated.from_env(services[f"fate-{party}"]["environment"])
        assert site is not None and site.party_id == party and site.broker_host == f"rabbitmq-{party}"
        assert (site.exchange_host, site.exchange_port) == ("exchange", 8080)
        assert dict((p, (h, port)) for p, h, port in site.broker_routes)[other] == (f"rabbitmq-{other}", 5672)
        assert site.broker_password == "r"  # from .env, never written in a file
        assert services[f"fate-{party}"]["depends_on"][f"rabbitmq-{party}"]["condition"] == "service_healthy"
    rules = (ROOT / "include" / "compose" / "exchange" / "fateops_routes.config").read_text()
    for party in (9999, 10000):
        assert (f"cond %{{CLIENT-HEADER:{PARTY_HEADER}}} ={party} [L]\n    set-destination HOST fate-{party}\n"
                "    set-destination PORT 9380") in rules
    exchange = services["exchange"]
    mounts = {v["target"]: v for v in exchange["volumes"]}
    assert mounts["/etc/fateops/exchange"]["read_only"] and mounts["/etc/fateops/exchange"]["type"] == "bind"
    assert exchange["environment"]["PROXY_CONFIG_URL_REMAP_FILENAME"] == "/etc/fateops/exchange/remap.config"


def test_images_and_commands_match_the_image_facts(project: dict) -> None:
    facts = yaml.safe_load((ROOT / "include" / "charts" / "image-facts.yaml").read_text())["images"]
    exchange = project["services"]["exchange"]
    image = facts[exchange["image"].removeprefix("docker.io/")]
    assert exchange["command"][0] in image["executables"] and not image["cmd_works"]
    assert exchange["environment"]["PROXY_CONFIG_ADMIN_USER_ID"] == image["needs_env_when_non_root"][
        "PROXY_CONFIG_ADMIN_USER_ID"]


def test_airflow_services_mount_our_code_and_reach_every_party(project: dict) -> None:
    for name in AIRFLOW_SERVICES:
        service = COMPOSE["services"][name]
        mounts = {v.split(":")[1] for v in service["volumes"] if not v.startswith("fateops-state")}
        assert mounts == {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include"}, name
        env = project["services"][name]["environment"]
        assert env["AIRFLOW_CONN_FATEFLOW_DEFAULT"] == "fateflow://fate-9999:9380"
        assert env["AIRFLOW_CONN_FATEFLOW_9999"] == "fateflow://fate-9999:9380"
        assert env["AIRFLOW_CONN_FATEFLOW_10000"] == "fateflow://fate-10000:9380"
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


def test_published_ports_bind_loopback_only(project: dict) -> None:
    published = {}
    for name, service in project["services"].items():
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", (name, port)
            published[name] = int(port["published"])
    assert {k: published[k] for k in ("fate-9999", "fate-10000", "exchange")} == {
        "fate-9999": 9381, "fate-10000": 9382, "exchange": 9370}  # the local default's ports


def test_no_secret_is_written_in_the_file() -> None:
    text = (ROOT / "docker-compose.yaml").read_text()
    assert "${POSTGRES_PASSWORD:?" in text and "${AIRFLOW_JWT_SECRET:?" in text
    postgres = COMPOSE["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert postgres.startswith("${"), "the database password must come from the environment"
    assert COMPOSE["services"]["mlflow-db"]["environment"]["POSTGRES_PASSWORD"].startswith("${")


def test_build_contexts_exist(project: dict) -> None:
    for service in project["services"].values():
        build = service.get("build")
        if build:
            assert (Path(build["context"]) / build["dockerfile"]).is_file()
