"""fate_chaos_drill through `dag.test()` against the session's real engine.

The live runs use a two-row catalogue on purpose: a job-less pause of the engine's server (a few
seconds, no FATE job) — once with the seed's 30 s SLO and once with a 1 ms SLO nothing can meet
(an HTTP round trip after SIGCONT alone takes longer) — to prove the run *fails* when a drill misses
its expectation, while cleanup and scorecard still run and the engine is healthy afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fateops.chaos.ledger import Ledger
from fateops.chaos.scorecard import Scorecard
from fateops.engine import LocalEngine
from fateops.paths import reports_dir
from tests.integration.test_local_dags import run_dag, task_states, xcom

pytestmark = [pytest.mark.engine, pytest.mark.airflow, pytest.mark.timeout(1800)]


def _pause_drill(drill_id: str, slo: float) -> dict[str, object]:
    return {"id": drill_id, "title": f"the engine's port black-holed for 3 s ({drill_id})", "table": "5",
            "seed": "The job continues to finish if the network issue is resolved.",
            "target": "the local engine's server", "job": "none", "inject_when": "immediately",
            "expected": "continues_to_success", "recovery_slo_s": slo, "recovery_deadline_s": 60,
            "preserved": ["job_history"], "faults": {"local": {"action": "pause_engine", "duration_s": 3}}}


def test_a_dry_run_plans_every_local_drill_and_breaks_nothing(fate_engine: LocalEngine, airflow_db: Path) -> None:
    pid = fate_engine.pid()
    dag_run = run_dag("fate_chaos_drill", {"party_id": 10000})
    states = task_states(dag_run)
    assert str(dag_run.state) == "success", states
    summary = xcom(dag_run, "scorecard")
    assert summary["passed"] is True and summary["counts"] == {"dry_run": 6}
    card = json.loads(Path(summary["json"]).read_text())
    assert card["dry_run"] is True and {d["status"] for d in card["drills"]} == {"dry_run"}
    assert all(any(s.startswith("inject: ") for s in d["plan"]) for d in card["drills"])
    assert Path(summary["png"]).read_bytes()[:4] == b"\x89PNG"
    assert Path(summary["markdown"]).is_relative_to(reports_dir())
    assert fate_engine.pid() == pid and fate_engine.status().healthy


def test_a_missed_slo_fails_the_run_while_cleanup_and_scorecard_still_run(
        fate_engine: LocalEngine, airflow_db: Path, tmp_path: Path) -> None:
    catalogue = tmp_path / "drills.yaml"
    catalogue.write_text(yaml.safe_dump({"version": 1, "drills": [_pause_drill("pause-within-slo", 30),
                                                                   _pause_drill("pause-impossible-slo", 0.001)]}))
    dag_run = run_dag("fate_chaos_drill", {"dry_run": False, "run_jobs": False, "catalogue": str(catalogue)})
    states = task_states(dag_run)
    assert str(dag_run.state) == "failed", states
    assert states["run_drill[0]"] == states["run_drill[1]"] == "success"  # drills report; the scorecard judges
    assert states["cleanup"] == "success" and states["scorecard"] == "failed"
    card = json.loads((Scorecard.directory(dag_run.run_id) / "scorecard.json").read_text())
    by_id = {d["drill_id"]: d for d in card["drills"]}
    assert by_id["pause-within-slo"]["status"] == "passed"
    assert by_id["pause-within-slo"]["time_to_detect_s"] is not None
    impossible = by_id["pause-impossible-slo"]
    assert impossible["status"] == "failed" and impossible["slo_met"] is False
    assert any("over the 0.001s SLO" in r for r in impossible["reasons"])
    assert any("SIGCONT" in e for e in impossible["evidence"])
    assert Ledger().entries() == []
    assert fate_engine.status().healthy
