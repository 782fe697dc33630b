"""fate_party_bootstrap — bring every party of the federation up and serving (the seed's steps 1–3)."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag

from fateops.airflow.defaults import DEFAULT_ARGS, TAGS_BASE, federation_param
from fateops.airflow.federation_stages import bootstrap_params, bootstrap_stage
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
        **bootstrap_params(),
    },
    dagrun_timeout=timedelta(hours=1),
)
def fate_party_bootstrap() -> None:
    bootstrap_stage(validate_federation())


fate_party_bootstrap()
