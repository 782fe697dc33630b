"""A small client of Airflow 3's REST API v2: what `make demo`, the tests and the README's curl lines do.

Auth is the simple auth manager's: ``POST /auth/token`` → bearer token. A run is triggered with
``"logical_date": null`` (omitting it is a 422 in Airflow 3).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from fateops.exceptions import FateopsError

TERMINAL_RUN_STATES = {"success", "failed"}


class AirflowRestError(FateopsError):
    """Airflow's REST API refused or failed a call."""

    default_fix = "check the api-server log and that the DAG parsed (Airflow UI → Dags → import errors)"


class AirflowRestClient:
    """Token-authenticated calls to ``/api/v2``; every call has a timeout."""

    def __init__(self, base_url: str, username: str, password: str, *, timeout_s: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s)
        response = self._http.post("/auth/token", json={"username": username, "password": password})
        if response.status_code >= 300:
            raise AirflowRestError(f"login as {username!r} failed: HTTP {response.status_code}")
        self._http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AirflowRestClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, f"/api/v2{path}", **kwargs)
        if response.status_code >= 300:
            raise AirflowRestError(f"{method} /api/v2{path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def wait_for_dag(self, dag_id: str, timeout_s: float = 120) -> dict[str, Any]:
        """Wait until the dag-processor has serialized ``dag_id`` (a fresh stack needs a few seconds)."""
        deadline = time.monotonic() + timeout_s
        while True:
            response = self._http.get(f"/api/v2/dags/{dag_id}")
            if response.status_code == 200:
                return response.json()
            if time.monotonic() > deadline:
                errors = self._call("GET", "/importErrors").get("import_errors", [])
                raise AirflowRestError(f"DAG {dag_id} not available after {timeout_s:.0f}s; import errors: {errors}")
            time.sleep(1)

    def unpause(self, dag_id: str) -> None:
        self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, note: str | None = None) -> str:
        body: dict[str, Any] = {"logical_date": None, "conf": conf or {}}
        if note:
            body["note"] = note
        return self._call("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def dag_details(self, dag_id: str) -> dict[str, Any]:
        """The DAG as the UI gets it: Params (with their JSON schema), paused flag, docs…"""
        return self._call("GET", f"/dags/{dag_id}/details")

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """The DAG's runs, newest first (id, state, run type, conf…)."""
        return self._call("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "-run_after", "limit": 100})[
            "dag_runs"]

    def delete_run(self, dag_id: str, run_id: str) -> None:
        self._call("DELETE", f"/dags/{dag_id}/dagRuns/{run_id}")

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        data = self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 500})
        states: dict[str, str | None] = {}
        for ti in data["task_instances"]:
            key = ti["task_id"] if ti.get("map_index", -1) in (-1, None) else f"{ti['task_id']}[{ti['map_index']}]"
            states[key] = ti["state"]
        return states

    def wait_for_run(self, dag_id: str, run_id: str, *, timeout_s: float,
                     on_change: Callable[[str, str | None], None] | None = None) -> str:
        """Poll until the run ends; ``on_change(task, state)`` sees every task state transition."""
        deadline = time.monotonic() + timeout_s
        seen: dict[str, str | None] = {}
        while True:
            for task, state in self.task_states(dag_id, run_id).items():
                if seen.get(task, "<new>") != state:
                    seen[task] = state
                    if on_change:
                        on_change(task, state)
            state = self.run_state(dag_id, run_id)
            if state in TERMINAL_RUN_STATES:
                return state
            if time.monotonic() > deadline:
                raise AirflowRestError(f"run {run_id} of {dag_id} still {state} after {timeout_s:.0f}s")
            time.sleep(2)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self._call("GET", path, params={"map_index": map_index, "deserialize": True})["value"]
