"""The model registry in MLflow: ``<federation>-fraud``, a version per trained FATE model, ``champion``.

FATE keeps the model; MLflow keeps the record around it. Each version carries the FATE ids and the
scores as tags (``fate_job_id`` is how a retried registration finds the version it already made, so
a model registered twice stays one version). The promotion rule stays ours
(:class:`fateops.registry.PromotionRule`); promoting moves the ``champion`` alias, which predictions
resolve by default. The interface matches :class:`fateops.registry.ModelRegistry`, whose JSON file it
replaces (:meth:`MlflowModelRegistry.migrate` reads an existing one once).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fateops.registry import (
    ModelRecord,
    ModelRegistry,
    PromotionRule,
    RegistryError,
    check_scores,
    record_parties,
)
from fateops.tracking.lock import PromotionLock
from fateops.tracking.store import TrackingLocation, client, guarded, unavailable

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from mlflow.entities.model_registry import ModelVersion
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)

CHAMPION = "champion"
"""The alias predictions resolve; our promotion rule moves it."""
PENDING = "pending: registered, the promotion rule has not run yet"

_SCORES = ("auc", "ks", "average_precision", "decision_threshold")


def model_name(federation: str) -> str:
    """The registered model of a federation's fraud models."""
    return f"{federation}-fraud"


