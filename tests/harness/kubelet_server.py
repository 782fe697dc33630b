"""The HTTPS half of the node simulator: the kubelet endpoints the real apiserver proxies to.

``kubectl logs`` / ``read_namespaced_pod_log`` and ``kubectl exec`` / the python client's ``stream``
go to the apiserver, which forwards them to ``https://<node InternalIP>:<kubelet port>``. We answer
``/containerLogs`` with text from the pod's ``sim.fateops.io/log`` annotation and ``/exec`` over the
``v4.channel.k8s.io`` websocket protocol (channel byte + payload; channel 3 carries a
``metav1.Status`` whose ``NonZeroExitCode`` details give the exit code). What an exec prints is
decided by a JSON rules file that tests rewrite at will; every exec is appended to a JSON-lines log
so a test can assert exactly what ran in which pod.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fnmatch
import json
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

log = logging.getLogger("fateops.harness.kubelet")

LOG_ANNOTATION = "sim.fateops.io/log"
_CHANNELS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
             "channel.k8s.io")
_STDIN, _STDOUT, _STDERR, _STATUS, _CLOSE = 0, 1, 2, 3, 255

PodLookup = Callable[[str, str], dict[str, str] | None]
"""(namespace, pod) → the pod's annotations, or None if the pod does not exist."""


@dataclass(frozen=True)
class ExecResult:
    """What a simulated command prints and how it exits."""

    stdout: str
    stderr: str = ""
    exit_code: int = 0
    sleep: float = 0.0


def _matches(rule: dict[str, Any], namespace: str, pod: str, container: str, command: list[str]) -> bool:
    joined = " ".join(command)
    prefix = rule.get("command")
    if prefix is not None and command[: len(prefix)] != list(prefix):
        return False
    if "command_prefix" in rule and not joined.startswith(str(rule["command_prefix"])):
        return False
    if "command_contains" in rule and str(rule["command_contains"]) not in joined:
        return False
    targets = (("namespace", namespace), ("pod", pod), ("container", container))
    return all(fnmatch.fnmatchcase(value, str(rule.get(key, "*"))) for key, value in targets)


def resolve_exec(rules_file: Path, namespace: str, pod: str, container: str, command: list[str]) -> ExecResult:
    """The first rule matching this exec, else the default ``ran <cmd>`` with exit code 0.

    The file is re-read every time so a test can change behaviour without restarting anything.
    """
    rules: list[dict[str, Any]] = []
    try:
        loaded = json.loads(rules_file.read_text() or "[]")
        rules = loaded if isinstance(loaded, list) else []
    except (OSError, json.JSONDecodeError) as exc:
        log.warning("ignoring unreadable exec rules %s: %s", rules_file, exc)
    joined = " ".join(command)
    for rule in rules:
        if isinstance(rule, dict) and _matches(rule, namespace, pod, container, command):
            def fill(text: str) -> str:
                return (text.replace("{pod}", pod).replace("{namespace}", namespace)
                        .replace("{container}", container).replace("{command}", joined))
            return ExecResult(stdout=fill(str(rule.get("stdout", ""))), stderr=fill(str(rule.get("stderr", ""))),
                              exit_code=int(rule.get("exit_code", 0)), sleep=float(rule.get("sleep", 0)))
    return ExecResult(stdout=f"ran {joined}\n")


