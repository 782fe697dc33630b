"""fate_chaos_drill — the seed's failure scenarios as repeatable drills with asserted outcomes and a scorecard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from fateops.airflow.defaults import DEFAULT_ARGS, TAGS_BASE, federation_param
from fateops.airflow.kubernetes import validate_federation
from fateops.airflow.vsphere import vsphere_session

DOC = """
### Resilience drills (the seed's *Failure Scenarios*, tables 4 and 5, host/VM and disk)

Each drill injects one fault **during a real FATE job**, watches the job and the platform, asserts the
outcome the seed promises and measures time to detect and time to recover against the seed's SLOs
(FLC pod back < 30 s, HA VM restart < 1 min, TKG VM restart < 5 min, pods relaunched < 3 min after a VM
restart). The catalogue is data: `include/configs/drills.yaml`.

| task | what it does |
|---|---|
| **validate_federation** | the config parses and every connection it names exists |
| **plan_drills** | the party must be `chaos: allowed`; picks the drills of the backend (Param `drills`, default all); prints the plan |
| **run_drill** (mapped, **one at a time**) | job → inject at the injection point → observe → rerun/resubmit → preserved state → judge; always heals in `finally`. With `dry_run` it only lists what it would do |
| **cleanup** (`all_done`) | lifts every fault still recorded in the ledger (a drill killed by its timeout is healed here) |
| **scorecard** (`all_done`) | JSON, Markdown and a PNG timeline in `<reports>/chaos/<run_id>/`; **fails the run if any drill missed its expectation** |

