"""fate_exchange_federate — connect the parties and prove it with the toy example (the seed's steps 4–5)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import dag, task

from fateops.airflow.defaults import (
    DEFAULT_ARGS,
    TAGS_BASE,
    federation_param,
    job_timeout_param,
    poll_interval_param,
    sensor_timeout_param,
)
from fateops.airflow.operators import FateSubmitJobOperator
from fateops.airflow.sensors import FateJobSensor
from fateops.airflow.tasks import load_parties, sensor_kwargs

DOC = """
### Federate the parties through the Exchange and run the toy example

Replaces the seed's *step 4* (copy every party's load-balancer IPs into the Exchange route table, update
the release, `traffic_ctl config reload` in one traffic-server pod) and *step 5* (`run_toy_example.py
<guest> <host>` from the initiator's FATE Flow):

1. **validate_federation** — the config is checked before anything is touched.
2. **check_party** (mapped per party) — the party's FATE Flow answers through its Airflow connection and
   lists the `fate` components.
3. **configure_exchange** — `kubernetes`: exchange release, route table built from every party's LB IPs,
   one reload; `local`: the embedded engine routes all parties itself, nothing to change.
4. **submit_toy_example** / **wait_toy_example** (mapped per guest/host pair) — FATE 2.2's `toy_example`
   component between the two parties, awaited by the deferrable job sensor; on the wait deadline the job
   is stopped and the task fails with a timeout message.
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
        from fateops.airflow.tasks import federation_from
        from fateops.exchange import configure_exchange

        return configure_exchange(federation_from(params["federation"]))

    @task
    def plan_toy_jobs(exchange: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any]]:
        from fateops.airflow.tasks import fateflow_conn_id, federation_from
        from fateops.fate.jobs import toy_example_job

        federation = federation_from(params["federation"])
        plans = []
        for guest, host in federation.guest_host_pairs():
            schema = toy_example_job(guest=guest.party_id, host=host.party_id, timeout=int(params["job_timeout_s"]))
            plans.append({"dag_schema": schema, "fateflow_conn_id": fateflow_conn_id(guest)})
            print(f"toy example planned: guest {guest.label} ↔ host {host.label}")
        return plans

    @task(retries=0)
    def summarize(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
        outcomes = list(outcomes)  # a lazy XCom sequence is not itself storable as XCom
        for outcome in outcomes:
            print(f"toy example job {outcome['job_id']}: {outcome['status']} {outcome['party_statuses']}")
        return {"pairs": len(outcomes), "all_succeeded": all(o["status"] == "success" for o in outcomes),
                "jobs": outcomes}

    parties = load_parties()
    exchange = configure_exchange(check_party.expand(party=parties))
    submitted = FateSubmitJobOperator.partial(task_id="submit_toy_example").expand_kwargs(plan_toy_jobs(exchange))
    waited = FateJobSensor.partial(
        task_id="wait_toy_example",
        wait_timeout="{{ params.sensor_timeout_s }}",
        poll_interval="{{ params.poll_interval_s }}",
    ).expand_kwargs(submitted.output.map(sensor_kwargs))
    summarize(waited.output)


fate_exchange_federate()
