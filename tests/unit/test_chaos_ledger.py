"""The ledger: a fault is recorded before it is injected, and the cleanup lifts whatever is still recorded."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from fateops.chaos.catalogue import FaultSpec
from fateops.chaos.injectors import DrillContext
from fateops.chaos.injectors.local import PauseEngine
from fateops.chaos.injectors.procs import proc_ref
from fateops.chaos.ledger import Ledger
from fateops.chaos.plan import heal_ledger
from fateops.federation import load_federation


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]


def test_records_are_written_updated_and_closed(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    rec = ledger.open(drill_id="t4-fateflow", run_id="r1", backend="local", action="kill_engine", party_id=9999,
                      spec={"action": "kill_engine"})
    other = ledger.open(drill_id="t4-mysql", run_id="r1", backend="kubernetes", action="delete_pods",
                        party_id=10000, spec={"action": "delete_pods", "component": "mysql"})
    rec = ledger.update(rec, {"killed_pid": 42})
    assert [r.key for r in ledger.entries()] == [rec.key, other.key]
    assert [r.params for r in ledger.entries(backend="local")] == [{"killed_pid": 42}]
    (tmp_path / "garbage.json").write_text("{not json")
    assert len(ledger.entries()) == 2  # an unreadable file never blocks the others
    ledger.close(rec)
    ledger.close(rec)  # closing twice is fine
    assert [r.key for r in ledger.entries()] == [other.key]


def test_the_cleanup_lifts_a_pause_left_behind_by_a_crashed_drill(tmp_path: Path) -> None:
    """A drill SIGSTOPped a process and died before its ``finally``: the ledger still knows, and heals."""
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        federation = load_federation()
        ctx = DrillContext(backend="local", federation=federation, party=federation.party(9999), run_id="r1")
        spec = FaultSpec(action="pause_engine")
        ledger = Ledger(tmp_path)
        record = ledger.open(drill_id="t5-network-cut-permanent", run_id="r1", backend="local",
                             action="pause_engine", party_id=9999, spec=spec.model_dump(mode="json"))
        injector = PauseEngine(spec, ctx)
        injector.paused = proc_ref(victim.pid)
        assert injector.paused is not None and injector.paused.signal(signal.SIGSTOP)
        ledger.update(record, injector.record())
        deadline = time.monotonic() + 10
        while _state(victim.pid) != "T":
            assert time.monotonic() < deadline
            time.sleep(0.05)

        done = heal_ledger(ledger, lambda r: ctx, backend="local")
        assert [d["healed"] for d in done] == [True]
        assert "SIGCONT" in done[0]["detail"]
        assert _state(victim.pid) in "SR"
        assert ledger.entries() == []
        assert heal_ledger(ledger, lambda r: ctx) == []  # nothing left: a second cleanup is a no-op
    finally:
        victim.kill()
        victim.wait(timeout=30)