Backends: `local` (the embedded engine: kill/pause FATE Flow, kill a task process, lose a table),
`kubernetes` (delete a component's pods, scale to zero, a deny-all NetworkPolicy, a PVC-backed pod),
`vsphere` (power off a worker VM, fail a host, maintenance mode; HA events read with QueryEvents).

**Safety.** `dry_run` is on by default: trigger with `{"dry_run": false}` to break things. Only parties
marked `chaos: allowed` are drilled; a lock allows one drill at a time per machine; every fault is
written to a ledger before it is injected and lifted by the drill or by **cleanup**.
"""

BACKENDS = ["local", "kubernetes", "vsphere"]


def _fateflow(federation: Any, party: Any) -> tuple[str, Any]:
    """The party's FATE Flow URL and client auth, from its Airflow fateflow connection."""
    from airflow.sdk import BaseHook

    from fateops.airflow.hooks import client_kwargs
    from fateops.airflow.tasks import fateflow_conn_id

    kwargs = client_kwargs(BaseHook.get_connection(fateflow_conn_id(party)))
    return kwargs["base_url"], kwargs.get("auth")


def _targets(params: dict[str, Any]) -> Any:
    from fateops.chaos.plan import Targets

    return Targets(vm_name=params["vm_name"] or None, host_name=params["host_name"] or None,
                   node_name=params["node_name"] or None)


@dag(
    dag_id="fate_chaos_drill",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 0},  # a drill is an experiment: never repeat one blindly
    tags=[*TAGS_BASE, "chaos", "resilience"],
    doc_md=DOC,
    params={
        "federation": federation_param(),
        "backend": Param("local", type="string", enum=BACKENDS, title="Backend",
                         description="Where the faults are injected: the local engine, the party's Kubernetes "
                                     "cluster, or the vSphere VMs/hosts under it."),
        "party_id": Param(9999, type="integer", minimum=1, title="Party",
                          description="The party to drill; it must be marked 'chaos: allowed' in the federation."),
        "drills": Param([], type="array", items={"type": "string"}, title="Drills",
                        description="Drill ids from include/configs/drills.yaml; empty = every drill of the backend."),
        "dry_run": Param(True, type="boolean", title="Dry run",
                         description="List what each drill would do and change nothing (default: on)."),
        "run_jobs": Param(True, type="boolean", title="Run FATE jobs",
                          description="Run a real job per drill and judge its outcome; off = observe the platform "
                                      "only (e.g. a cluster without reachable FATE Flow)."),
        "catalogue": Param("drills.yaml", type="string", title="Drill catalogue",
                           description="Path of the drill catalogue (absolute, or relative to the current "
                                       "directory, then to include/configs/)."),
        "vsphere_conn_id": Param("vsphere_default", type="string", title="vSphere connection",
                                 description="Airflow connection of vCenter (host, port, login, password; extra "
                                             "verify_tls, timeout) — used by the vsphere backend only."),
        "vm_name": Param(None, type=["null", "string"], title="Worker VM",
                         description="vsphere: the worker VM that runs the party's pods (power-off drills)."),
        "host_name": Param(None, type=["null", "string"], title="ESXi host",
                           description="vsphere: the host to fail or put into maintenance mode."),
        "node_name": Param(None, type=["null", "string"], title="Kubernetes node",
                           description="vsphere: the node on the worker VM, to time the pods' relaunch (optional)."),
    },
    dagrun_timeout=timedelta(hours=6),
)
def fate_chaos_drill() -> None:
    @task(retries=0)
    def plan_drills(parties: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
        from fateops.airflow.tasks import federation_from
        from fateops.chaos.catalogue import load_catalogue
        from fateops.chaos.plan import allowed_party, select_drills

        federation = federation_from(params["federation"])
        party = allowed_party(federation, params["party_id"])
        drills = select_drills(load_catalogue(params["catalogue"]), params["backend"], params["drills"], federation)
        mode = "DRY RUN" if params["dry_run"] else "LIVE"
        print(f"{mode}: {len(drills)} drill(s) on {params['backend']} against party {party.label}, one at a time")
        for drill in drills:
            print(f"  {drill.id} (table {drill.table}): {drill.title} — expect {drill.expected}, "
                  f"SLO {drill.recovery_slo_s:.0f}s")
        return [{"drill_id": d.id, "order": n} for n, d in enumerate(drills)]

    @task(retries=0, max_active_tis_per_dag=1, execution_timeout=timedelta(minutes=90))
    def run_drill(drill: dict[str, Any], params: dict[str, Any], run_id: str | None = None) -> dict[str, Any]:
        import contextlib

        from fateops.airflow.kubernetes import kube_access
        from fateops.airflow.tasks import federation_from
        from fateops.chaos.catalogue import load_catalogue
        from fateops.chaos.plan import allowed_party, drill_context
        from fateops.chaos.runner import DrillRunner

        federation = federation_from(params["federation"])
        party = allowed_party(federation, params["party_id"])
        chosen = load_catalogue(params["catalogue"]).get(drill["drill_id"])
        url, auth = _fateflow(federation, party) if params["run_jobs"] or params["backend"] == "local" else ("", None)
        with contextlib.ExitStack() as stack:
            session = (stack.enter_context(vsphere_session(params["vsphere_conn_id"]))
                       if params["backend"] == "vsphere" else None)
            ctx = stack.enter_context(drill_context(
                params["backend"], federation, party, fateflow_url=url, fate_auth=auth, resolver=kube_access,
                vsphere=session, targets=_targets(params), run_id=run_id or "manual"))
            result = DrillRunner(ctx, use_fate=bool(params["run_jobs"]), log=print).run(
                chosen, dry_run=bool(params["dry_run"]))
        for line in result.plan:
            print(f"plan: {line}")
        print(f"drill {result.drill_id}: {result.status} — expected {result.expected}, observed {result.observed}")
        return result.as_dict()

    @task(trigger_rule="all_done", retries=1, retry_delay=timedelta(seconds=30),
          execution_timeout=timedelta(minutes=20))
    def cleanup(params: dict[str, Any]) -> list[dict[str, Any]]:
        """Lift every fault of this backend still in the ledger — whatever happened to the drills."""
        import contextlib

        from fateops.airflow.kubernetes import kube_access
        from fateops.airflow.tasks import federation_from
        from fateops.chaos.ledger import Ledger
        from fateops.chaos.plan import drill_context, heal_record

        federation = federation_from(params["federation"])
        ledger = Ledger()
        done: list[dict[str, Any]] = []
        for record in ledger.entries(backend=params["backend"]):
            party = federation.party(record.party_id)
            with contextlib.ExitStack() as stack:
                session = (stack.enter_context(vsphere_session(params["vsphere_conn_id"]))
                           if record.backend == "vsphere" else None)
                url, auth = _fateflow(federation, party) if record.backend == "local" else ("", None)
                ctx = stack.enter_context(drill_context(
                    record.backend, federation, party, fateflow_url=url, fate_auth=auth, resolver=kube_access,
                    vsphere=session, targets=_targets(params), run_id=record.run_id))
                done.append(heal_record(ledger, record, ctx, log_to=print))
        left = [d for d in done if not d["healed"]]
        print(f"cleanup: {len(done) - len(left)} fault(s) lifted, {len(left)} left" if done
              else "cleanup: nothing left to heal")
        if left:
            from fateops.exceptions import DrillError

            raise DrillError(f"{len(left)} fault(s) could not be lifted: {left}",
                             fix="lift them by hand (see the ledger under <state>/chaos/ledger) or run "
                                 "`fateops chaos heal`")
        return done

    @task(trigger_rule="all_done", retries=0)
    def scorecard(plan: list[dict[str, Any]], results: list[dict[str, Any] | None], params: dict[str, Any],
                  run_id: str | None = None) -> dict[str, Any]:
        from fateops.chaos.result import DrillResult
        from fateops.chaos.scorecard import Scorecard
        from fateops.exceptions import DrillError

        planned = [p["drill_id"] for p in plan or []]
        got = {r["drill_id"]: r for r in (results or []) if r}
        rows = [DrillResult.from_dict(got[d]) if d in got else DrillResult(
            drill_id=d, title="(the drill task did not return a result)", table="?", backend=params["backend"],
            party_id=int(params["party_id"]), action="?", target="?", expected="?", recovery_slo_s=0,
            reasons=["the run_drill task failed or was killed; see its log"]) for d in planned]
        card = Scorecard.of(run_id or "manual", params["backend"], int(params["party_id"]), rows,
                            dry_run=bool(params["dry_run"]))
        paths = card.write()
        print(card.to_markdown())
        summary = {"passed": card.passed, "verdict": card.verdict.lower(), "counts": card.counts(),
                   **{k: str(v) for k, v in paths.items()}}
        print(f"scorecard: {summary}")
        if not card.passed:
            what = "dry run is not ready" if card.dry_run else "run failed"
            raise DrillError(f"{what}: {len(card.blocking)} drill(s): "
                             + ", ".join(reason[:300] for reason in card.reasons()),
                             fix=f"read the scorecard {paths['markdown']}")
        return summary

    plan = plan_drills(validate_federation())
    results = run_drill.expand(drill=plan)
    healed = cleanup()
    results >> healed
    card = scorecard(plan, results)
    healed >> card


fate_chaos_drill()
