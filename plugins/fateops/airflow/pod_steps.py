"""Submitting a FATE job *in the initiator party's place*: REST for local parties, a pod for Kubernetes ones.

``submit_toy_example`` must keep its task id and shape on both backends, and the choice of backend
is per run (a DAG Param names the federation). So one operator decides at execute time:

* ``pod`` is None → the plain :class:`~fateops.airflow.operators.FateSubmitJobOperator` REST submit;
* ``pod`` is a :class:`~fateops.k8s.pod_steps.PodStep` dict → a KubernetesPodOperator (deferrable,
  ``active_deadline_seconds``, ``on_finish_action``, resources) runs ``fateops fate submit-toy`` in
  the party's namespace, and its result (job id) is read back from the pod
  (:mod:`fateops.k8s.step_result`) — no XCom sidecar, which "restricted" namespaces would reject.

The KubernetesPodOperator is built inside ``execute`` (its import costs seconds that every DAG parse
would otherwise pay) and rebuilt identically on ``trigger_reentry`` after the deferral. Either way the
XCom is the same dict the job sensor maps from: ``job_id``, ``model_id``, ``model_version``,
``fateflow_conn_id`` (+ ``pod`` facts on Kubernetes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from fateops.airflow.operators import FateSubmitJobOperator


class FatePartySubmitJobOperator(FateSubmitJobOperator):
    """Submit ``dag_schema`` through FATE Flow's API, or — when ``pod`` is given — from a pod in the party's
    namespace that runs the step's ``fateops`` command."""

    template_fields: Sequence[str] = ("dag_schema", "fateflow_conn_id")

    def __init__(self, *, pod: dict[str, Any] | None = None, deferrable: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pod = pod
        self.deferrable = deferrable
        self._inner: Any = None

    def execute(self, context: Any) -> dict[str, Any]:
        if not self.pod:
            return super().execute(context)
        self._inner = inner = self._pod_operator()
        inner.execute(context)  # defers (raises TaskDeferred) unless the pod already finished
        return self._outcome(inner)

    def on_kill(self) -> None:
        """Killed before deferring: delete the pod (once deferred, the pod trigger's on_kill_action does)."""
        if self._inner is not None:
            self._inner.on_kill()

    def trigger_reentry(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the pod trigger fired: let the pod operator finish (logs, cleanup), then read the result."""
        self._inner = inner = self._pod_operator()
        inner.trigger_reentry(context, event)
        return self._outcome(inner)

    def _pod_operator(self) -> Any:
        from fateops.airflow.step_pod import build_step_pod_operator
        from fateops.k8s.pod_steps import PodStep

        assert self.pod is not None
        return build_step_pod_operator(PodStep.from_dict(self.pod), task_id=self.task_id, deferrable=self.deferrable,
                                       execution_timeout=self.execution_timeout)

    def _outcome(self, inner: Any) -> dict[str, Any]:
        result = inner.step_result
        if not result or not result.get("job_id"):
            raise AirflowFailException(
                f"pod step {self.pod and self.pod['name']} in {self.pod and self.pod['namespace']} ended without a "
                "job id (no 'fateops-result:' line and no termination message) — read the pod log above; is the "
                "ops image's `fateops` recent enough to have `fate submit-toy`?")
        self.log.info("pod %s submitted FATE job %s", inner.step_pod_name, result["job_id"])
        return {"job_id": str(result["job_id"]), "model_id": str(result.get("model_id", "")),
                "model_version": str(result.get("model_version", "")), "fateflow_conn_id": self.fateflow_conn_id,
                "pod": {"name": inner.step_pod_name, "namespace": self.pod and self.pod["namespace"]}}
