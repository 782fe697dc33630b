"""Judging a drill: expected vs observed outcome, SLOs, preserved state — every miss is named."""

from __future__ import annotations

from typing import Any

import pytest

from fateops.chaos.result import DrillResult, JobSeen, RerunSeen, classify, judge, matches

FAILED_EVERYWHERE = {"guest:9999": "failed", "host:10000": "failed", "arbiter:9999": "failed"}


def result(**kwargs: Any) -> DrillResult:
    base: dict[str, Any] = {"drill_id": "d", "title": "a drill", "table": "4", "backend": "local", "party_id": 9999,
                            "action": "kill_engine", "target": "FATE Flow", "expected": "times_out",
                            "recovery_slo_s": 30.0, "time_to_detect_s": 1.0, "time_to_recover_s": 5.0}
    base.update(kwargs)
    return DrillResult(**base)


@pytest.mark.parametrize(("job", "rerun", "label"), [
    (None, None, "not_run"),
    (JobSeen("success", "success", {"guest:9999": "success"}), None, "no_impact"),
    (JobSeen("success", "success", {"guest:9999": "success"}, max_task_version=1), None, "continues_to_success"),
    (JobSeen("timeout", "running", {"guest:9999": "running"}), None, "times_out"),
    (JobSeen("failed", "timeout", {"guest:9999": "timeout"}), None, "times_out"),  # FATE's own task timeout
    (JobSeen("failed", "failed", FAILED_EVERYWHERE), None, "fails_on_all_parties"),
    (JobSeen("failed", "failed", {"guest:9999": "failed", "host:10000": "success"}), None, "fails_on_some_parties"),
    (JobSeen("failed", "failed", FAILED_EVERYWHERE), RerunSeen("success", ("homo_lr_0@guest:9999",), ()),
     "fails_then_resumes_with_rerun"),
    (JobSeen("failed", "failed", FAILED_EVERYWHERE), RerunSeen("failed", ("homo_lr_0@guest:9999",), ()),
     "fails_on_all_parties"),
])
def test_classify(job: JobSeen | None, rerun: RerunSeen | None, label: str) -> None:
    assert classify(job, rerun) == label


def test_continues_accepts_no_impact_but_not_the_reverse() -> None:
    assert matches("continues_to_success", "no_impact")
    assert not matches("no_impact", "continues_to_success")
    assert not matches("fails_on_all_parties", "fails_on_some_parties")


def test_a_drill_that_does_what_the_seed_says_passes() -> None:
    r = judge(result(preserved={"job_history": {"ok": True, "detail": "5/5"}}),
              job=JobSeen("timeout", "running", {"guest:9999": "running"}), rerun=None, resubmitted="success",
              job_expected=True)
    assert (r.status, r.observed, r.reasons, r.passed, r.slo_met) == ("passed", "times_out", [], True, True)


def test_a_missed_slo_fails_the_drill_even_when_the_job_outcome_matches() -> None:
    r = judge(result(time_to_recover_s=31.5), job=JobSeen("timeout", "running", {}), rerun=None, resubmitted=None,
              job_expected=True)
    assert r.status == "failed" and r.slo_met is False
    assert r.reasons == ["recovered in 31.5s, over the 30s SLO"]


def test_no_recovery_and_no_detection_are_failures() -> None:
    r = judge(result(time_to_detect_s=None, time_to_recover_s=None), job=None, rerun=None, resubmitted=None,
              job_expected=False)
    assert r.status == "failed"
    assert any("never observed" in x for x in r.reasons) and any("no recovery" in x for x in r.reasons)


def test_wrong_outcome_lost_state_and_a_bad_rerun_are_each_named() -> None:
    r = judge(result(expected="fails_then_resumes_with_rerun",
                     preserved={"models": {"ok": False, "detail": "model of homo_lr_0 is gone"},
                                "tables": {"ok": None, "detail": "not checked"}}),
              job=JobSeen("failed", "failed", FAILED_EVERYWHERE),
              rerun=RerunSeen("success", ("reader_0@guest:9999", "homo_lr_0@guest:9999"), (),
                              repeated_successes=("reader_0@guest:9999",)),
              resubmitted=None, job_expected=True)
    assert r.observed == "fails_then_resumes_with_rerun"
    assert r.status == "failed"
    assert any("re-ran tasks that had already succeeded: reader_0@guest:9999" in x for x in r.reasons)
    assert any("preserved state 'models' lost" in x for x in r.reasons)
    assert not any("tables" in x for x in r.reasons)  # "not checked" is not a loss


def test_a_failed_resubmit_and_an_unexpected_outcome_fail() -> None:
    r = judge(result(), job=JobSeen("success", "success", {"guest:9999": "success"}, message="ok"), rerun=None,
              resubmitted="failed", job_expected=True)
    assert "expected times_out, observed no_impact (ok)" in r.reasons
    assert any("resubmitted job ended failed" in x for x in r.reasons)


def test_relaunch_slo_counts_only_when_measurable() -> None:
    slow = judge(result(relaunch_slo_s=180, relaunch_measured=True, time_to_relaunch_s=200), job=None, rerun=None,
                 resubmitted=None, job_expected=False)
    assert any("pods relaunched 200.0s" in x for x in slow.reasons)
    never = judge(result(relaunch_slo_s=180, relaunch_measured=True), job=None, rerun=None, resubmitted=None,
                  job_expected=False)
    assert any("never became Ready" in x for x in never.reasons)
    blind = judge(result(relaunch_slo_s=180, relaunch_measured=False), job=None, rerun=None, resubmitted=None,
                  job_expected=False)
    assert blind.status == "passed"


def test_results_round_trip_through_plain_dicts() -> None:
    r = judge(result(job_ids=["1"], timeline={"injected": 1.0}), job=None, rerun=None, resubmitted=None,
              job_expected=False)
    data = r.as_dict()
    assert data["passed"] is True and data["slo_met"] is True
    assert DrillResult.from_dict(data) == r
