"""The runner's safety rails and dry runs — no engine, cluster or vCenter needed, and nothing is changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fateops.chaos.catalogue import load_catalogue
from fateops.chaos.injectors import DrillContext
from fateops.chaos.ledger import Ledger
from fateops.chaos.plan import Targets, allowed_party, drill_context, run_drills, select_drills
from fateops.chaos.runner import DrillRunner
from fateops.exceptions import DrillError
from fateops.federation import Federation, load_federation, parse_federation


def _kube_federation(chaos_9999: str = "allowed") -> Federation:
    def party(pid: int, roles: list[str], chaos: str) -> dict[str, Any]:
        return {"party_id": pid, "roles": roles, "backend": "kubernetes", "chaos": chaos, "connection": f"ff_{pid}",
                "kubernetes": {"connection": f"k8s_{pid}", "namespace": f"fate-{pid}"}}

    return parse_federation({
        "name": "tanzu-test", "initiator": 9999,
        "parties": [party(9999, ["guest", "arbiter"], chaos_9999), party(10000, ["host"], "forbidden")],
        "exchange": {"kubernetes": {"connection": "k8s_exchange", "namespace": "fate-exchange"}},
        "ops": {"image": "registry.example.com/fateops/fateops-ops:0.1.0"},
    })


@pytest.fixture(autouse=True)
def own_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FATEOPS_STATE_DIR", str(tmp_path / "state"))


def test_only_parties_marked_chaos_allowed_are_drilled() -> None:
    fed = _kube_federation()
    assert allowed_party(fed, 9999).party_id == 9999
    with pytest.raises(DrillError) as err:
        allowed_party(fed, 10000)
    assert "chaos: forbidden" in err.value.message and "9999" in err.value.fix
    with pytest.raises(DrillError, match="set 'chaos: allowed'"):
        allowed_party(_kube_federation("forbidden"), 9999)


def test_the_runner_refuses_a_forbidden_party_even_if_called_directly() -> None:
    fed = _kube_federation()
    ctx = DrillContext(backend="kubernetes", federation=fed, party=fed.party(10000))
    result = DrillRunner(ctx, use_fate=False).run(load_catalogue().get("t4-mysql"))
    assert result.status == "error" and "refusing to drill" in result.reasons[0]
    planned = DrillRunner(ctx, use_fate=False).plan(load_catalogue().get("t4-mysql"))
    assert planned.status == "skipped" and planned.plan[0].startswith("REFUSED")


def test_a_party_is_drilled_only_on_its_own_backend() -> None:
    fed = load_federation()  # both parties are local
    ctx = DrillContext(backend="kubernetes", federation=fed, party=fed.party(9999))
    result = DrillRunner(ctx, use_fate=False).run(load_catalogue().get("t4-mysql"))
    assert result.status == "error" and "runs on local, not kubernetes" in result.reasons[0]


def test_a_kubernetes_dry_run_plans_every_drill_offline_and_changes_nothing() -> None:
    fed = _kube_federation()
    drills = select_drills(load_catalogue(), "kubernetes")
    with drill_context("kubernetes", fed, fed.party(9999), run_id="dry-1") as ctx:
        card = run_drills(ctx, drills, dry_run=True, use_fate=False)
    assert {r.status for r in card.results} == {"dry_run"}
    # no client for the cluster: every preflight would refuse, so the plan is "not ready", never a pass
    assert card.dry_run and not card.passed and card.verdict == "NOT READY"
    assert all("needs a client for the" in reason for reason in card.reasons())
    by_id = {r.drill_id: r for r in card.results}
    mysql = by_id["t4-mysql"].plan
    assert any("delete every pod of fate-party/mysql in namespace fate-9999" in s for s in mysql)
    assert any("app.kubernetes.io/component=mysql" in s and "app.kubernetes.io/instance=fate-9999" in s
               for s in mysql)
    assert any("preflight would refuse" in s and "client for the party's cluster" in s for s in mysql)
    assert any("delete 1 pod(s) of fate-exchange/nginx in namespace fate-exchange" in s
               for s in by_id["t4-exchange-nginx"].plan)
    assert any("NetworkPolicy fateops-chaos-cut-9999" in s and "for 30s" in s
               for s in by_id["t5-network-cut-restored"].plan)
    assert any("scale deployment python in fate-9999 to 0 until the job's wait has ended" in s
               for s in by_id["t5-fateflow-one-party"].plan)
    assert any("PVC mysql-data" in s for s in by_id["disk-pv-backing"].plan)
    assert Ledger().entries() == []  # a dry run records (and so breaks) nothing


def test_a_local_dry_run_lists_jobs_injection_and_healing() -> None:
    fed = load_federation()
    ctx = DrillContext(backend="local", federation=fed, party=fed.party(10000), fateflow_url="http://127.0.0.1:9")
    plan = DrillRunner(ctx).plan(load_catalogue().get("t4-hdfs-namenode")).plan
    assert plan[0].startswith("safety: party 10000 (bank-b) is chaos: allowed")
    assert any(s.startswith("preflight would refuse") for s in plan)  # no engine on this port: said, not done
    assert any("submit a homo_lr job; inject when task_running (homo_lr_0)" in s for s in plan)
    assert any("SIGKILL the executor of the drill's running task (its inject_task) at party 10000" in s for s in plan)
    assert any("only the failed step may run again" in s for s in plan)
    assert plan[-1].startswith("heal (always")


def test_vsphere_dry_run_names_its_targets() -> None:
    fed = load_federation()
    with drill_context("vsphere", fed, fed.party(9999),
                       targets=Targets(vm_name="tkc-worker-1", host_name="esxi-02")) as ctx:
        card = run_drills(ctx, select_drills(load_catalogue(), "vsphere"), dry_run=True, use_fate=False)
    plans = {r.drill_id: " ".join(r.plan) for r in card.results}
    assert "preflight would refuse: this drill needs a vCenter session" in plans["vm-crash-ha"]
    assert "power off VM tkc-worker-1" in plans["vm-worker-power-off"]
    assert "fail host esxi-02" in plans["host-failure-ha"]
    assert "maintenance mode for 20s" in plans["host-maintenance"]


def test_vsphere_drills_without_a_session_are_refused_before_anything_happens() -> None:
    fed = load_federation()
    with drill_context("vsphere", fed, fed.party(9999), targets=Targets(vm_name="tkc-worker-1")) as ctx:
        card = run_drills(ctx, select_drills(load_catalogue(), "vsphere", ["vm-crash-ha"]), use_fate=False)
    (result,) = card.results
    assert result.status == "error" and "needs a vCenter session" in result.reasons[0]
    assert result.timeline == {} and Ledger().entries() == []


def test_one_drill_at_a_time() -> None:
    fed = load_federation()
    ctx = DrillContext(backend="local", federation=fed, party=fed.party(9999))
    first, second = DrillRunner(ctx), DrillRunner(ctx)
    with first.exclusive():
        with pytest.raises(DrillError, match="another drill is running"), second.exclusive():
            pass
        result = second.run(load_catalogue().get("t4-fateflow"))
        assert result.status == "error" and "another drill is running" in result.reasons[0]
    with second.exclusive():  # released again
        pass
