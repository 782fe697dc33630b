"""Cluster access is always explicit: a connection names exactly one kubeconfig source, and clients for two
clusters never share (or change) the client library's process-wide default configuration."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml

from fateops.exceptions import ConfigError
from fateops.k8s.access import KubeAccess, access_from_extra, env_resolver


def kubeconfig(path: Path, server: str, token: str = "t0ken") -> Path:
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
           "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
           "users": [{"name": "u", "user": {"token": token}}],
           "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AIRFLOW_CONN_K8S_PARTY_30000", "FATEOPS_KUBECONFIG_K8S_PARTY_30000", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(key, raising=False)


def test_env_resolver_reads_airflows_json_connection_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = kubeconfig(tmp_path / "a.yaml", "https://127.0.0.1:6443")
    monkeypatch.setenv("AIRFLOW_CONN_K8S_PARTY_30000", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(path), "cluster_context": "c"}}))
    access = env_resolver("k8s_party_30000")
    assert access.kubeconfig == path and access.context == "c" and not access.in_cluster


def test_legacy_prefixed_extras_are_understood(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "a.yaml", "https://127.0.0.1:6443")
    access = access_from_extra("x", {"extra__kubernetes__kube_config_path": str(path)})
    assert access.kubeconfig == path


def test_an_unknown_connection_names_the_fix() -> None:
    with pytest.raises(ConfigError) as err:
        env_resolver("k8s_party_30000")
    assert err.value.value == "k8s_party_30000"
    assert "FATEOPS_KUBECONFIG_K8S_PARTY_30000" in err.value.fix


def test_a_connection_must_name_exactly_one_source(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "a.yaml", "https://127.0.0.1:6443")
    with pytest.raises(ConfigError, match="exactly one"):
        KubeAccess("x")
    with pytest.raises(ConfigError, match="exactly one"):
        KubeAccess("x", kubeconfig=path, in_cluster=True)
    with pytest.raises(ConfigError, match="not found"):
        KubeAccess("x", kubeconfig=tmp_path / "missing.yaml")


def test_inline_kubeconfig_becomes_a_private_temp_file_for_tools(tmp_path: Path) -> None:
    text = kubeconfig(tmp_path / "a.yaml", "https://127.0.0.1:6443").read_text()
    access = KubeAccess("x", inline=text)
    assert "t0ken" not in repr(access)
    with access.kubeconfig_file() as path:
        assert path.read_text() == text
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.exists()


def test_two_clusters_get_independent_clients(tmp_path: Path) -> None:
    from kubernetes import client

    default_before = client.Configuration.get_default_copy().host
    a = KubeAccess("a", kubeconfig=kubeconfig(tmp_path / "a.yaml", "https://127.0.0.1:7001"))
    b = KubeAccess("b", inline=kubeconfig(tmp_path / "b.yaml", "https://127.0.0.1:7002").read_text())
    api_a, api_b = a.api_client(), b.api_client()
    try:
        assert api_a.configuration.host == "https://127.0.0.1:7001"
        assert api_b.configuration.host == "https://127.0.0.1:7002"
        assert client.Configuration.get_default_copy().host == default_before
    finally:
        api_a.close()
        api_b.close()
