"""Pods of a release: list the ready ones or pick a current one; exec a command in it; read its log.

The exec goes through the API server's ``pods/exec`` (websocket, as ``kubectl exec`` does) with a
timeout, and returns the command's exit code — a reload that printed an error but "ran" is a
failure, not a success.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fateops.exceptions import KubernetesError
from fateops.k8s.access import REQUEST_TIMEOUT_S
from fateops.k8s.chart_contract import CHECKSUM_ANNOTATION
from fateops.k8s.clients import KubeClients


@dataclass(frozen=True)
class ExecResult:
    """What a command run in a container printed and how it exited."""

    pod: str
    container: str
    command: tuple[str, ...]
    stdout: str
    stderr: str
    exit_code: int


def _ready(pod: Any) -> bool:
    return (pod.status is not None and pod.status.phase == "Running" and not pod.metadata.deletion_timestamp
            and any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []))


def ready_pods(kube: KubeClients, namespace: str, selector: str) -> list[str]:
    """Names of every Running+Ready pod matching ``selector``, sorted; none is an error."""
    pods = [p for p in kube.core.list_namespaced_pod(namespace, label_selector=selector,
                                                     _request_timeout=REQUEST_TIMEOUT_S).items if _ready(p)]
    if not pods:
        raise KubernetesError(f"no Running and Ready pod matches {selector} in {namespace} on {kube.access.where}",
                              fix=f"`kubectl -n {namespace} get pods -l {selector}` and describe the pods")
    return sorted(p.metadata.name for p in pods)


def pick_ready_pod(kube: KubeClients, namespace: str, selector: str, *, deployment: str | None = None) -> str:
    """Name of one Running+Ready pod matching ``selector`` — preferring pods of the Deployment's current
    template (same config checksum), then the oldest name — so the choice is stable across reruns."""
    pods = [p for p in kube.core.list_namespaced_pod(namespace, label_selector=selector,
                                                     _request_timeout=REQUEST_TIMEOUT_S).items if _ready(p)]
    if not pods:
        raise KubernetesError(f"no Running and Ready pod matches {selector} in {namespace} on {kube.access.where}",
                              fix=f"`kubectl -n {namespace} get pods -l {selector}` and describe the pods")
    current = None
    if deployment:
        dep = kube.apps.read_namespaced_deployment(deployment, namespace, _request_timeout=REQUEST_TIMEOUT_S)
        current = (dep.spec.template.metadata.annotations or {}).get(CHECKSUM_ANNOTATION)

    def rank(pod: Any) -> tuple[int, str]:
        checksum = (pod.metadata.annotations or {}).get(CHECKSUM_ANNOTATION)
        return (0 if current is None or checksum == current else 1, pod.metadata.name)

    return sorted(pods, key=rank)[0].metadata.name


def exec_in_pod(kube: KubeClients, namespace: str, pod: str, container: str, command: Sequence[str], *,
                timeout_s: float = 60.0) -> ExecResult:
    """Run ``command`` in ``pod``/``container`` (no stdin, no tty) and return its output and exit code."""
    from kubernetes import client
    from kubernetes.stream import stream

    argv = list(command)
    # ``stream`` swaps the ApiClient's request method while it runs: give it its own client so the
    # websocket call cannot leak into other requests on this cluster's client.
    api = kube.access.api_client()
    try:
        core = client.CoreV1Api(api)
        resp = stream(core.connect_get_namespaced_pod_exec, pod, namespace, container=container, command=argv,
                      stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False,
                      _request_timeout=REQUEST_TIMEOUT_S)
        try:
            resp.run_forever(timeout=timeout_s)
            if resp.is_open():
                raise KubernetesError(f"`{' '.join(argv)}` in {namespace}/{pod} did not finish in {timeout_s:.0f}s",
                                      fix=f"`kubectl -n {namespace} exec {pod} -c {container} -- {' '.join(argv)}` "
                                          "by hand to see where it hangs")
            out, err = resp.read_stdout() or "", resp.read_stderr() or ""
            code = resp.returncode
        finally:
            resp.close()
    except client.ApiException as exc:
        raise KubernetesError(f"exec into {namespace}/{pod} ({container}) on {kube.access.where} failed: "
                              f"{exc.status} {exc.reason}",
                              fix="the connection's user needs create on pods/exec; the pod must be Running") from exc
    finally:
        api.close()
    return ExecResult(pod, container, tuple(argv), out, err, int(code) if code is not None else 0)


def read_log(kube: KubeClients, namespace: str, pod: str, *, container: str | None = None,
             tail_lines: int | None = 200) -> str:
    """A pod's log as text (the last ``tail_lines`` lines)."""
    from kubernetes import client

    kwargs: dict[str, Any] = {"_preload_content": False, "_request_timeout": REQUEST_TIMEOUT_S}
    if container:
        kwargs["container"] = container
    if tail_lines is not None:
        kwargs["tail_lines"] = tail_lines
    try:
        # read raw: the client turns a preloaded text/plain body into "b'...'"
        resp = kube.core.read_namespaced_pod_log(pod, namespace, **kwargs)
    except client.ApiException as exc:
        raise KubernetesError(f"reading the log of {namespace}/{pod} on {kube.access.where}: {exc.status} "
                              f"{exc.reason}", fix="check the pod exists and the user may get pods/log") from exc
    return resp.data.decode(errors="replace")
