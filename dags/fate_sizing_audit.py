"""fate_sizing_audit — every party's target and the vSphere under it against the seed's sizing guidelines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from fateops.airflow.defaults import DEFAULT_ARGS, TAGS_BASE, federation_param
from fateops.airflow.kubernetes import validate_federation
from fateops.airflow.schedules import variable_timetable

SCHEDULE_VARIABLE = "fateops_sizing_audit_schedule"
TIMETABLE = variable_timetable(SCHEDULE_VARIABLE)

DOC = f"""
### Sizing audit (the seed's *Sizing Guidelines*, checked on a schedule)

Clusters drift: a node pool is recreated with a smaller class, a host stays in maintenance. This DAG
compares what is there with `include/configs/sizing.yaml` and leaves a report; it changes nothing.

| task | what it does |
|---|---|
| **validate_federation** | the config parses and every connection it names exists |
| **audit_party** (mapped, one per party) | `kubernetes`: the party's release rendered as helm would install it on its cluster (offline `helm template`), its pods and volumes vs the guidelines, the schedulable nodes (allocatable, one Spark worker per node), storage/ingress class. `local`: the machine of the embedded engine (CPU cores, memory, free disk under the engine's home) vs the `local:` floor — the engine need not run |
| **audit_vsphere** | hosts (usable, big enough for a worker-class VM, uplink ≥ 10 GbE), VMs vs their VM class, HA headroom (N+1), read through the Airflow connection named by `vsphere_conn_id`; **skipped** when it is empty |
| **write_report** | JSON + Markdown (a table per party / vCenter: measured, required, fix) in `<reports>/sizing/<run_id>/`; runs after a skipped vSphere audit |
| **gate** | fails the run per `fail_on` (`never`, `blocker`, `warning`), listing the findings and their fixes |

Severities: **blocker** — FATE cannot run as it stands (no schedulable node, a pod that fits no node, a named
class missing, a cluster or vCenter unreachable, too little memory/disk for the local engine); **warning** — below
the guideline (fine for a test bed); **ok** — checked and within it. A finding's note says what could not be
checked (e.g. the VM class name, which the vSphere API does not expose).

**Schedule:** `{TIMETABLE.expression if TIMETABLE else "none (manual only)"}` (default `@weekly`), and by hand.
Set the Airflow Variable `{SCHEDULE_VARIABLE}` *as an environment variable*
(`AIRFLOW_VAR_{SCHEDULE_VARIABLE.upper()}`, read when the file is parsed) or `{SCHEDULE_VARIABLE.upper()}` to a
cron expression or preset, or `none` for manual runs only. Re-running a run rewrites that run's report only.
"""


@dag(
    dag_id="fate_sizing_audit",
    schedule=TIMETABLE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS_BASE, "sizing", "audit"],
    doc_md=DOC,
    params={
        "federation": federation_param(),
        "dataset_gb": Param(0, type="number", minimum=0, title="Dataset size (GiB)",
                            description="For the 'storage ≥ 2× the dataset' rule (python/datanode volumes, the local "
                                        "engine's disk); 0 = not checked."),
        "vsphere_conn_id": Param(None, type=["null", "string"], title="vSphere connection",
                                 description="Airflow connection of vCenter (host, port, login, password; extra "
                                             "verify_tls, timeout); empty = do not audit vSphere."),
        "vsphere_vms": Param("*", type="string", minLength=1, title="VMs to audit",
                             description="Glob over VM names (e.g. 'tkc-fate-*'): the TKG node VMs compared with "
                                         "their VM class; other VMs of the vCenter are left out."),
        "fail_on": Param("blocker", type="string", enum=["never", "blocker", "warning"], title="Fail on",
                         description="When the gate fails the run: never, on any blocker, or on any warning too."),
    },
    dagrun_timeout=timedelta(hours=1),
)
def fate_sizing_audit() -> None:
    # Read-only audits: one retry for a transient API error; an unreachable target is a finding, not a failure.
    @task(retries=1, retry_delay=timedelta(seconds=10), execution_timeout=timedelta(minutes=15))
    def audit_party(party: dict[str, Any], params: dict[str, Any]) -> list[dict[str, str]]:
        """One party's target against the guidelines (read-only: nothing is created or changed)."""
        from fateops.airflow.kubernetes import party_and_backend
        from fateops.airflow.tasks import federation_from
        from fateops.k8s.sizing import load_rules
        from fateops.sizing_audit import audit_party as audit
        from fateops.sizing_audit import dataset_bytes_of

        party_obj, backend = party_and_backend(params["federation"], party["party_id"])
        findings = audit(party_obj, federation_from(params["federation"]), backend, load_rules(),
                         dataset_bytes=dataset_bytes_of(params["dataset_gb"]))
        for finding in findings:
            print(finding.line())
        return [f.as_dict() for f in findings]

    @task(retries=1, retry_delay=timedelta(seconds=10), execution_timeout=timedelta(minutes=10))
    def audit_vsphere(params: dict[str, Any]) -> list[dict[str, str]]:
        """Hosts and VMs of the vCenter behind ``vsphere_conn_id``; skipped when none is given."""
        if not params["vsphere_conn_id"]:
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException("no vsphere_conn_id given: vSphere is not audited")
        from fateops.airflow.vsphere import vsphere_session
        from fateops.sizing_audit import audit_vcenter, load_vsphere_guide

        findings = audit_vcenter(vsphere_session(params["vsphere_conn_id"]), load_vsphere_guide(),
                                 vm_pattern=params["vsphere_vms"])
        for finding in findings:
            print(finding.line())
        return [f.as_dict() for f in findings]

    @task(trigger_rule="none_failed", execution_timeout=timedelta(minutes=5))
    def write_report(parties: list[list[dict[str, str]]], vsphere: list[dict[str, str]] | None,
                     params: dict[str, Any], run_id: str | None = None) -> dict[str, Any]:
        """Every finding into ``<reports>/sizing/<run_id>/sizing-audit.{json,md}`` (rewritten on a rerun)."""
        from fateops.airflow.tasks import federation_from
        from fateops.sizing_audit import AuditReport, Finding

        rows = [f for party in parties for f in party] + list(vsphere or [])
        skipped = () if params["vsphere_conn_id"] else ("vSphere: no vsphere_conn_id given",)
        report = AuditReport(run_id=run_id or "manual", federation=federation_from(params["federation"]).name,
                             fail_on=params["fail_on"], findings=tuple(Finding.from_dict(r) for r in rows),
                             skipped=skipped)
        paths = report.write()
        print(report.to_markdown())
        return {"json": str(paths["json"]), "markdown": str(paths["markdown"]), "passed": report.passed,
                "counts": report.counts(), "failing": len(report.failing)}

    @task(retries=0, execution_timeout=timedelta(minutes=2))
    def gate(report: dict[str, Any]) -> dict[str, Any]:
        """Fail the run when the report holds findings its ``fail_on`` policy does not accept."""
        from fateops.sizing_audit import AuditReport

        AuditReport.read(report["json"]).enforce(report["markdown"])
        print(f"sizing audit passed: {report['counts']} — {report['markdown']}")
        return report

    parties = audit_party.expand(party=validate_federation())
    gate(write_report(parties, audit_vsphere()))


fate_sizing_audit()
