"""The toy-example pod as the KubernetesPodOperator will create it (built offline, no cluster)."""

from __future__ import annotations

from datetime import timedelta

from fateops.federation import load_federation
from fateops.k8s.pod_steps import toy_submit_step


def test_the_submit_pod_is_restricted_bounded_and_sidecar_free() -> None:
    from fateops.airflow.step_pod import build_step_pod_operator

    tanzu = load_federation("federation.tanzu.yaml")
    step = toy_submit_step(tanzu, tanzu.party(30000), tanzu.party(40000), timeout_s=600)
    assert step is not None
    op = build_step_pod_operator(step, task_id="submit_toy_example", deferrable=True,
                                 execution_timeout=timedelta(minutes=30))
    assert op.deferrable and op.kubernetes_conn_id == "k8s_party_30000"
    assert op.on_finish_action.value == "delete_succeeded_pod"
    pod = op.build_pod_request_obj(dry_run=True)
    assert pod.metadata.namespace == "fate-30000" and pod.metadata.name.startswith("toy-30000-40000")
    assert [c.name for c in pod.spec.containers] == ["base"]  # no XCom sidecar (it would run as root)
    base = pod.spec.containers[0]
    assert base.image == "registry.example.com/fateops/fateops-ops:0.1.0"
    assert base.command == ["fateops"] and base.args[:2] == ["fate", "submit-toy"]
    assert base.resources.limits == {"cpu": "1", "memory": "1Gi"}
    assert base.termination_message_policy == "FallbackToLogsOnError"
    assert pod.spec.active_deadline_seconds == 900 and pod.spec.restart_policy == "Never"
    assert pod.spec.security_context.run_as_non_root and pod.spec.security_context.run_as_user == 10001
    assert pod.spec.security_context.seccomp_profile.type == "RuntimeDefault"
    assert base.security_context.allow_privilege_escalation is False
    assert base.security_context.capabilities.drop == ["ALL"]
    assert pod.metadata.labels["fateops.io/step"] == "submit-toy"


def test_a_local_plan_submits_through_the_api_without_a_pod() -> None:
    from fateops.airflow.pod_steps import FatePartySubmitJobOperator

    op = FatePartySubmitJobOperator(task_id="submit_toy_example", dag_schema={}, pod=None)
    assert op.pod is None and op.retries == 0  # submission is never retried blindly
