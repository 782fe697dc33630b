"""fate_party_bootstrap — bring every party of the federation up and serving (the seed's steps 1–3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from fateops.airflow.defaults import DEFAULT_ARGS, TAGS_BASE, federation_param
from fateops.airflow.kubernetes import validate_federation

DOC = """
### Bootstrap the parties

The seed's *Deploying a KubeFATE Instance*, steps 1–3, as one run: for every party of the federation
config (mapped, one task instance per party) check the target can host FATE, provision the party's FATE,
and wait until its FATE Flow serves jobs.

| backend | provision | ready when |
|---|---|---|
| `local` | install (cached) and start the embedded FATE 2.2 standalone engine on 127.0.0.1; register the party and its data dir | FATE Flow answers *and* the `fate` provider lists its components |
| `kubernetes` | namespace (PSA labels), certificates as Secrets, `helm upgrade --install` of our `fate-party` chart | Deployments ready and the nginx / pulsar-public-tls load balancers have IPs |

On Kubernetes each party's cluster is the Airflow `kubernetes` connection its config names; *validate_federation*
checks that every named connection exists before anything is deployed, and *preflight* checks the cluster
(reachable, storage and ingress class exist) and reports the seed's sizing guidelines as warnings.

Safe to run twice: every step converges (a running engine or an up-to-date release is left alone).
The last task's XCom holds the engine version, the components and each party's FATE Flow URL.
"""


@dag(
    dag_id="fate_party_bootstrap",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS_BASE, "bootstrap"],
    doc_md=DOC,
    params={
        "federation": federation_param(),
        "ready_timeout_s": Param(300, type="integer", minimum=10, title="Readiness deadline (s)",
                                 description="How long to wait for each party's FATE Flow to serve jobs."),
    },
    dagrun_timeout=timedelta(hours=1),
)
def fate_party_bootstrap() -> None:
    @task
    def preflight(party: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        from fateops.airflow.kubernetes import party_and_backend

        party_obj, backend = party_and_backend(params["federation"], party["party_id"])
        warnings = backend.preflight(party_obj)
        for warning in warnings:
            print(f"WARNING party {party_obj.label}: {warning}")
        return {**party, "warnings": warnings}

    @task(execution_timeout=timedelta(minutes=45))
    def provision(party: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        from fateops.airflow.kubernetes import party_and_backend

        party_obj, backend = party_and_backend(params["federation"], party["party_id"])
        return backend.provision(party_obj).as_dict()

    @task(retries=0)  # the deadline is the retry policy: raise ready_timeout_s rather than wait blindly again
    def wait_ready(party: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        from fateops.airflow.kubernetes import party_and_backend

        party_obj, backend = party_and_backend(params["federation"], party["party_id"])
        return backend.wait_ready(party_obj, float(params["ready_timeout_s"])).as_dict()

    @task(retries=0)
    def report(ready: list[dict[str, Any]]) -> dict[str, Any]:
        summary = {"parties": {str(r["party_id"]): r for r in ready},
                   "versions": sorted({str(r["version"]) for r in ready})}
        for r in ready:
            components = r.get("details", {}).get("components", [])
            print(f"party {r['party_id']} ({r['backend']}): ready={r['ready']} FATE Flow {r['version']} "
                  f"at {r['fateflow_url']} — {len(components)} components: {', '.join(components)}")
        return summary

    parties = validate_federation()
    checked = preflight.expand(party=parties)
    provisioned = provision.expand(party=checked)
    report(wait_ready.expand(party=provisioned))


fate_party_bootstrap()
