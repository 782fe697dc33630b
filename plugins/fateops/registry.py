"""A small file-based model registry: every trained model, and which one predictions should use.

FATE keeps the models themselves (``model_id`` + ``model_version``); this registry keeps *our*
decision about them: their metrics, the data they were trained on, and which one is promoted. It is
one JSON file (``registry.json``) in a directory the caller gives, guarded by an ``flock`` on a
sibling lock file (a scheduled retraining and a manual run may finish together) and replaced
atomically, so a crash never leaves half a registry.

Promotion rule (the issue's): a new model is promoted when its AUC ≥ ``threshold`` and either no
model is promoted yet or its AUC ≥ promoted AUC − ``tolerance``. The tolerance lets a model trained
on fresher data replace a marginally better but older one; the threshold keeps a broken run out.
Optionally (``min_average_precision``) the model must also reach an AUPRC floor: at a 0.17 % fraud
rate a model can rank well overall (high AUC) and still bury the frauds under false alarms.

Each record also carries the model's AUPRC and the decision threshold chosen on its training rows,
which predictions apply unless the run overrides it. Records written before these fields existed read
back with ``None``.
Recording the same FATE job twice is a no-op that returns the first decision (Airflow retries).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fateops.exceptions import ConfigError, FateopsError
from fateops.files import write_atomic

log = logging.getLogger(__name__)

REGISTRY_FILE = "registry.json"
_SCHEMA_VERSION = 1


class RegistryError(FateopsError):
    """The registry file is unreadable, or a record contradicts what is already registered."""

    default_fix = "inspect registry.json in the registry dir (it is plain JSON); restore it from the reports if needed"


@dataclass(frozen=True)
class ModelRecord:
    """One trained model as FATE identifies it, with what it scored and what it was trained on."""

    model_id: str
    model_version: str
    job_id: str
    auc: float
    ks: float
    metrics: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    was_promoted: bool = False
    """Whether the rule promoted it when it was recorded (a later model may have replaced it since)."""
    decision: str = ""
    average_precision: float | None = None
    """Area under the precision-recall curve on the same held-out rows as ``auc``."""
    decision_threshold: float | None = None
    """The score from which a row is flagged as fraud, chosen on the training rows."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.model_id, self.model_version)


@dataclass(frozen=True)
class PromotionRule:
    """Promote when ``auc ≥ threshold`` and not worse than the promoted model by more than ``tolerance``."""

    threshold: float = 0.9
    tolerance: float = 0.01
    min_average_precision: float | None = None
    """Also require this AUPRC (None: no AUPRC floor)."""

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 1:
            raise ConfigError("the AUC threshold must be within [0, 1]", field="threshold", value=self.threshold)
        if not 0 <= self.tolerance <= 1:
            raise ConfigError("the AUC tolerance must be within [0, 1]", field="tolerance", value=self.tolerance)
        if self.min_average_precision is not None and not 0 <= self.min_average_precision <= 1:
            raise ConfigError("the AUPRC threshold must be within [0, 1]", field="min_average_precision",
                              value=self.min_average_precision)

    def decide(self, auc: float, current: ModelRecord | None, average_precision: float | None = None
               ) -> tuple[bool, str]:
        """(promote?, why) for a model scoring ``auc`` (and ``average_precision``) against the promoted one."""
        if auc < self.threshold:
            return False, f"AUC {auc:.4f} < threshold {self.threshold:.4f}"
        floor_ap = self.min_average_precision
        if floor_ap is not None and (average_precision is None or average_precision < floor_ap):
            shown = "unknown" if average_precision is None else f"{average_precision:.4f}"
            return False, f"AUPRC {shown} < AUPRC threshold {floor_ap:.4f}"
        if current is None:
            return True, f"AUC {auc:.4f} ≥ threshold {self.threshold:.4f} and no model was promoted"
        floor = current.auc - self.tolerance
        if auc >= floor:
            return True, (f"AUC {auc:.4f} ≥ promoted {current.model_id}/{current.model_version} "
                          f"AUC {current.auc:.4f} − tolerance {self.tolerance:.4f}")
        return False, (f"AUC {auc:.4f} < promoted {current.model_id}/{current.model_version} "
                       f"AUC {current.auc:.4f} − tolerance {self.tolerance:.4f}")


def record_parties(record: ModelRecord) -> frozenset[str] | None:
    """The data parties (guest and hosts) whose evaluation a record carries: what ties a JSON-registry
    record to a federation (the file never stored the federation's name). None: the record cannot tell."""
    parties = (record.metrics or {}).get("parties")
    return frozenset(str(p) for p in parties) if isinstance(parties, Mapping) and parties else None


def check_scores(**scores: float | None) -> None:
    """Every given score (None: not measured) is a finite number within [0, 1]; refused before recording."""
    for name, value in scores.items():
        if value is None and name not in ("auc", "ks"):
            continue
        if not isinstance(value, int | float) or not math.isfinite(value) or not 0 <= value <= 1:
            raise ConfigError(f"{name} must be a number within [0, 1]", field=name, value=value)


