"""A deliberately tiny Kubernetes REST client for the node simulator (plain dicts over urllib3).

The official client imports ~1,000 model classes (4–6 s of CPU on a busy 2-core box) and turns every
watch event into objects; the simulator only needs a handful of verbs on JSON, so it starts in a
fraction of that time and stays cheap while two clusters' worth of events stream in. Tests and
product code keep using the official client.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import urllib3
import yaml

JSON = dict[str, Any]


class ApiError(Exception):
    """A non-2xx answer from the apiserver."""

    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        self.status = status
        reason = body
        try:
            reason = json.loads(body).get("message", body)
        except (ValueError, AttributeError):
            pass
        super().__init__(f"{method} {path}: HTTP {status}: {reason}")


class KubeAPI:
    """Verbs on raw JSON against the cluster named by a kubeconfig's current context (token auth)."""

    def __init__(self, kubeconfig: Path, *, timeout: float = 15.0) -> None:
        doc = yaml.safe_load(kubeconfig.read_text())
        ctx_name = doc["current-context"]
        ctx = next(c["context"] for c in doc["contexts"] if c["name"] == ctx_name)
        cluster = next(c["cluster"] for c in doc["clusters"] if c["name"] == ctx["cluster"])
        user = next(u["user"] for u in doc["users"] if u["name"] == ctx["user"])
        self.server = cluster["server"].rstrip("/")
        self._headers = {"Authorization": f"Bearer {user['token']}", "Accept": "application/json"}
        ssl_ctx = ssl.create_default_context()
        if "certificate-authority-data" in cluster:
            ssl_ctx.load_verify_locations(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        elif "certificate-authority" in cluster:
            ssl_ctx.load_verify_locations(cafile=cluster["certificate-authority"])
        self._timeout = timeout
        self._http = urllib3.PoolManager(maxsize=8, ssl_context=ssl_ctx, retries=False)

    def request(self, method: str, path: str, *, body: Any = None, query: dict[str, Any] | None = None,
                content_type: str = "application/json", timeout: float | None = None) -> JSON:
        """One call; returns the decoded JSON body or raises :class:`ApiError`."""
        url = self.server + path + (f"?{urlencode(query)}" if query else "")
        headers = dict(self._headers)
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body).encode()
        resp = self._http.request(method, url, body=data, headers=headers, timeout=timeout or self._timeout)
        text = resp.data.decode(errors="replace")
        if resp.status >= 300:
            raise ApiError(resp.status, method, path, text)
        return json.loads(text) if text else {}

    def get(self, path: str, **query: Any) -> JSON:
        """GET (query parameters as keyword arguments)."""
        return self.request("GET", path, query=query or None)

    def post(self, path: str, body: JSON) -> JSON:
        """POST a new object."""
        return self.request("POST", path, body=body)

    def patch(self, path: str, body: JSON, *, merge: str = "strategic") -> JSON:
        """PATCH with a strategic-merge (default) or JSON merge patch."""
        ctype = ("application/strategic-merge-patch+json" if merge == "strategic"
                 else "application/merge-patch+json")
        return self.request("PATCH", path, body=body, content_type=ctype)

    def delete(self, path: str, body: JSON | None = None) -> JSON:
        """DELETE (with optional DeleteOptions)."""
        return self.request("DELETE", path, body=body)

    def watch(self, path: str, *, timeout_seconds: int = 30, resource_version: str | None = None
              ) -> Iterator[tuple[str, JSON]]:
        """Yield ``(type, object)`` watch events until the server ends the stream."""
        query: dict[str, Any] = {"watch": "1", "timeoutSeconds": str(timeout_seconds),
                                 "allowWatchBookmarks": "false"}
        if resource_version:
            query["resourceVersion"] = resource_version
        url = f"{self.server}{path}?{urlencode(query)}"
        resp = self._http.request("GET", url, headers=self._headers, preload_content=False,
                                  timeout=urllib3.Timeout(connect=5, read=timeout_seconds + 10))
        try:
            if resp.status >= 300:
                raise ApiError(resp.status, "WATCH", path, resp.read().decode(errors="replace"))
            buffer = b""
            for chunk in resp.stream(65536):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        event = json.loads(line)
                        yield event["type"], event["object"]
        finally:
            resp.release_conn()
