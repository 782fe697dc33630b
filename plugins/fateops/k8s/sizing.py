"""The seed's sizing guidelines (``include/configs/sizing.yaml``) checked against a cluster and a release.

Inputs are plain data — the manifests ``helm template`` rendered for the party and the nodes'
allocatable resources — so the checks see exactly the pods the chart will create, whatever values
produced them. Each check returns structured results (:class:`SizingCheck`: subject, measured,
required, short or not, fix); the bootstrap preflight renders the short ones as warning strings
(:func:`check_pods`, :func:`check_volumes`, :func:`check_nodes`) and the sizing audit turns every one
into a finding, so the rules exist once. Nothing here blocks a deployment.
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


def cpu_mem(cpu: Decimal, memory: Decimal) -> str:
    """``4 CPU/8Gi``."""
    return f"{fmt_cpu(cpu)} CPU/{fmt_mem(memory)}"


@dataclass(frozen=True)
class SizingCheck:
    """One subject measured against one guideline.

    ``problem`` is the preflight's phrasing of a shortfall ("" when not short); ``blocker`` marks a
    shortfall that stops pods from starting (the rest only fall short of the seed's guidance).
    """

    subject: str
    check: str
    measured: str
    required: str
    short: bool
    fix: str
    problem: str = ""
    note: str = ""
    blocker: bool = False


def node_checks(nodes: Iterable[NodeCapacity], rules: SizingRules) -> list[SizingCheck]:
    """Each node's allocatable against one guideline-sized pod."""
    g = rules.default
    return [SizingCheck(f"node {n.name}", "node allocatable", cpu_mem(n.cpu, n.memory),
                        f"≥ {cpu_mem(g.cpu, g.memory)} (one guideline-sized pod)",
                        n.cpu < g.cpu or n.memory < g.memory,
                        "use a larger VM class for the worker node pool (vm_classes.workers in sizing.yaml)",
                        problem=n.name)
            for n in nodes]


def spark_worker_check(nodes: Iterable[NodeCapacity], manifests: Iterable[Mapping[str, Any]],
                       rules: SizingRules) -> SizingCheck | None:
    """Enough nodes of the Spark worker's guideline size for one worker each (None: no Spark workers)."""
    workers = [w for w in workloads(manifests) if component_of(w) == SPARK_WORKER]
    if not workers:
        return None
    sw = rules.guide(SPARK_WORKER)
    able = sum(1 for n in nodes if n.cpu >= sw.cpu and n.memory >= sw.memory)
    replicas = sum(int(w["spec"].get("replicas", 1)) for w in workers)
    needed = -(-replicas // max(1, rules.spark_workers_per_node))
    short = able < needed
    return SizingCheck(SPARK_WORKER, "one Spark worker per node",
                       f"{able} node(s) with ≥ {cpu_mem(sw.cpu, sw.memory)} allocatable",
                       f"{needed} for {replicas} worker(s)", short,
                       "add worker nodes of that size, or lower spark.worker.replicas in the party's values",
                       problem=(f"{replicas} Spark worker(s) want {needed} node(s) with ≥ {fmt_cpu(sw.cpu)} CPU/"
                                f"{fmt_mem(sw.memory)} allocatable (one worker per node); {able} qualify")
                       if short else "")


def pod_checks(manifests: Iterable[Mapping[str, Any]], rules: SizingRules) -> list[SizingCheck]:
    """Each workload's pod requests against its component's guideline."""
    out: list[SizingCheck] = []
    for obj in workloads(manifests):
        name = component_of(obj)
        cpu, mem = pod_requests(obj["spec"]["template"]["spec"], name)
        g = rules.guide(name)
        short = cpu < g.cpu or mem < g.memory
        out.append(SizingCheck(name, "pod requests", cpu_mem(cpu, mem), f"≥ {cpu_mem(g.cpu, g.memory)}", short,
                               f"raise the {name} pod's resources.requests in the party's kubernetes.values "
                               "(fine to leave on a test cluster)",
                               problem=f"{name} {fmt_cpu(cpu)} CPU/{fmt_mem(mem)} (wants {fmt_cpu(g.cpu)}/"
                                       f"{fmt_mem(g.memory)})" if short else ""))
    return out


def pod_fit_checks(manifests: Iterable[Mapping[str, Any]], nodes: Iterable[NodeCapacity]) -> list[SizingCheck]:
    """Pods whose requests no node can hold (they would stay Pending); only the short ones."""
    nodes = list(nodes)
    if not nodes:
        return []
    big = max(nodes, key=lambda n: (n.cpu, n.memory))
    out: list[SizingCheck] = []
    for obj in workloads(manifests):
        name = component_of(obj)
        cpu, mem = pod_requests(obj["spec"]["template"]["spec"], name)
        if not any(n.cpu >= cpu and n.memory >= mem for n in nodes):
            out.append(SizingCheck(name, "fits a node", f"requests {cpu_mem(cpu, mem)}",
                                   f"≤ a node's allocatable (largest: {big.name} {cpu_mem(big.cpu, big.memory)})",
                                   True, f"the {name} pod would stay Pending: lower its requests or add a larger node",
                                   problem=f"the {name} pod requests {cpu_mem(cpu, mem)}, more than any node has",
                                   blocker=True))
    return out


def volume_checks(manifests: Iterable[Mapping[str, Any]], rules: SizingRules,
                  dataset_bytes: Decimal | None = None) -> list[SizingCheck]:
    """Each PVC against the minimum size and, for python/datanode, N× the dataset."""
    out: list[SizingCheck] = []
    for obj in manifests:
        if obj.get("kind") != "PersistentVolumeClaim":
            continue
        name, component = obj["metadata"]["name"], component_of(obj)
        size = quantity(((obj["spec"].get("resources") or {}).get("requests") or {}).get("storage", "0"),
                        f"pvc {name}")
        problems: list[str] = []
        if size < rules.min_volume:
            problems.append(f"volume {name} is {fmt_mem(size)}; the guideline is at least {fmt_mem(rules.min_volume)}")
        required, note = f"≥ {fmt_mem(rules.min_volume)}", ""
        multiple = rules.dataset_multiple.get(component)
        if multiple is not None and dataset_bytes is not None:
            required += f" and ≥ {multiple}× the {fmt_mem(dataset_bytes)} dataset"
            if size < multiple * dataset_bytes:
                problems.append(f"volume {name} is {fmt_mem(size)}; for a {fmt_mem(dataset_bytes)} dataset the "
                                f"guideline is {multiple}× = {fmt_mem(multiple * dataset_bytes)}")
        elif multiple is not None:
            note = f"no dataset size given: the {multiple}× dataset rule was not checked"
        out.append(SizingCheck(f"volume {name}", "volume size", fmt_mem(size), required, bool(problems),
                               f"raise the {component} persistence size in the party's kubernetes.values",
                               problem="\n".join(problems), note=note))
    return out


# -- the preflight's warning strings, from the same checks ----------------------------------------------
def check_pods(manifests: Iterable[Mapping[str, Any]], rules: SizingRules) -> list[str]:
    """One warning listing every pod whose requests are below its guideline."""
    short = [c.problem for c in pod_checks(manifests, rules) if c.short]
    if not short:
        return []
    return ["pods request less than the seed's sizing guideline: " + "; ".join(short)
            + " — fine for a test cluster; for production raise <component>.resources in the party's "
              "kubernetes.values"]


def check_volumes(manifests: Iterable[Mapping[str, Any]], rules: SizingRules,
                  dataset_bytes: Decimal | None = None) -> list[str]:
    """PVCs smaller than the minimum, and python/datanode volumes smaller than N× the dataset."""
    return [line for c in volume_checks(manifests, rules, dataset_bytes) if c.short for line in c.problem.split("\n")]


@dataclass(frozen=True)
class NodeCapacity:
    name: str
    cpu: Decimal
    memory: Decimal


NO_NODES = "no schedulable Ready node found: FATE's pods cannot start"


def check_nodes(nodes: Iterable[NodeCapacity], manifests: Iterable[Mapping[str, Any]],
                rules: SizingRules) -> list[str]:
    """Nodes too small for a guideline-sized pod, and too few nodes for one Spark worker each."""
    nodes = list(nodes)
    if not nodes:
        return [NO_NODES]
    out: list[str] = []
    g = rules.default
    small = [c.problem for c in node_checks(nodes, rules) if c.short]
    if small:
        out.append(f"{len(small)} of {len(nodes)} nodes have less than {fmt_cpu(g.cpu)} CPU/{fmt_mem(g.memory)} "
                   f"allocatable: {', '.join(small)}")
    spark = spark_worker_check(nodes, manifests, rules)
    if spark is not None and spark.short:
        out.append(spark.problem)
    return out