class KubeletServer:
    """aiohttp app serving ``/containerLogs`` and ``/exec`` for every node of one simulated cluster."""

    def __init__(self, *, rules_file: Path, exec_log: Path, pod_lookup: PodLookup) -> None:
        self.rules_file = rules_file
        self.exec_log = exec_log
        self.pod_lookup = pod_lookup
        self._log_lock = threading.Lock()
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        """The routes (both the 3- and 4-segment exec paths kubelets accept)."""
        app = web.Application()
        app.router.add_get("/containerLogs/{ns}/{pod}/{container}", self._logs)
        for path in ("/exec/{ns}/{pod}/{container}", "/exec/{ns}/{pod}/{uid}/{container}"):
            app.router.add_get(path, self._exec)
            app.router.add_post(path, self._exec)
        app.router.add_get("/healthz", self._healthz)
        return app

    async def start(self, port: int, cert: Path, key: Path) -> None:
        """Listen with TLS on 127.0.0.1:``port``."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert), str(key))
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port, ssl_context=ctx).start()
        log.info("kubelet endpoint on https://127.0.0.1:%d", port)

    async def stop(self) -> None:
        """Close the listener."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _logs(self, request: web.Request) -> web.Response:
        ns, pod, container = (request.match_info[k] for k in ("ns", "pod", "container"))
        annotations = await asyncio.get_running_loop().run_in_executor(None, self.pod_lookup, ns, pod)
        if annotations is None:
            return web.Response(status=404, text=f"pod {ns}/{pod} not found")
        text = annotations.get(f"{LOG_ANNOTATION}.{container}", annotations.get(LOG_ANNOTATION))
        if text is None:
            text = f"simulated log of {ns}/{pod} container {container}\n"
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        tail = request.query.get("tailLines")
        if tail is not None and tail.lstrip("-").isdigit() and int(tail) >= 0:
            lines = lines[len(lines) - int(tail):] if int(tail) else []
        if request.query.get("timestamps") in ("true", "1"):
            stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            lines = [f"{stamp} {line}" for line in lines]
        body = "".join(lines)
        limit = request.query.get("limitBytes")
        if limit and limit.isdigit():
            body = body[: int(limit)]
        return web.Response(text=body, content_type="text/plain")

    async def _exec(self, request: web.Request) -> web.StreamResponse:
        ns, pod, container = (request.match_info[k] for k in ("ns", "pod", "container"))
        command = request.query.getall("command", [])
        ws = web.WebSocketResponse(protocols=_CHANNELS)
        await ws.prepare(request)
        # the apiserver forwards the kubelet's own names (input/output/error); direct callers use stdin/...
        stdin = await self._read_stdin(ws) if _flag(request, "input", "stdin") else b""
        result = resolve_exec(self.rules_file, ns, pod, container, command)
        self._record(ns, pod, container, command, result.exit_code, stdin)
        if result.sleep > 0:
            await asyncio.sleep(result.sleep)
        if result.stdout and _flag(request, "output", "stdout", default=True):
            await ws.send_bytes(bytes([_STDOUT]) + result.stdout.encode())
        if result.stderr and _flag(request, "error", "stderr", default=True):
            await ws.send_bytes(bytes([_STDERR]) + result.stderr.encode())
        if ws.ws_protocol and ws.ws_protocol != "channel.k8s.io":
            await ws.send_bytes(bytes([_STATUS]) + json.dumps(_status(result.exit_code)).encode())
        await ws.close()
        return ws

    async def _read_stdin(self, ws: web.WebSocketResponse) -> bytes:
        """Collect stdin until the client closes it (v5 close frame), the socket closes or it goes quiet."""
        data = bytearray()
        timeout = 2.0
        while True:
            try:
                msg = await asyncio.wait_for(ws.receive(), timeout)
            except TimeoutError:
                break
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
            payload = msg.data.encode() if isinstance(msg.data, str) else bytes(msg.data)
            if not payload:
                continue
            if payload[0] == _CLOSE:
                break
            if payload[0] == _STDIN:
                data += payload[1:]
            timeout = 0.5
        return bytes(data)

    def _record(self, ns: str, pod: str, container: str, command: list[str], exit_code: int,
                stdin: bytes) -> None:
        entry: dict[str, Any] = {
            "ts": dt.datetime.now(dt.UTC).isoformat(), "namespace": ns, "pod": pod, "container": container,
            "command": command, "exit_code": exit_code,
        }
        if stdin:
            entry["stdin"] = stdin[:4096].decode(errors="replace")
        line = json.dumps(entry) + "\n"
        with self._log_lock, self.exec_log.open("a") as out:
            out.write(line)
        log.info("exec %s/%s[%s]: %s -> %d", ns, pod, container, command, exit_code)


def _flag(request: web.Request, *names: str, default: bool = False) -> bool:
    """A boolean query parameter under any of ``names`` (``1``/``true``, any case)."""
    for name in names:
        if name in request.query:
            return request.query[name].strip().lower() in ("1", "true")
    return default


def _status(exit_code: int) -> dict[str, Any]:
    """The ``metav1.Status`` a kubelet sends on channel 3 when the command ends."""
    if exit_code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {}, "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command, exit status {exit_code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]},
    }
