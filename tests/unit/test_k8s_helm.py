"""The helm driver with the real helm binary: explicit kubeconfig, values via a private file, errors with
helm's own words and a fix."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from fateops.exceptions import KubernetesError
from fateops.k8s import chart_contract as cc
from fateops.k8s.access import KubeAccess
from fateops.k8s.helm import Helm, find_helm


def unreachable_kubeconfig(path: Path) -> Path:
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
           "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}}],
           "users": [{"name": "u", "user": {"token": "x"}}],
           "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def recording_helm(helm_bin: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The real helm behind a wrapper that records each argv and the values file's mode."""
    log = tmp_path / "argv.log"
    wrapper = tmp_path / "helm"
    wrapper.write_text(f"""#!/bin/sh
echo "$@" >> {log}
for a in "$@"; do case "$a" in *fateops-values-*) stat -c '%a' "$a" >> {log};; esac; done
exec {helm_bin} "$@"
""")
    wrapper.chmod(0o755)
    return wrapper, log


def test_find_helm_prefers_the_env_var_and_says_when_it_is_wrong(helm_bin: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FATEOPS_HELM_BIN", str(helm_bin))
    assert find_helm() == helm_bin
    monkeypatch.setenv("FATEOPS_HELM_BIN", str(tmp_path / "nope"))
    with pytest.raises(KubernetesError, match="FATEOPS_HELM_BIN"):
        find_helm()


def test_every_call_names_the_kubeconfig_and_never_the_ambient_one(recording_helm: tuple[Path, Path],
                                                                   tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    wrapper, log = recording_helm
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "ambient-should-not-be-used"))
    access = KubeAccess("k8s_test", kubeconfig=unreachable_kubeconfig(tmp_path / "kc.yaml"))
    helm = Helm(access, binary=wrapper, timeout_s=20)
    with pytest.raises(KubernetesError) as err:
        helm.upgrade_install("fate-30000", cc.PARTY_CHART, "fate-30000", {"partyId": 30000}, timeout_s=10)
    argv = log.read_text().splitlines()
    assert f"--kubeconfig {tmp_path / 'kc.yaml'}" in argv[0]
    assert argv[1] == "600"  # values file is private (it may hold passwords)
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("fateops-values-*"))
    message = str(err.value)
    assert "helm upgrade fate-30000 in fate-30000 on k8s_test" in message
    assert "127.0.0.1:1" in message  # helm's own words
    assert "connection" in err.value.fix


def test_template_renders_offline(helm_bin: Path, tmp_path: Path) -> None:
    helm = Helm(KubeAccess("k", kubeconfig=unreachable_kubeconfig(tmp_path / "kc.yaml")), binary=helm_bin)
    docs = helm.template("fate-30000", cc.PARTY_CHART, "fate-30000", cc.party_values(30000))
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "ConfigMap", "PersistentVolumeClaim"} <= kinds


def test_a_schema_violation_is_reported_with_the_values_fix(helm_bin: Path, tmp_path: Path) -> None:
    helm = Helm(KubeAccess("k", kubeconfig=unreachable_kubeconfig(tmp_path / "kc.yaml")), binary=helm_bin)
    with pytest.raises(KubernetesError) as err:
        helm.template("fate-30000", cc.PARTY_CHART, "fate-30000", {"partyId": "not-a-number"})
    assert "partyId" in str(err.value)
    assert "kubernetes.values" in err.value.fix


def test_the_values_file_helper_leaves_nothing_behind(helm_bin: Path) -> None:
    from fateops.k8s.helm import _values_file

    with _values_file({"a": 1}) as path:
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600
        assert yaml.safe_load(Path(path).read_text()) == {"a": 1}
    assert not Path(path).exists()
    assert subprocess.run([str(helm_bin), "version", "--short"], capture_output=True, check=True).returncode == 0
