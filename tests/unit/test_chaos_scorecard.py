"""The scorecard files: JSON that round-trips, a Markdown table per drill, a real PNG timeline."""

from __future__ import annotations

import json
from pathlib import Path

from fateops.chaos.result import DrillResult
from fateops.chaos.scorecard import Scorecard


def _row(drill_id: str, status: str, **kwargs: object) -> DrillResult:
    base: dict[str, object] = {"drill_id": drill_id, "title": f"drill {drill_id}", "table": "4", "backend": "local",
                               "party_id": 9999, "action": "kill_engine", "target": "FATE Flow",
                               "expected": "times_out", "recovery_slo_s": 30.0, "status": status}
    base.update(kwargs)
    return DrillResult(**base)  # type: ignore[arg-type]


def _card() -> Scorecard:
    ok = _row("t4-fateflow", "passed", observed="times_out", time_to_detect_s=2.1, time_to_recover_s=12.0,
              job_ids=["202601010000000000001", "202601010000000000002"],
              timeline={"submitted": 0.5, "injected": 20.0, "detected": 22.1, "job_ended": 80.0, "lifted": 80.1,
                        "recovered": 92.1},
              preserved={"job_history": {"ok": True, "detail": "7/7 jobs still queryable"}},
              evidence=["SIGKILL sent to the engine server pid 1234"])
    slow = _row("vm-crash-ha", "failed", action="power_off_vm", table="host-vm", expected="continues_to_success",
                recovery_slo_s=60.0, time_to_detect_s=0.4, time_to_recover_s=75.0,
                reasons=["recovered in 75.0s, over the 60s SLO"], timeline={"injected": 1.0, "detected": 1.4,
                                                                            "recovered": 76.0},
                events=[{"kind": "VmPoweredOffEvent", "message": "DC0_C0_RP0_VM0 is powered off"}])
    return Scorecard.of("manual__2026-01-01T00:00:00+00:00", "local", 9999, [ok, slow])


def test_verdict_counts_errors_and_failures_but_not_skips() -> None:
    card = _card()
    assert not card.passed and [r.drill_id for r in card.failures] == ["vm-crash-ha"]
    assert card.counts() == {"passed": 1, "failed": 1}
    skipped = Scorecard.of("r", "local", 9999, [_row("a", "passed"), _row("b", "skipped")])
    assert skipped.passed
    assert not Scorecard.of("r", "local", 9999, [_row("a", "error")]).passed


def test_write_produces_json_markdown_and_a_png(tmp_path: Path) -> None:
    paths = _card().write(tmp_path)
    assert paths["json"].parent == tmp_path / "manual__2026-01-01T00_00_00_00_00"  # run ids become safe names
    data = json.loads(paths["json"].read_text())
    assert data["passed"] is False and data["counts"] == {"passed": 1, "failed": 1}
    assert [d["drill_id"] for d in data["drills"]] == ["t4-fateflow", "vm-crash-ha"]
    assert data["drills"][0]["slo_met"] is True and data["drills"][1]["slo_met"] is False
    assert Scorecard.of("x", "local", 9999, data["drills"]).results[1].reasons == ["recovered in 75.0s, over the "
                                                                                    "60s SLO"]
    md = paths["markdown"].read_text()
    assert "**Verdict: FAIL** (1 failed, 1 passed)" in md
    assert "| `t4-fateflow` | 4 | kill_engine | times_out | not_run |" not in md
    assert "| `t4-fateflow` | 4 | kill_engine | times_out | times_out | 2.1s | 12.0s (≤ 30s) | ✅ pass |" in md
    assert "| `vm-crash-ha` | host-vm | power_off_vm | continues_to_success | not_run | 0.4s | 75.0s (≤ 60s) |" in md
    assert "preserved `job_history`: kept — 7/7 jobs still queryable" in md
    assert "event: VmPoweredOffEvent" in md
    png = paths["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_a_dry_run_card_says_nothing_was_changed(tmp_path: Path) -> None:
    card = Scorecard.of("dry", "kubernetes", 10000, [_row("t4-mysql", "dry_run", plan=["inject: delete pods"])],
                        dry_run=True)
    paths = card.write(tmp_path)
    md = paths["markdown"].read_text()
    assert "dry run: nothing was changed" in md and "- plan: inject: delete pods" in md
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"
    assert card.passed and "**Verdict: READY**" in md


def test_a_dry_run_whose_preflight_refused_is_not_ready() -> None:
    refused = _row("t4-fateflow", "dry_run", plan=["preflight would refuse: the local engine is not running"],
                   reasons=["preflight would refuse: the local engine is not running — fix: fateops engine start"])
    card = Scorecard.of("dry", "local", 9999, [_row("ok", "dry_run"), refused], dry_run=True)
    assert not card.passed and card.verdict == "NOT READY" and [r.drill_id for r in card.not_ready] == ["t4-fateflow"]
    assert card.reasons() == ["t4-fateflow (not ready): preflight would refuse: the local engine is not running "
                              "— fix: fateops engine start"]
    assert card.as_dict()["verdict"] == "not ready"
    assert "**Verdict: NOT READY** (2 dry_run)" in card.to_markdown()
