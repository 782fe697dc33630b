"""Every container of every rendered chart profile against the facts of the image it runs.

Nothing here can pull an image, so ``include/charts/image-facts.yaml`` (read from the Dockerfiles that
build the images, each fact with its source) is the truth: a container must run a command its image
has, as a user that can write every path the image writes (an emptyDir or volume there, or root), with
a passwd entry when it is a JVM, and FATE Flow's image must carry the runtimes of the engines its
rendered service_conf.yaml selects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from fateops.k8s import chart_contract as cc
from tests.unit.test_charts import SCENARIOS, Helm, all_containers, helm, render  # noqa: F401 (fixture)

FACTS: dict[str, Any] = yaml.safe_load(cc.IMAGE_FACTS.read_text())
IMAGES: dict[str, dict[str, Any]] = FACTS["images"]
# What FATE Flow's process imports or starts for each engine of service_conf.yaml's default_engines.
ENGINE_RUNTIMES = {
    ("computing", "spark"): {"java-8", "spark-3.1.3", "pyspark"},
    ("federation", "pulsar"): {"pulsar-client"},
    ("storage", "hdfs"): {"java-8", "hadoop-3.2.1"},
}
ALWAYS_WRITABLE = ("/tmp",)


def image_key(image: str) -> str:
    for registry in ("docker.io/",):
        if image.startswith(registry):
            return image[len(registry):]
    return image


def covered(path: str, mounts: list[str]) -> bool:
    """Whether ``path`` lies on (or under) a writable mount."""
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)


def uid_of(container: Mapping[str, Any], pod: Mapping[str, Any]) -> int:
    sc, pod_sc = container.get("securityContext") or {}, pod["spec"].get("securityContext") or {}
    return int(sc.get("runAsUser", pod_sc.get("runAsUser", -1)))


def owner_uid(facts: Mapping[str, Any]) -> int:
    owner = str(facts["files_owner"]).split(":")[0]
    return 0 if owner == "root" else int(owner)


def test_every_source_is_pinned_and_every_image_names_its_sources() -> None:
    for name, source in FACTS["sources"].items():
        assert source["repo"] and source["ref"], name
    for image, facts in IMAGES.items():
        assert facts["from"], f"{image} names no source"
        for ref in facts["from"]:
            assert ref["source"] in FACTS["sources"] and ref["path"], f"{image}: {ref}"
        assert facts["executables"] and facts["runtimes"], image


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_container_matches_the_facts_of_its_image(helm: Helm, scenario: str) -> None:  # noqa: F811
    problems: list[str] = []
    for where, pod in render(helm, scenario).pod_templates():
        init_names = {c["name"] for c in pod["spec"].get("initContainers") or []}
        for c in all_containers(pod):
            name = f"{where}/{c['name']}"
            key = image_key(c["image"])
            facts = IMAGES.get(key)
            if facts is None:
                problems.append(f"{name}: no facts for image {key} (add them to {cc.IMAGE_FACTS.name})")
                continue
            command = c.get("command")
            if command:
                if command[0] not in facts["executables"]:
                    problems.append(f"{name}: {command[0]} is not in {key}")
            elif not facts["cmd_works"]:
                problems.append(f"{name}: {key}'s own command cannot start it; the chart must set `command`")
            if c["name"] in init_names:
                continue  # an init container runs our one-liner, not the image's service
            uid = uid_of(c, pod)
            writable = [m["mountPath"] for m in c.get("volumeMounts") or [] if not m.get("readOnly")]
            env = {e["name"]: e.get("value") for e in c.get("env") or []}
            if uid != 0 and uid != owner_uid(facts):
                writes = list(facts["writes"]) + ([] if command else list(facts.get("entrypoint_writes") or []))
                for path in writes:
                    if path == "$HOME":
                        home = env.get("HOME")
                        if not home or not covered(home, writable):
                            problems.append(f"{name}: uid {uid} needs a writable HOME (HOME={home})")
                    elif path not in ALWAYS_WRITABLE and not covered(path, writable):
                        problems.append(f"{name}: uid {uid} cannot write {path} (root-owned in {key})")
                for var, value in (facts.get("needs_env_when_non_root") or {}).items():
                    if env.get(var) != value:
                        problems.append(f"{name}: as uid {uid} {key} needs {var}={value}")
            passwd = any(m["mountPath"] == "/etc/passwd" for m in c.get("volumeMounts") or [])
            if facts["hadoop_login"] and uid not in facts["passwd_uids"] and not passwd:
                problems.append(f"{name}: a JVM under uid {uid} needs a passwd entry (Hadoop login fails)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("scenario", [s for s in sorted(SCENARIOS) if SCENARIOS[s][0] == cc.PARTY_CHART])
def test_fate_flow_and_spark_images_carry_the_runtimes_the_engines_need(helm: Helm,  # noqa: F811
                                                                         scenario: str) -> None:
    r = render(helm, scenario)
    conf = yaml.safe_load(r.config(*cc.PARTY_SERVICE_CONF_CONFIGMAP))
    needed = {"fate", "fate_flow"}
    for kind, engine in conf["default_engines"].items():
        needed |= ENGINE_RUNTIMES.get((kind, engine), set())
    python = r.get("Deployment", "python")["spec"]["template"]["spec"]["containers"]
    (flow,) = [c for c in python if c["name"] == "python"]
    missing = needed - set(IMAGES[image_key(flow["image"])]["runtimes"])
    assert not missing, f"{flow['image']} lacks {sorted(missing)} for {conf['default_engines']}"
    if conf["default_engines"]["computing"] == "spark" and "spark-worker" in r.names("Deployment"):
        (worker,) = r.get("Deployment", "spark-worker")["spec"]["template"]["spec"]["containers"]
        assert {"fate", "python-3.8", "spark-3.1.3"} <= set(IMAGES[image_key(worker["image"])]["runtimes"])


def test_the_eggroll_flavour_would_be_caught() -> None:
    """The check above is not vacuous: the plain fateflow image lacks what spark/pulsar/hdfs need."""
    eggroll = set(IMAGES["federatedai/fateflow:2.0.0-release"]["runtimes"])
    assert {"pyspark", "pulsar-client", "java-8"} - eggroll == {"pyspark", "pulsar-client", "java-8"}