class ModelRegistry:
    """The registry in ``directory`` (created on first write)."""

    def __init__(self, directory: Path | str, *, rule: PromotionRule | None = None) -> None:
        self.directory = Path(directory)
        self.path = self.directory / REGISTRY_FILE
        self.rule = rule or PromotionRule()

    def record(self, *, model_id: str, model_version: str | int, job_id: str, auc: float, ks: float,
               metrics: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
               dataset: Mapping[str, Any] | None = None, created_at: str | None = None,
               average_precision: float | None = None, decision_threshold: float | None = None) -> ModelRecord:
        """Register a trained model and apply the promotion rule; idempotent per ``job_id``."""
        check_scores(auc=auc, ks=ks, average_precision=average_precision, decision_threshold=decision_threshold)
        with self._locked() as state:
            models = [ModelRecord(**m) for m in state["models"]]
            for existing in models:
                if existing.job_id == job_id:
                    if existing.key != (str(model_id), str(model_version)):
                        raise RegistryError(
                            f"job {job_id} is registered as {existing.model_id}/{existing.model_version}, "
                            f"not {model_id}/{model_version}")
                    log.info("job %s already registered (%s)", job_id, existing.decision)
                    return existing
            if any(m.key == (str(model_id), str(model_version)) for m in models):
                raise RegistryError(f"model {model_id}/{model_version} is already registered by another job")
            current = _promoted(state, models)
            promote, why = self.rule.decide(float(auc), current, average_precision)
            record = ModelRecord(model_id=str(model_id), model_version=str(model_version), job_id=job_id,
                                 auc=float(auc), ks=float(ks), metrics=dict(metrics or {}),
                                 average_precision=None if average_precision is None else float(average_precision),
                                 decision_threshold=None if decision_threshold is None else float(decision_threshold),
                                 created_at=created_at or datetime.now(UTC).isoformat(timespec="seconds"),
                                 params=dict(params or {}), dataset=dict(dataset or {}), was_promoted=promote,
                                 decision=("promoted: " if promote else "not promoted: ") + why)
            state["models"].append(asdict(record))
            if promote:
                state["promoted"] = {"model_id": record.model_id, "model_version": record.model_version}
            log.info("model %s/%s (job %s): %s", record.model_id, record.model_version, job_id, record.decision)
            return record

    def promote(self, model_id: str, model_version: str | int) -> ModelRecord:
        """Promote a registered model by hand (a rollback), whatever the rule says."""
        with self._locked() as state:
            models = [ModelRecord(**m) for m in state["models"]]
            for record in models:
                if record.key == (str(model_id), str(model_version)):
                    state["promoted"] = {"model_id": record.model_id, "model_version": record.model_version}
                    log.info("model %s/%s promoted by hand", model_id, model_version)
                    return record
        raise RegistryError(f"model {model_id}/{model_version} is not registered",
                            fix="list the registered models with history() or pass a registered id/version")

    def promoted(self) -> ModelRecord | None:
        """The model predictions should use, or None if none qualified yet."""
        state = self._read()
        return _promoted(state, [ModelRecord(**m) for m in state["models"]])

    def get(self, model_id: str, model_version: str | int) -> ModelRecord | None:
        for record in self.history():
            if record.key == (str(model_id), str(model_version)):
                return record
        return None

    def history(self) -> list[ModelRecord]:
        """Every registered model, oldest first."""
        return [ModelRecord(**m) for m in self._read()["models"]]

    def hand_over(self, belongs: Callable[[ModelRecord], bool],
                  take: Callable[[list[ModelRecord], ModelRecord | None], None]) -> int:
        """Move the records ``belongs`` selects out of this file once ``take`` has stored them elsewhere.

        ``take`` gets them (oldest first) and their champion (the promoted one if it is among them, else the
        last of them the rule promoted when it was recorded); it runs under the
        file's lock, and only when it returns are the records removed, so a failure leaves the file
        as it was for the next try. The others stay for whoever they belong to; when none is left
        the file is renamed ``registry.json.migrated``. Returns how many records stay.
        """
        if not self.path.is_file():
            return 0
        with self._locked() as state:
            models = [ModelRecord(**m) for m in state["models"]]
            promoted = _promoted(state, models)
            mine = [m for m in models if belongs(m)]
            # one pointer served every federation; when it is another's, ours is the last we promoted
            champion = promoted if promoted is not None and belongs(promoted) else \
                next((m for m in reversed(mine) if m.was_promoted), None)
            take(mine, champion)
            state["models"] = [asdict(m) for m in models if not belongs(m)]
            if promoted is not None and belongs(promoted):
                state["promoted"] = None
            left = len(state["models"])
        if left == 0:
            self.path.replace(self.path.with_name(REGISTRY_FILE + ".migrated"))
        return left

    # -- storage -------------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {"schema": _SCHEMA_VERSION, "models": [], "promoted": None}
        try:
            state = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RegistryError(f"cannot read {self.path}: {exc}") from None
        if state.get("schema") != _SCHEMA_VERSION:
            raise RegistryError(f"{self.path} has schema {state.get('schema')!r}, expected {_SCHEMA_VERSION}")
        return state

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """Hold the lock, hand out the state, write it back atomically if the block succeeds."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / f".{REGISTRY_FILE}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = self._read()
                before = json.dumps(state, sort_keys=True)
                yield state
                if json.dumps(state, sort_keys=True) != before:
                    self._write(state)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, state: dict[str, Any]) -> None:
        write_atomic(self.path, (json.dumps(state, indent=2, sort_keys=True) + "\n").encode())


def _promoted(state: dict[str, Any], models: list[ModelRecord]) -> ModelRecord | None:
    pointer = state.get("promoted")
    if not pointer:
        return None
    key = (pointer["model_id"], pointer["model_version"])
    return next((m for m in models if m.key == key), None)