class MlflowModelRegistry:
    """The registered model ``<federation>-fraud`` at ``where``, promoted by ``rule``."""

    def __init__(self, where: TrackingLocation, federation: str, *, rule: PromotionRule | None = None,
                 mlflow: MlflowClient | None = None) -> None:
        self.where = where
        self.name = model_name(federation)
        self.rule = rule or PromotionRule()
        self.client = mlflow or client(where)

    @property
    def path(self) -> str:
        """Where the registry is, for messages (the JSON registry's was a file path)."""
        return f"{self.where.uri} (registered model {self.name})"

    def record(self, *, model_id: str, model_version: str | int, job_id: str, auc: float, ks: float,
               metrics: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
               dataset: Mapping[str, Any] | None = None, created_at: str | None = None,
               average_precision: float | None = None, decision_threshold: float | None = None,
               run_id: str | None = None) -> ModelRecord:
        """Register a trained model as a new version and apply the rule; idempotent per ``job_id``."""
        check_scores(auc=auc, ks=ks, average_precision=average_precision, decision_threshold=decision_threshold)
        model_id, model_version = str(model_id), str(model_version)
        self._ensure_model()
        version = self._find(job_id=job_id)
        if version is not None:
            found = _record(version)
            if found.key != (model_id, model_version):
                raise RegistryError(f"job {job_id} is registered as {found.model_id}/{found.model_version}, "
                                    f"not {model_id}/{model_version}")
            log.info("job %s already registered as %s version %s", job_id, self.name, version.version)
        else:
            if self._find(model_id=model_id, model_version=model_version) is not None:
                raise RegistryError(f"model {model_id}/{model_version} is already registered by another job")
            pending = ModelRecord(
                model_id=model_id, model_version=model_version, job_id=job_id, auc=float(auc), ks=float(ks),
                metrics=dict(metrics or {}), params=dict(params or {}), dataset=dict(dataset or {}),
                created_at=created_at or datetime.now(UTC).isoformat(timespec="seconds"), decision=PENDING,
                average_precision=None if average_precision is None else float(average_precision),
                decision_threshold=None if decision_threshold is None else float(decision_threshold))
            source = f"runs:/{run_id}/fate-model" if run_id else f"fate://{model_id}/{model_version}"
            version = guarded(self.where, f"registering {model_id}/{model_version} in {self.name}",
                              lambda: self.client.create_model_version(self.name, source=source, run_id=run_id,
                                                                       tags=_tags(pending)))
        record = self._promote(version)
        log.info("model %s/%s (job %s) is %s version %s: %s", model_id, model_version, job_id, self.name,
                 version.version, record.decision)
        return record

    def _promote(self, version: ModelVersion) -> ModelRecord:
        """Apply the rule to a registered version and move ``champion`` — compare-and-set under the lock.

        The champion is re-read *inside* :class:`~fateops.tracking.lock.PromotionLock`, right before
        the alias moves, so two trainings finishing together are judged one after the other: the
        second against the first's outcome, not against the champion both saw when they started.
        A retried task whose first try died between deciding and aliasing ends here too.
        """
        record = _record(version)
        with PromotionLock(self.client, self.where, self.name):
            if record.decision == PENDING:
                current = self.promoted()
                promote, why = self.rule.decide(record.auc, current, record.average_precision)
                record = replace(record, was_promoted=promote,
                                 decision=("promoted: " if promote else "not promoted: ") + why)
                for key, value in (("was_promoted", str(promote)), ("decision", record.decision)):
                    guarded(self.where, f"tagging {self.name} version {version.version}",
                            lambda k=key, v=value: self.client.set_model_version_tag(
                                self.name, str(version.version), k, v))
                if promote:
                    self._set_champion(version.version)
            elif record.was_promoted:  # decided by an earlier try: set the alias unless a newer one holds it
                current_version = self.champion_version()
                if current_version is None or int(current_version.version) < int(version.version):
                    self._set_champion(version.version)
        return record

    def promote(self, model_id: str, model_version: str | int) -> ModelRecord:
        """Promote a registered model by hand (a rollback), whatever the rule says."""
        version = self._find(model_id=str(model_id), model_version=str(model_version))
        if version is None:
            raise RegistryError(f"model {model_id}/{model_version} is not registered in {self.path}",
                                fix="list the versions in the MLflow UI or pass a registered id/version")
        with PromotionLock(self.client, self.where, self.name):
            self._set_champion(version.version)
        return _record(version)

    def promoted(self) -> ModelRecord | None:
        """The ``champion`` version's model, or None if none qualified yet."""
        version = self.champion_version()
        return None if version is None else _record(version)

    def champion_version(self) -> ModelVersion | None:
        """The version the ``champion`` alias points to (None: no alias or no registered model yet)."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(self.name, CHAMPION)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise unavailable(self.where, f"resolving {self.name}@{CHAMPION}", exc) from exc
        except Exception as exc:
            raise unavailable(self.where, f"resolving {self.name}@{CHAMPION}", exc) from exc

    def version_of(self, job_id: str) -> ModelVersion | None:
        """The version a FATE training job registered (None: not registered)."""
        return self._find(job_id=job_id)

    def get(self, model_id: str, model_version: str | int) -> ModelRecord | None:
        version = self._find(model_id=str(model_id), model_version=str(model_version))
        return None if version is None else _record(version)

    def history(self) -> list[ModelRecord]:
        """Every registered version, oldest first."""
        return [_record(v) for v in self._versions(f"name='{self.name}'")]

    def migrate(self, legacy: ModelRegistry, parties: Collection[str | int]) -> tuple[int, int]:
        """Move this federation's records of a JSON registry here, and carry its promotion over.

        The JSON file never stored a federation's name; a record is this federation's when the data
        parties it was evaluated at (:func:`~fateops.registry.record_parties`) are exactly ``parties``
        (the federation's guest and hosts). Other federations' records stay in the file for their own
        first run; records that name no parties stay too. Idempotent (versions are found by FATE job
        id). Returns (versions added, records left in the file).
        """
        ours = frozenset(str(p) for p in parties)
        added = 0

        def take(records: list[ModelRecord], promoted: ModelRecord | None) -> None:
            nonlocal added
            for old in records:
                if self._find(job_id=old.job_id) is None:
                    self._ensure_model()
                    guarded(self.where, f"migrating {old.model_id}/{old.model_version}",
                            lambda old=old: self.client.create_model_version(
                                self.name, source=f"fate://{old.model_id}/{old.model_version}", tags=_tags(old)))
                    added += 1
            if promoted is not None and self.champion_version() is None:
                version = self._find(job_id=promoted.job_id)
                if version is not None:
                    self._set_champion(version.version)

        left = legacy.hand_over(lambda record: record_parties(record) == ours, take)
        return added, left

    # -- MLflow calls ------------------------------------------------------------------------------

    def _ensure_model(self) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.create_registered_model(
                self.name, description="Fraud models trained by FATE; fateops' promotion rule moves @champion.")
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise unavailable(self.where, f"creating registered model {self.name}", exc) from exc
        except Exception as exc:
            raise unavailable(self.where, f"creating registered model {self.name}", exc) from exc

    def _versions(self, filter_string: str) -> list[ModelVersion]:
        found = guarded(self.where, f"searching {self.name}", lambda: self.client.search_model_versions(filter_string))
        return sorted(found, key=lambda v: int(v.version))

    def _find(self, *, job_id: str | None = None, model_id: str | None = None,
              model_version: str | None = None) -> ModelVersion | None:
        wanted = {"fate_job_id": job_id, "fate_model_id": model_id, "fate_model_version": model_version}
        clauses = [f"name='{self.name}'"] + [f"tags.{k}='{_quoted(v)}'" for k, v in wanted.items() if v is not None]
        versions = self._versions(" and ".join(clauses))
        return versions[0] if versions else None

    def _set_champion(self, version: str) -> None:
        guarded(self.where, f"setting {self.name}@{CHAMPION} to version {version}",
                lambda: self.client.set_registered_model_alias(self.name, CHAMPION, str(version)))
        log.info("%s@%s → version %s", self.name, CHAMPION, version)


def _quoted(value: str) -> str:
    return str(value).replace("'", "\\'")


def _tags(record: ModelRecord) -> dict[str, str]:
    tags = {"fate_model_id": record.model_id, "fate_model_version": record.model_version,
            "fate_job_id": record.job_id, "decision": record.decision, "was_promoted": str(record.was_promoted),
            "created_at": record.created_at, "params": json.dumps(record.params, sort_keys=True),
            "dataset": json.dumps(record.dataset, sort_keys=True)[:4000]}
    for name in _SCORES:
        value = getattr(record, name)
        if value is not None:
            tags[name] = repr(float(value))
    return tags


def _record(version: ModelVersion) -> ModelRecord:
    tags = version.tags or {}

    def score(name: str) -> float | None:
        return float(tags[name]) if tags.get(name) not in (None, "") else None

    try:
        dataset = json.loads(tags.get("dataset") or "{}")
    except json.JSONDecodeError:  # truncated: the run keeps the full lineage
        dataset = {}
    return ModelRecord(model_id=tags.get("fate_model_id", ""), model_version=tags.get("fate_model_version", ""),
                       job_id=tags.get("fate_job_id", ""), auc=score("auc") or 0.0, ks=score("ks") or 0.0,
                       params=json.loads(tags.get("params") or "{}"), dataset=dataset,
                       created_at=tags.get("created_at", ""), was_promoted=tags.get("was_promoted") == "True",
                       decision=tags.get("decision", ""), average_precision=score("average_precision"),
                       decision_threshold=score("decision_threshold"))
