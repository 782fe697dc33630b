"""`fateops chaos ...`: list, a dry run that writes a scorecard, refusals with exit codes, heal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fateops.cli import main
from fateops.federation import load_federation


@pytest.fixture(autouse=True)
def own_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FATEOPS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("FATEOPS_ENGINE_PORT", "9")  # nothing listens there: preflights report, never touch
    return tmp_path / "state"


def _json_tail(out: str) -> object:
    return json.loads(out[out.rindex("\n{") + 1:] if "\n{" in out else out[out.index("{"):])


def test_list_shows_the_drills_of_a_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chaos", "list", "--backend", "vsphere"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == ["vm-worker-power-off", "vm-crash-ha", "host-failure-ha", "host-maintenance"]
    assert {r["recovery_slo_s"] for r in rows} == {300, 60}


def test_a_dry_run_whose_preflight_refuses_is_not_ready(capsys: pytest.CaptureFixture[str], own_state: Path) -> None:
    """The engine is down: every drill's live run would be refused, so the dry run must not read as a pass."""
    code = main(["chaos", "run", "--backend", "local", "--party", "10000", "--dry-run", "--run-id", "cli-dry",
                 "t4-fateflow", "disk-table-lost"])
    captured = capsys.readouterr()
    assert code == 1, captured.out
    # the plan is on the terminal, step by step, not only in the scorecard file
    assert "drill t4-fateflow (table" in captured.out and "  1. safety: party 10000" in captured.out
    assert "preflight would refuse: the local engine is not running" in captured.out
    assert "Verdict: NOT READY" in captured.out
    summary = _json_tail(captured.out)
    assert isinstance(summary, dict) and summary["counts"] == {"dry_run": 2}
    assert summary["passed"] is False and summary["verdict"] == "not ready"
    assert [r.split(" ")[0] for r in summary["reasons"]] == ["t4-fateflow", "disk-table-lost"]
    assert all("the local engine is not running" in r for r in summary["reasons"])
    assert "chaos dry run: not ready — t4-fateflow (not ready): preflight would refuse" in captured.err
    md = Path(summary["markdown"]).read_text()
    assert Path(summary["markdown"]).is_relative_to(own_state) and "dry run: nothing was changed" in md
    assert "**Verdict: NOT READY**" in md and "preflight would refuse: the local engine is not running" in md
    assert not (own_state / "chaos" / "ledger").exists() or not any((own_state / "chaos" / "ledger").iterdir())


def test_a_party_id_that_is_not_a_number_is_a_config_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chaos", "run", "--backend", "local", "--party", "abc", "--dry-run"]) == 2
    err = capsys.readouterr().err
    federation = load_federation()  # the environment's default config (the suite's: federation.single.yaml)
    assert f"party_id: a party id is a number (federation '{federation.name}') (got 'abc')" in err
    assert "fix: use one of: 9999, 10000" in err


def test_refusals_are_config_or_drill_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["chaos", "run", "--backend", "local", "--party", "9999", "--dry-run", "t4-mysql"]) == 2
    assert "cannot run on local" in capsys.readouterr().err
    forbidding = tmp_path / "federation.yaml"
    forbidding.write_text("name: f\nparties:\n  - {party_id: 1, roles: [guest]}\n"
                          "  - {party_id: 2, roles: [host], chaos: forbidden}\n")
    assert main(["chaos", "run", "--backend", "local", "--party", "2", "--federation", str(forbidding),
                 "--dry-run"]) == 1
    assert "chaos: forbidden" in capsys.readouterr().err


def test_heal_with_an_empty_ledger_is_a_no_op(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chaos", "heal"]) == 0
    assert json.loads(capsys.readouterr().out) == {"healed": [], "left": []}


def test_heal_lifts_every_recorded_fault(capsys: pytest.CaptureFixture[str]) -> None:
    """Two drills crashed while their processes were SIGSTOPped: one `heal` resumes both."""
    import signal
    import subprocess
    import sys
    import time

    from fateops.chaos.catalogue import FaultSpec
    from fateops.chaos.injectors.procs import proc_ref
    from fateops.chaos.ledger import Ledger

    victims = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]) for _ in range(2)]
    try:
        ledger = Ledger()
        refs = []
        for n, proc in enumerate(victims):
            ref = proc_ref(proc.pid)
            assert ref is not None and ref.signal(signal.SIGSTOP)
            refs.append(ref)
            record = ledger.open(drill_id=f"drill-{n}", run_id="crashed", backend="local", action="pause_engine",
                                 party_id=9999, spec=FaultSpec(action="pause_engine").model_dump(mode="json"))
            ledger.update(record, {"paused": ref.as_dict()})
        deadline = time.monotonic() + 10
        while not all(r.stopped() for r in refs):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert main(["chaos", "heal", "--backend", "local"]) == 0
        out = capsys.readouterr().out
        result = json.loads(out[out.index("{"):])
        assert len(result["healed"]) == 2 and result["left"] == []
        assert not any(r.stopped() for r in refs)
        assert ledger.entries() == []
    finally:
        for proc in victims:
            proc.kill()
            proc.wait(timeout=30)
