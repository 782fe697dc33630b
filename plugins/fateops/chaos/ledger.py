"""The ledger of faults in force: written before a fault is injected, removed once it is lifted.

A drill heals in ``finally`` — but a worker can be SIGKILLed by an execution timeout, a pod can be
evicted, a laptop can sleep. The ledger (one JSON file per fault under ``<state>/chaos/ledger``)
lets the DAG's cleanup task, or ``fateops chaos heal``, find and lift every fault still in force,
whoever injected it. Records hold plain, non-secret values only (pids, names, replica counts).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fateops.files import write_atomic
from fateops.paths import state_dir

__all__ = ["FaultRecord", "Ledger"]


@dataclass(frozen=True)
class FaultRecord:
    """One fault that may still be in force."""

    key: str
    drill_id: str
    run_id: str
    backend: str
    action: str
    party_id: int
    spec: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    injected_at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Ledger:
    """Faults in force, one file each (atomic writes; safe across processes)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or state_dir() / "chaos" / "ledger"

    def _path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def open(self, *, drill_id: str, run_id: str, backend: str, action: str, party_id: int,
             spec: dict[str, Any]) -> FaultRecord:
        """Record a fault *before* it is injected (so a crash mid-injection is still healed)."""
        record = FaultRecord(key=f"{drill_id}-{uuid.uuid4().hex[:8]}", drill_id=drill_id, run_id=run_id,
                             backend=backend, action=action, party_id=party_id, spec=spec)
        self._write(record)
        return record

    def update(self, record: FaultRecord, params: dict[str, Any]) -> FaultRecord:
        """Add what the heal needs (pid, replicas…) once the injector knows it."""
        updated = FaultRecord(**{**record.as_dict(), "params": params})
        self._write(updated)
        return updated

    def close(self, record: FaultRecord) -> None:
        """The fault is lifted."""
        self._path(record.key).unlink(missing_ok=True)

    def entries(self, *, backend: str | None = None) -> list[FaultRecord]:
        """Faults still recorded, oldest first; unreadable files are skipped (and reported by name)."""
        if not self.root.is_dir():
            return []
        found = []
        for path in sorted(self.root.glob("*.json")):
            try:
                found.append(FaultRecord(**json.loads(path.read_text())))
            except (ValueError, TypeError):
                continue
        chosen = [r for r in found if backend is None or r.backend == backend]
        return sorted(chosen, key=lambda r: r.injected_at)

    def _write(self, record: FaultRecord) -> None:
        write_atomic(self._path(record.key), json.dumps(record.as_dict(), indent=1, default=str).encode())
