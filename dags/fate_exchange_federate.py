"""fate_exchange_federate — connect the parties and prove it with the toy example (the seed's steps 4–5)."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag

from fateops.airflow.defaults import (
    DEFAULT_ARGS,
    TAGS_BASE,
    federation_param,
    job_timeout_param,
    poll_interval_param,
    sensor_timeout_param,
)
from fateops.airflow.federation_stages import federate_params, federate_stage
from fateops.airflow.kubernetes import validate_federation

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
        **federate_params(),
    },
    dagrun_timeout=timedelta(hours=1),
)
def fate_exchange_federate() -> None:
    federate_stage(validate_federation())


fate_exchange_federate()
