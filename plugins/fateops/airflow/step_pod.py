"""The KubernetesPodOperator behind a pod step, and how it reads the step's result before cleanup.

Imported only inside ``execute`` (the cncf provider's operator module pulls in two Kubernetes client
libraries). The result is taken in ``post_complete_action`` — the one hook both the sync and the
deferrable paths call while the pod still exists, before ``on_finish_action`` deletes it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

from fateops.k8s import step_result
from fateops.k8s.pod_steps import PodStep

BASE_CONTAINER = "base"


class StepPodOperator(KubernetesPodOperator):
    """A KubernetesPodOperator that keeps what the step reported (``step_result``) and its pod name."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step_result: dict[str, Any] | None = None
        self.step_pod_name: str | None = None

    def post_complete_action(self, *, pod: k8s.V1Pod, remote_pod: k8s.V1Pod, context: Any, result: Any,
                             **kwargs: Any) -> None:
        try:
            self.step_pod_name = (remote_pod or pod).metadata.name
            self.step_result = self._read_result(remote_pod or pod)
        finally:
            super().post_complete_action(pod=pod, remote_pod=remote_pod, context=context, result=result, **kwargs)

    def _read_result(self, pod: k8s.V1Pod) -> dict[str, Any] | None:
        """The termination message of the base container, else the last marked line of its log."""
        try:
            fresh = self.client.read_namespaced_pod(pod.metadata.name, pod.metadata.namespace)
        except Exception as err:  # the pod may be gone already; the log read below reports it
            self.log.warning("could not re-read pod %s: %s", pod.metadata.name, err)
            fresh = pod
        for status in (fresh.status.container_statuses or []) if fresh.status else []:
            terminated = status.state.terminated if status.state else None
            if status.name == BASE_CONTAINER and terminated is not None:
                found = step_result.parse(terminated.message)
                if found:
                    return found
        try:
            resp = self.client.read_namespaced_pod_log(pod.metadata.name, pod.metadata.namespace,
                                                       container=BASE_CONTAINER, tail_lines=100,
                                                       _preload_content=False)
        except Exception as err:
            self.log.warning("could not read the log of pod %s: %s", pod.metadata.name, err)
            return None
        return step_result.parse(resp.data.decode(errors="replace"))


def build_step_pod_operator(step: PodStep, *, task_id: str, deferrable: bool,
                            execution_timeout: timedelta | None) -> StepPodOperator:
    """The operator for ``step``: restricted security context, resources, deadline, cleanup policy."""
    return StepPodOperator(
        task_id=task_id,
        name=step.name,
        random_name_suffix=True,
        namespace=step.namespace,
        kubernetes_conn_id=step.kubernetes_conn_id,
        image=step.image,
        image_pull_policy=step.image_pull_policy,
        cmds=list(step.command),
        arguments=list(step.args),
        labels=dict(step.labels),
        annotations=dict(step.annotations),
        container_resources=k8s.V1ResourceRequirements(requests=step.resources.get("requests"),
                                                       limits=step.resources.get("limits")),
        service_account_name=step.service_account,
        automount_service_account_token=False,
        security_context=k8s.V1PodSecurityContext(
            run_as_non_root=True, run_as_user=step.run_as_user, run_as_group=step.run_as_user,
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault")),
        container_security_context=k8s.V1SecurityContext(
            run_as_non_root=True, allow_privilege_escalation=False, privileged=False,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault")),
        termination_message_policy="FallbackToLogsOnError",
        active_deadline_seconds=step.active_deadline_seconds,
        startup_timeout_seconds=step.startup_timeout_seconds,
        poll_interval=step.poll_interval_seconds,
        on_finish_action=step.on_finish_action,
        deferrable=deferrable,
        do_xcom_push=False,
        get_logs=True,
        log_events_on_failure=True,
        reattach_on_restart=True,
        execution_timeout=execution_timeout,
        retries=0,
    )
