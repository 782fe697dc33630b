"""What the Tanzu federation config asks of each release, pod step and certificate — as plain data."""

from __future__ import annotations

from pathlib import Path

import pytest

from fateops.exceptions import ConfigError
from fateops.federation import load_federation, parse_federation
from fateops.k8s import chart_contract as cc
from fateops.k8s import desired, step_result
from fateops.k8s.pod_steps import PodStep, toy_submit_step
from fateops.k8s.release import chart_digest, release_digest


@pytest.fixture(scope="module")
def tanzu():  # type: ignore[no-untyped-def]
    return load_federation("federation.tanzu.yaml")


def test_the_tanzu_file_is_the_seeds_two_parties_and_exchange(tanzu) -> None:  # type: ignore[no-untyped-def]
    assert [p.party_id for p in tanzu.parties] == [30000, 40000]
    assert tanzu.exchange.kubernetes.namespace == "fate-exchange"
    assert {p.kubernetes.namespace for p in tanzu.parties} == {"fate-30000", "fate-40000"}
    assert tanzu.connections() == {"k8s_party_30000", "k8s_party_40000", "k8s_exchange", "fateflow_30000",
                                   "fateflow_40000"}
    assert [p.release_name for p in tanzu.parties] == ["fate-30000", "fate-40000"]


def test_party_values_carry_tanzu_settings_and_the_exchange_endpoint(tanzu) -> None:  # type: ignore[no-untyped-def]
    party = tanzu.party(30000)
    endpoint = desired.exchange_endpoint(tanzu, {cc.SVC_NGINX: "10.159.229.69", cc.SVC_TRAFFIC_SERVER: "10.159.229.68"})
    values = desired.party_values(tanzu, party, endpoint)
    assert values["persistence"] == {"enabled": True, "storageClass": "vsan-default-storage-policy"}
    assert values["podSecurityPolicy"] == {"enabled": True}
    assert cc.values_at(values, cc.NGINX_EXCHANGE_PATH)["ip"] == "10.159.229.69"
    assert cc.values_at(values, cc.PULSAR_EXCHANGE_PATH) == {"ip": "10.159.229.68", "port": 443, "domain": "fate.org"}
    assert values["python"]["resources"]["requests"] == {"cpu": "4", "memory": "8Gi"}  # kubernetes.values merged
    assert "exchange" not in desired.party_values(tanzu, party, None)["nginx"]


def test_no_exchange_endpoint_until_both_load_balancers_have_ips(tanzu) -> None:  # type: ignore[no-untyped-def]
    assert desired.exchange_endpoint(tanzu, {cc.SVC_NGINX: "10.0.0.1", cc.SVC_TRAFFIC_SERVER: None}) is None


def test_exchange_values_are_the_same_whatever_the_party_order(tanzu) -> None:  # type: ignore[no-untyped-def]
    a = desired.party_endpoints(30000, {cc.SVC_NGINX: "10.0.0.1", cc.SVC_PULSAR_PUBLIC: "10.0.0.2"})
    b = desired.party_endpoints(40000, {cc.SVC_NGINX: "10.0.1.1", cc.SVC_PULSAR_PUBLIC: "10.0.1.2"})
    one, two = desired.exchange_values(tanzu, [a, b]), desired.exchange_values(tanzu, [b, a])
    assert one == two
    assert cc.values_at(one, cc.EXCHANGE_SNI_PATH) == [
        {"fqdn": "30000.fate.org", "tunnelRoute": "10.0.0.2:6651"},
        {"fqdn": "40000.fate.org", "tunnelRoute": "10.0.1.2:6651"}]
    assert one["trafficServer"]["rollOnRouteChange"] is False  # reloaded, not rolled (the seed's step 4)
    assert one["podSecurityPolicy"] == {"enabled": True}


def test_certificate_names_follow_the_sni_routes(tanzu) -> None:  # type: ignore[no-untyped-def]
    cn, sans = desired.pulsar_cert_names(tanzu, tanzu.party(40000))
    assert cn == "40000.fate.org" and "40000.fate.org" in sans and "pulsar.fate-40000.svc" in sans
    cn, sans = desired.exchange_cert_names(tanzu)
    assert cn == "exchange.fate.org" and "traffic-server.fate-exchange.svc" in sans


def test_the_toy_step_runs_fateops_in_the_initiators_namespace(tanzu) -> None:  # type: ignore[no-untyped-def]
    guest, host = tanzu.party(30000), tanzu.party(40000)
    step = toy_submit_step(tanzu, guest, host, timeout_s=600)
    assert step is not None
    assert (step.namespace, step.kubernetes_conn_id, step.image) == (
        "fate-30000", "k8s_party_30000", "registry.example.com/fateops/fateops-ops:0.1.0")
    assert step.command == ("fateops",)
    assert step.args == ("fate", "submit-toy", "--guest", "30000", "--host", "40000", "--timeout", "600",
                         "--fateflow-url", "http://fateflow.fate-30000.svc:9380")
    assert step.active_deadline_seconds == 900 and step.resources["limits"] == {"cpu": "1", "memory": "1Gi"}
    assert PodStep.from_dict(step.as_dict()) == step


def test_a_local_guest_has_no_pod_step() -> None:
    local = load_federation()
    assert toy_submit_step(local, local.guest, local.hosts[0], timeout_s=60) is None


def test_a_kubernetes_guest_needs_an_ops_image() -> None:
    data = {"name": "x", "exchange": {"kubernetes": {"connection": "k", "namespace": "fate-exchange"}},
            "parties": [{"party_id": 1, "roles": ["guest"], "backend": "kubernetes",
                         "kubernetes": {"connection": "k", "namespace": "fate-1"}},
                        {"party_id": 2, "roles": ["host"]}]}
    with pytest.raises(ConfigError, match="ops"):
        parse_federation(data)


def test_step_results_round_trip_through_a_log_and_a_termination_message(tmp_path: Path) -> None:
    result = {"job_id": "202611280001", "model_id": "m", "model_version": "0"}
    log = f"submitting\n{step_result.format_line(result)}\n"
    assert step_result.parse(log) == result
    assert step_result.parse("no result here\n") is None
    assert step_result.parse(f"{step_result.MARKER}{{not json") is None
    path = tmp_path / "termination-log"
    assert step_result.write_termination_message(result, path)
    assert step_result.parse(path.read_text()) == result
    assert not step_result.write_termination_message({"x": "y" * 5000}, path)  # over the kubelet's 4 KiB


def test_release_digests_change_with_values_and_chart_files(tmp_path: Path) -> None:
    values = {"partyId": 30000}
    assert release_digest(cc.PARTY_CHART, values) == release_digest(cc.PARTY_CHART, dict(values))
    assert release_digest(cc.PARTY_CHART, values) != release_digest(cc.PARTY_CHART, {"partyId": 40000})
    chart = tmp_path / "c"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    before = chart_digest(chart)
    (chart / "templates" / "x.yaml").write_text("kind: ConfigMap\n")
    assert chart_digest(chart) != before
