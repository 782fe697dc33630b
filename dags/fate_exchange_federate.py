"""fate_exchange_federate — connect the parties and prove it with the toy example (the seed's steps 4–5)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from fateops.airflow.defaults import (
    DEFAULT_ARGS,
    TAGS_BASE,
    federation_param,
    job_timeout_param,
    poll_interval_param,
    sensor_timeout_param,
)
from fateops.airflow.kubernetes import validate_federation
from fateops.airflow.pod_steps import FatePartySubmitJobOperator
from fateops.airflow.sensors import FateJobSensor
from fateops.airflow.tasks import sensor_kwargs

DOC = """
### Federate the parties through the Exchange and run the toy example

Replaces the seed's *step 4* (copy every party's load-balancer IPs into the Exchange route table, update
the release, `traffic_ctl config reload` in one traffic-server pod) and *step 5* (`run_toy_example.py
<guest> <host>` from the initiator's FATE Flow):

1. **validate_federation** — the config and every connection it names are checked before anything is touched.
2. **check_party** (mapped per party) — the party's FATE Flow answers through its Airflow connection and
   lists the `fate` components.
3. **configure_exchange** — `kubernetes`: exchange release, route table built from every party's LB IPs,
   one reload; `local`: the embedded engine routes all parties itself, nothing to change.
4. **submit_toy_example** / **wait_toy_example** (mapped per guest/host pair) — FATE 2.2's `toy_example`
   component between the two parties, awaited by the deferrable job sensor; on the wait deadline the job
   is stopped and the task fails with a timeout message. `local`: submitted through FATE Flow's API;
   `kubernetes`: a KubernetesPodOperator (deferrable, `active_deadline_seconds`, resources, the ops image
   from the config's `ops:` block) runs `fateops fate submit-toy` in the initiator's namespace — the
   seed's `kubectl exec ... run_toy_example.py` — and hands the job id to the sensor.
5. **summarize** — the outcome of every pair (XCom and log).

Params: the federation config, the job's own timeout (`dag.conf.task.timeout`), the wait deadline.
"""


@dag(
    dag_id="fate_exchange_federate",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS_BASE, "exchange", "toy-example"],
    doc_md=DOC,
    params={
        "federation": federation_param(),
        "job_timeout_s": job_timeout_param(600),
        "sensor_timeout_s": sensor_timeout_param(600),
        "poll_interval_s": poll_interval_param(),
        "exchange_timeout_s": Param(600, type="integer", minimum=10, title="Exchange deadline (s)",
                                    description="Kubernetes: how long configure_exchange waits for the parties' and "
                                                "the exchange's load-balancer IPs and rollouts."),
    },
    dagrun_timeout=timedelta(hours=1),
)
def fate_exchange_federate() -> None:
    @task
    def check_party(party: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        from fateops.airflow.tasks import check_fateflow

        return check_fateflow(params["federation"], party["party_id"])

    @task(execution_timeout=timedelta(minutes=20))
    def configure_exchange(checked: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        from fateops.airflow.kubernetes import configure_exchange

        return configure_exchange(params["federation"], timeout_s=float(params["exchange_timeout_s"]))

    @task
    def plan_toy_jobs(exchange: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any]]:
        from fateops.airflow.kubernetes import toy_plans

        return toy_plans(params["federation"], int(params["job_timeout_s"]))

    @task(retries=0)
    def summarize(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
        outcomes = list(outcomes)  # a lazy XCom sequence is not itself storable as XCom
        for outcome in outcomes:
            print(f"toy example job {outcome['job_id']}: {outcome['status']} {outcome['party_statuses']}")
        return {"pairs": len(outcomes), "all_succeeded": all(o["status"] == "success" for o in outcomes),
                "jobs": outcomes}

    parties = validate_federation()
    exchange = configure_exchange(check_party.expand(party=parties))
    submitted = FatePartySubmitJobOperator.partial(task_id="submit_toy_example").expand_kwargs(plan_toy_jobs(exchange))
    waited = FateJobSensor.partial(
        task_id="wait_toy_example",
        wait_timeout="{{ params.sensor_timeout_s }}",
        poll_interval="{{ params.poll_interval_s }}",
    ).expand_kwargs(submitted.output.map(sensor_kwargs))
    summarize(waited.output)


fate_exchange_federate()
