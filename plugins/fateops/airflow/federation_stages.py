"""The bootstrap and federate stages as reusable TaskFlow builders.

``fate_party_bootstrap`` and ``fate_exchange_federate`` run one stage each; the credit-card pipeline
runs both before its data stages. Calling a builder inside a ``TaskGroup`` namespaces its task ids
(``bootstrap.provision``); calling it at DAG level gives the plain ids the standalone DAGs use.
Each builder takes the ``validate_federation`` output (:func:`fateops.airflow.kubernetes.validate_federation`)
and returns its last task's output. The steps themselves — backend choice, exchange, toy plans, the
REST-or-pod submit — live in :mod:`fateops.airflow.kubernetes` and :mod:`fateops.airflow.pod_steps`,
so both backends behave the same here as in the standalone DAGs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, XComArg, task

from fateops.airflow.pod_steps import FatePartySubmitJobOperator
from fateops.airflow.sensors import FateJobSensor
from fateops.airflow.tasks import sensor_kwargs

WAIT_EXECUTION_TIMEOUT = timedelta(hours=73)
"""Deferrable waits carry their own deadline (the sensor timeout Param, at most 72 h); Airflow's
execution timeout of a deferred task must never cut in before it, or the FATE job is left running."""


def bootstrap_params() -> dict[str, Param]:
    return {"ready_timeout_s": Param(300, type="integer", minimum=10, title="Readiness deadline (s)",
                                     description="How long to wait for each party's FATE Flow to serve jobs.")}


def federate_params() -> dict[str, Param]:
    return {"exchange_timeout_s": Param(600, type="integer", minimum=10, title="Exchange deadline (s)",
                                        description="Kubernetes: how long configure_exchange waits for the parties' "
                                                    "and the exchange's load-balancer IPs and rollouts.")}


@task
def preflight(party: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The party's target can host FATE (blockers raise; the rest are warnings)."""
    from fateops.airflow.kubernetes import party_and_backend

    party_obj, backend = party_and_backend(params["federation"], party["party_id"])
    warnings = backend.preflight(party_obj)
    for warning in warnings:
        print(f"WARNING party {party_obj.label}: {warning}")
    return {**party, "warnings": warnings}


@task(execution_timeout=timedelta(minutes=45))
def provision(party: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Create or converge the party's FATE (a running engine / up-to-date release is left alone)."""
    from fateops.airflow.kubernetes import party_and_backend

    party_obj, backend = party_and_backend(params["federation"], party["party_id"])
    return backend.provision(party_obj).as_dict()


@task(retries=0)  # the deadline is the retry policy: raise ready_timeout_s rather than wait blindly again
def wait_ready(party: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Until the party's FATE Flow answers and lists the fate components."""
    from fateops.airflow.kubernetes import party_and_backend

    party_obj, backend = party_and_backend(params["federation"], party["party_id"])
    return backend.wait_ready(party_obj, float(params["ready_timeout_s"])).as_dict()


@task(retries=0)
def report(ready: list[dict[str, Any]]) -> dict[str, Any]:
    """Engine versions, components and every party's FATE Flow URL."""
    summary = {"parties": {str(r["party_id"]): r for r in ready},
               "versions": sorted({str(r["version"]) for r in ready})}
    for r in ready:
        components = r.get("details", {}).get("components", [])
        print(f"party {r['party_id']} ({r['backend']}): ready={r['ready']} FATE Flow {r['version']} "
              f"at {r['fateflow_url']} — {len(components)} components: {', '.join(components)}")
    return summary


def bootstrap_stage(parties: XComArg) -> XComArg:
    """preflight → provision → wait_ready (mapped per party) → report."""
    return report(wait_ready.expand(party=provision.expand(party=preflight.expand(party=parties))))


@task
def check_party(party: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The party's FATE Flow answers through its Airflow connection and lists the fate components."""
    from fateops.airflow.tasks import check_fateflow

    return check_fateflow(params["federation"], party["party_id"])


@task(execution_timeout=timedelta(minutes=20))
def configure_exchange(checked: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """Route the parties through the Exchange (a no-op for the embedded engine)."""
    from fateops.airflow.kubernetes import configure_exchange as configure

    return configure(params["federation"], timeout_s=float(params["exchange_timeout_s"]))


@task
def plan_toy_jobs(exchange: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    """One toy-example job per guest/host pair, submitted in the guest's place (REST, or a pod on Kubernetes)."""
    from fateops.airflow.kubernetes import toy_plans

    return toy_plans(params["federation"], int(params["job_timeout_s"]))


@task(retries=0)
def summarize(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """Every pair's toy-example outcome."""
    outcomes = list(outcomes)  # a lazy XCom sequence is not itself storable as XCom
    for outcome in outcomes:
        print(f"toy example job {outcome['job_id']}: {outcome['status']} {outcome['party_statuses']}")
    return {"pairs": len(outcomes), "all_succeeded": all(o["status"] == "success" for o in outcomes),
            "jobs": outcomes}


def federate_stage(parties: XComArg) -> XComArg:
    """check_party (mapped) → configure_exchange → toy example per pair (submit + deferrable wait) → summarize."""
    exchange = configure_exchange(check_party.expand(party=parties))
    # retries=0 spelled out: .partial() applies the DAG's default_args over the operators' own defaults
    submitted = FatePartySubmitJobOperator.partial(task_id="submit_toy_example", retries=0).expand_kwargs(
        plan_toy_jobs(exchange))
    waited = FateJobSensor.partial(
        task_id="wait_toy_example",
        retries=0,
        wait_timeout="{{ params.sensor_timeout_s }}",
        poll_interval="{{ params.poll_interval_s }}",
        execution_timeout=WAIT_EXECUTION_TIMEOUT,
        federation="{{ params.federation }}",  # every party's own FATE Flow is asked (multi-site)
    ).expand_kwargs(submitted.output.map(sensor_kwargs))
    return summarize(waited.output)
