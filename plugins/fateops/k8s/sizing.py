"""The seed's sizing guidelines (``include/configs/sizing.yaml``) checked against a cluster and a release.

Inputs are plain data — the manifests ``helm template`` rendered for the party and the nodes'
allocatable resources — so the checks see exactly the pods the chart will create, whatever values
produced them. Every finding is a warning string naming the pod/node, what it has and what the
guideline asks; nothing here blocks a deployment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from fateops.exceptions import ConfigError
from fateops.paths import CONFIGS_DIR

SIZING_FILE = CONFIGS_DIR / "sizing.yaml"
GI = Decimal(1024**3)
SPARK_WORKER = "spark-worker"


def quantity(value: object, field: str) -> Decimal:
    """A Kubernetes quantity (``500m``, ``8Gi``, ``4``) as a number."""
    from kubernetes.utils import parse_quantity

    try:
        return Decimal(parse_quantity(str(value)))
    except (ValueError, TypeError, ArithmeticError):
        raise ConfigError("is not a Kubernetes quantity", field=field, value=value,
                          fix="use forms like 500m, 4, 8Gi, 16G") from None


@dataclass(frozen=True)
class PodGuide:
    cpu: Decimal
    memory: Decimal


@dataclass(frozen=True)
class LocalGuide:
    """The ``local:`` floor for the machine of the embedded engine (CPUs, bytes of memory and free disk)."""

    cpu: Decimal
    memory: Decimal
    free_disk: Decimal
    dataset_multiple: Decimal


@dataclass(frozen=True)
class SizingRules:
    """The parts of sizing.yaml that can be checked against Kubernetes objects (and the local machine)."""

    default: PodGuide
    per_component: Mapping[str, PodGuide]
    spark_workers_per_node: int
    min_volume: Decimal
    dataset_multiple: Mapping[str, Decimal]
    local: LocalGuide | None = None  # None: an older sizing.yaml without the section

    def guide(self, component: str) -> PodGuide:
        return self.per_component.get(component, self.default)


def load_rules(path: Path | None = None) -> SizingRules:
    path = path or SIZING_FILE
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path.name}: cannot be read ({type(err).__name__})", field="path", value=str(path)) from err
    pods = data.get("pods") or {}
    if "default" not in pods:
        raise ConfigError(f"{path.name}: pods.default (cpu, memory) is required", field="pods.default")

    def guide(name: str, spec: Mapping[str, Any]) -> PodGuide:
        return PodGuide(quantity(spec.get("cpu"), f"pods.{name}.cpu"), quantity(spec.get("memory"),
                                                                                 f"pods.{name}.memory"))

    volumes = data.get("volumes") or {}
    local = data.get("local")
    return SizingRules(
        default=guide("default", pods["default"]),
        per_component={k: guide(k, v) for k, v in pods.items() if k != "default"},
        spark_workers_per_node=int(data.get("spark_workers_per_node", 1)),
        min_volume=quantity(volumes.get("min_size", "0"), "volumes.min_size"),
        dataset_multiple={k: Decimal(str(v)) for k, v in (volumes.get("dataset_multiple") or {}).items()},
        local=_local_guide(local) if local else None,
    )


def _local_guide(spec: Mapping[str, Any]) -> LocalGuide:
    """The ``local:`` section; every key is required so a typo cannot silently drop a check."""
    if not isinstance(spec, Mapping):
        raise ConfigError("must be a mapping (cpu, memory, free_disk, dataset_multiple)", field="local")
    return LocalGuide(cpu=quantity(spec.get("cpu"), "local.cpu"), memory=quantity(spec.get("memory"), "local.memory"),
                      free_disk=quantity(spec.get("free_disk"), "local.free_disk"),
                      dataset_multiple=quantity(spec.get("dataset_multiple"), "local.dataset_multiple"))


def fmt_cpu(value: Decimal) -> str:
    return f"{value.normalize():f}" if value >= 1 else f"{int(value * 1000)}m"


def fmt_mem(value: Decimal) -> str:
    return f"{(value / GI).quantize(Decimal('0.1')).normalize():f}Gi"


def pod_requests(pod_spec: Mapping[str, Any], where: str) -> tuple[Decimal, Decimal]:
    cpu = mem = Decimal(0)
    for c in pod_spec.get("containers") or []:
        requests = (c.get("resources") or {}).get("requests") or {}
        cpu += quantity(requests.get("cpu", "0"), f"{where}.{c.get('name')}.requests.cpu")
        mem += quantity(requests.get("memory", "0"), f"{where}.{c.get('name')}.requests.memory")
    return cpu, mem


def component_of(obj: Mapping[str, Any]) -> str:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return str(labels.get("app.kubernetes.io/component") or (obj.get("metadata") or {}).get("name", "?"))


def workloads(manifests: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [m for m in manifests if m.get("kind") in ("Deployment", "StatefulSet")]


def check_pods(manifests: Iterable[Mapping[str, Any]], rules: SizingRules) -> list[str]:
    """One warning listing every pod whose requests are below its guideline."""
    short: list[str] = []
    for obj in workloads(manifests):
        name = component_of(obj)
        cpu, mem = pod_requests(obj["spec"]["template"]["spec"], name)
        g = rules.guide(name)
        if cpu < g.cpu or mem < g.memory:
            short.append(f"{name} {fmt_cpu(cpu)} CPU/{fmt_mem(mem)} (wants {fmt_cpu(g.cpu)}/{fmt_mem(g.memory)})")
    if not short:
        return []
    return ["pods request less than the seed's sizing guideline: " + "; ".join(short)
            + " — fine for a test cluster; for production raise <component>.resources in the party's "
              "kubernetes.values"]


def check_volumes(manifests: Iterable[Mapping[str, Any]], rules: SizingRules,
                  dataset_bytes: Decimal | None = None) -> list[str]:
    """PVCs smaller than the minimum, and python/datanode volumes smaller than N× the dataset."""
    out: list[str] = []
    for obj in manifests:
        if obj.get("kind") != "PersistentVolumeClaim":
            continue
        name = obj["metadata"]["name"]
        size = quantity(((obj["spec"].get("resources") or {}).get("requests") or {}).get("storage", "0"),
                        f"pvc {name}")
        if size < rules.min_volume:
            out.append(f"volume {name} is {fmt_mem(size)}; the guideline is at least {fmt_mem(rules.min_volume)}")
        component = component_of(obj)
        multiple = rules.dataset_multiple.get(component)
        if dataset_bytes is not None and multiple is not None and size < multiple * dataset_bytes:
            out.append(f"volume {name} is {fmt_mem(size)}; for a {fmt_mem(dataset_bytes)} dataset the guideline "
                       f"is {multiple}× = {fmt_mem(multiple * dataset_bytes)}")
    return out


@dataclass(frozen=True)
class NodeCapacity:
    name: str
    cpu: Decimal
    memory: Decimal


def check_nodes(nodes: Iterable[NodeCapacity], manifests: Iterable[Mapping[str, Any]],
                rules: SizingRules) -> list[str]:
    """Nodes too small for a guideline-sized pod, and too few nodes for one Spark worker each."""
    nodes = list(nodes)
    if not nodes:
        return ["no schedulable Ready node found: FATE's pods cannot start"]
    out: list[str] = []
    g = rules.default
    small = [n.name for n in nodes if n.cpu < g.cpu or n.memory < g.memory]
    if small:
        out.append(f"{len(small)} of {len(nodes)} nodes have less than {fmt_cpu(g.cpu)} CPU/{fmt_mem(g.memory)} "
                   f"allocatable: {', '.join(small)}")
    workers = [w for w in workloads(manifests) if component_of(w) == SPARK_WORKER]
    if workers:
        sw = rules.guide(SPARK_WORKER)
        able = [n for n in nodes if n.cpu >= sw.cpu and n.memory >= sw.memory]
        replicas = sum(int(w["spec"].get("replicas", 1)) for w in workers)
        needed = -(-replicas // max(1, rules.spark_workers_per_node))
        if len(able) < needed:
            out.append(f"{replicas} Spark worker(s) want {needed} node(s) with ≥ {fmt_cpu(sw.cpu)} CPU/"
                       f"{fmt_mem(sw.memory)} allocatable (one worker per node); {len(able)} qualify")
    return out
