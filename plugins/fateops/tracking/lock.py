"""A mutex kept in the MLflow store itself, so promotions on different Airflow workers take turns.

Two trainings that finish together both compare against the same old ``champion``; without a lock
the alias ends on whichever writes last, better or not. MLflow has no compare-and-set on aliases,
but it has one atomic, unique write: **creating a registered model** fails with
``RESOURCE_ALREADY_EXISTS`` when the name exists (a primary key in every backend store, SQLite or
the server's Postgres). So the lock is a registered model ``<model>.promotion-lock``: created to
take it, deleted to release it (registered models are hard-deleted, unlike experiments, whose names
stay reserved after deletion). This works wherever the registry is — the embedded SQLite store and
a shared tracking server alike — where a file lock would only cover workers on one machine, and it
needs no extra service.

A holder that dies leaves the lock behind; the next promoter breaks it once the *same* lock
(same creation timestamp) has been seen held for ``stale_after_s`` on its own clock (no clock
comparison with the server). Breaking is best effort: two breakers of one dead lock may both go on,
an accepted risk in a crash-and-race corner.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from typing import TYPE_CHECKING

from fateops.tracking.store import TrackingLocation, TrackingUnavailable, unavailable

if TYPE_CHECKING:
    from types import TracebackType

    from mlflow.entities.model_registry import RegisteredModel
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)


class PromotionLock:
    """``with PromotionLock(client, where, "fed-fraud"):`` — one promotion of that model at a time."""

    def __init__(self, mlflow: MlflowClient, where: TrackingLocation, model: str, *, timeout_s: float = 300,
                 stale_after_s: float = 120, poll_s: float = 0.1) -> None:
        self.mlflow = mlflow
        self.where = where
        self.name = f"{model}.promotion-lock"
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.timeout_s = timeout_s
        self.stale_after_s = stale_after_s
        self.poll_s = poll_s

    def __enter__(self) -> PromotionLock:
        deadline = time.monotonic() + self.timeout_s
        seen: tuple[int | None, float] | None = None  # (creation timestamp, when we first saw it)
        while True:
            if self._try_create():
                return self
            held = self._held_since()
            now = time.monotonic()
            if held is not None and (seen is None or seen[0] != held):
                seen = (held, now)
            elif seen is not None and now - seen[1] > self.stale_after_s:
                log.warning("breaking %s: held for more than %.0f s (its holder died?)", self.name, self.stale_after_s)
                self._delete()
                seen = None
                continue
            if now > deadline:
                raise TrackingUnavailable(
                    f"MLflow at {self.where.uri}: the promotion lock {self.name} was held for {self.timeout_s:.0f} s",
                    fix=f"if no training is registering right now, delete the registered model {self.name} "
                        "in the MLflow UI and retry the task")
            time.sleep(self.poll_s)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._holder() == self.holder:  # never release a lock someone broke and re-took
                self._delete()
        except Exception as failure:  # the stale-lock rule frees it; never hide the cause
            log.warning("could not release %s: %s", self.name, failure)

    # -- MLflow calls ------------------------------------------------------------------------------

    def _try_create(self) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            self.mlflow.create_registered_model(
                self.name, tags={"holder": self.holder},
                description="fateops: a promotion of the model is in progress (deleted when it ends)")
        except MlflowException as exc:
            # RESOURCE_DOES_NOT_EXIST here means the same race, one step on: the store's insert hit
            # the held name, then its read-back of that name found it already released.
            if exc.error_code in ("RESOURCE_ALREADY_EXISTS", "RESOURCE_DOES_NOT_EXIST"):
                return False
            raise unavailable(self.where, f"taking {self.name}", exc) from exc
        except Exception as exc:
            raise unavailable(self.where, f"taking {self.name}", exc) from exc
        return True

    def _get(self) -> RegisteredModel | None:
        from mlflow.exceptions import MlflowException

        try:
            return self.mlflow.get_registered_model(self.name)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise unavailable(self.where, f"reading {self.name}", exc) from exc

    def _held_since(self) -> int | None:
        found = self._get()
        return None if found is None else found.creation_timestamp

    def _holder(self) -> str | None:
        found = self._get()
        return None if found is None else (found.tags or {}).get("holder")

    def _delete(self) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.mlflow.delete_registered_model(self.name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise unavailable(self.where, f"releasing {self.name}", exc) from exc
