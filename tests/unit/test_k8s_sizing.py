"""The seed's sizing guidelines as data, checked against manifests the real helm renders for a party."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from fateops.exceptions import ConfigError
from fateops.federation import load_federation
from fateops.k8s import chart_contract as cc
from fateops.k8s import desired, sizing
from fateops.k8s.access import KubeAccess
from fateops.k8s.helm import Helm

GI = Decimal(1024**3)


@pytest.fixture(scope="module")
def rules() -> sizing.SizingRules:
    return sizing.load_rules()


@pytest.fixture(scope="module")
def render(helm_bin: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    kubeconfig = tmp_path_factory.mktemp("kc") / "unused.yaml"
    kubeconfig.write_text("{}")  # template never contacts a cluster
    helm = Helm(KubeAccess("offline", kubeconfig=kubeconfig), binary=helm_bin)
    federation = load_federation("federation.tanzu.yaml")

    def _render(party_id: int, *, psp: bool = True) -> list[dict]:
        party = federation.party(party_id)
        values = desired.party_values(federation, party, None)
        apis = ["policy/v1beta1/PodSecurityPolicy"] if psp else []
        return helm.template(party.release_name, cc.PARTY_CHART, "fate-30000", values, kube_version="v1.20.2",
                             api_versions=apis)

    return _render


def test_the_shipped_rules_are_the_seeds_numbers(rules: sizing.SizingRules) -> None:
    assert (rules.default.cpu, rules.default.memory) == (Decimal(4), 8 * GI)
    assert (rules.guide("spark-worker").cpu, rules.guide("spark-worker").memory) == (Decimal(8), 16 * GI)
    assert rules.guide("python") == rules.default
    assert rules.min_volume == 5 * GI and rules.dataset_multiple == {"python": 2, "datanode": 2}


def test_pods_below_the_guideline_are_named_and_sized_ones_are_not(render, rules) -> None:  # type: ignore[no-untyped-def]
    manifests = render(30000)
    [warning] = sizing.check_pods(manifests, rules)
    assert "mysql 250m CPU/0.5Gi (wants 4/8Gi)" in warning
    # the Tanzu config sizes python and the Spark worker per the seed: they are not flagged
    assert "python " not in warning and "spark-worker" not in warning


def test_volumes_and_dataset_multiples(render, rules) -> None:  # type: ignore[no-untyped-def]
    manifests = render(30000)
    assert sizing.check_volumes(manifests, rules) == []  # chart defaults are >= 5Gi
    found = sizing.check_volumes(manifests, rules, dataset_bytes=15 * GI)
    assert any(w.startswith("volume python-data is 20Gi") and "2× = 30Gi" in w for w in found), found
    assert any(w.startswith("volume datanode-data") for w in found)


def test_nodes_too_small_and_too_few_for_one_spark_worker_each(render, rules) -> None:  # type: ignore[no-untyped-def]
    manifests = render(30000)
    big = sizing.NodeCapacity("w0", Decimal(16), 64 * GI)
    small = sizing.NodeCapacity("w1", Decimal(2), 4 * GI)
    assert sizing.check_nodes([big], manifests, rules) == []
    found = sizing.check_nodes([big, small], manifests, rules)
    assert found == ["1 of 2 nodes have less than 4 CPU/8Gi allocatable: w1"]
    found = sizing.check_nodes([small], manifests, rules)
    assert any("want 1 node(s) with ≥ 8 CPU/16Gi" in w and "0 qualify" in w for w in found), found
    assert sizing.check_nodes([], manifests, rules) == ["no schedulable Ready node found: FATE's pods cannot start"]


def test_checks_are_structured_and_the_preflight_strings_are_made_from_them(render, rules) -> None:  # type: ignore[no-untyped-def]
    """One set of rules: the preflight's warnings are the short checks, phrased; the audit reads the same."""
    manifests = render(30000)
    small = sizing.NodeCapacity("w1", Decimal(2), 4 * GI)
    [node] = sizing.node_checks([small], rules)
    assert (node.subject, node.measured, node.short) == ("node w1", "2 CPU/4Gi", True)
    assert node.required.startswith("≥ 4 CPU/8Gi")
    spark = sizing.spark_worker_check([small], manifests, rules)
    assert spark is not None and spark.short and spark.required == "1 for 1 worker(s)"
    assert sizing.check_nodes([small], manifests, rules)[1] == spark.problem
    pods = {c.subject: c for c in sizing.pod_checks(manifests, rules)}
    assert pods["mysql"].short and not pods["python"].short and pods["mysql"].problem in sizing.check_pods(
        manifests, rules)[0]
    [fit] = [c for c in sizing.pod_fit_checks(manifests, [small]) if c.subject == "python"]
    assert fit.blocker and fit.short and "Pending" in fit.fix
    volumes = {c.subject: c for c in sizing.volume_checks(manifests, rules, dataset_bytes=15 * GI)}
    python = volumes["volume python-data"]
    assert python.short and python.measured == "20Gi" and python.required == "≥ 5Gi and ≥ 2× the 15Gi dataset"
    assert python.problem in sizing.check_volumes(manifests, rules, dataset_bytes=15 * GI)


def test_psp_on_a_cluster_without_psp_is_refused_by_the_chart(render) -> None:  # type: ignore[no-untyped-def]
    from fateops.exceptions import KubernetesError

    with pytest.raises(KubernetesError, match="PodSecurityPolicy"):
        render(30000, psp=False)


def test_a_bad_quantity_in_the_rules_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "sizing.yaml"
    bad.write_text("pods:\n  default: {cpu: lots, memory: 8Gi}\n")
    with pytest.raises(ConfigError) as err:
        sizing.load_rules(bad)
    assert err.value.field == "pods.default.cpu"
