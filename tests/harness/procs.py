"""Start, watch and stop the harness's server processes by pid; pick free loopback ports.

Each peer runs in its own session (process group) with its output in a log file, so a stop signal
reaches any children and a failed start can quote the log. Stopping escalates SIGTERM → SIGKILL after
a grace period (some servers ignore SIGTERM while shutting down). A pid read back from ``env.json``
is only signalled if ``/proc/<pid>/cmdline`` still names the program we started — pids get reused.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness._common import HarnessError, log

_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (never the same one twice in this process)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise HarnessError("could not find a free TCP port on 127.0.0.1", fix="free some ports and retry")


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file (empty if missing)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Proc:
    """A started server: its pid, program name (for pid-reuse checks) and log file."""

    name: str
    pid: int
    program: str
    log_path: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def alive(self) -> bool:
        """Whether the process still runs (reaps it if it is our child)."""
        if self.popen is not None:
            return self.popen.poll() is None
        return pid_matches(self.pid, self.program)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds."""
        stop_pid(self.pid, self.program, grace=grace, popen=self.popen, name=self.name)

    def to_json(self) -> dict[str, object]:
        """Plain values for ``env.json``."""
        return {"name": self.name, "pid": self.pid, "program": self.program, "log": str(self.log_path)}


def spawn(name: str, argv: Sequence[str], *, log_path: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> Proc:
    """Start ``argv`` in its own session with stdout+stderr appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        try:
            popen = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     env=env, cwd=cwd, start_new_session=True)
        except OSError as exc:
            raise HarnessError(f"cannot start {name} ({argv[0]}): {exc}", fix="see the message above") from exc
    log.info("started %s (pid %d), log %s", name, popen.pid, log_path)
    return Proc(name=name, pid=popen.pid, program=Path(argv[0]).name, log_path=log_path, popen=popen)


def pid_matches(pid: int, program: str) -> bool:
    """Whether ``pid`` is alive and its command line mentions ``program``."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":  # zombie: dead, not yet reaped
        return False
    return program in cmdline


def stop_pid(pid: int, program: str, *, grace: float = 10.0, popen: subprocess.Popen[bytes] | None = None,
             name: str = "") -> None:
    """Stop a process (and its group) we started: SIGTERM, wait ``grace`` s, then SIGKILL."""
    label = name or program
    if popen is None and not pid_matches(pid, program):
        return
    if popen is not None and popen.poll() is not None:
        return
    _signal_group(pid, signal.SIGTERM)
    if _wait_gone(pid, program, popen, grace):
        log.info("stopped %s (pid %d)", label, pid)
        return
    log.warning("%s (pid %d) ignored SIGTERM for %.0f s; sending SIGKILL", label, pid, grace)
    _signal_group(pid, signal.SIGKILL)
    if not _wait_gone(pid, program, popen, 10.0):
        log.error("%s (pid %d) survived SIGKILL", label, pid)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # our children lead their own session: pgid == pid
    except ProcessLookupError:
        return
    except PermissionError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _wait_gone(pid: int, program: str, popen: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen is not None:
            if popen.poll() is not None:
                return True
        elif not pid_matches(pid, program):
            return True
        time.sleep(0.1)
    return False


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, proc: Proc | None = None,
               interval: float = 0.2) -> None:
    """Poll ``check`` until true; fail early (quoting the log) if ``proc`` dies, or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception as exc:  # a not-yet-listening server raises; keep polling
            last_error: Exception | None = exc
        else:
            last_error = None
        if proc is not None and not proc.alive():
            raise HarnessError(f"{proc.name} exited while waiting for {what}; last log lines:\n"
                               f"{log_tail(proc.log_path)}", fix=f"read {proc.log_path}")
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            tail = f"; last log lines:\n{log_tail(proc.log_path)}" if proc else ""
            raise HarnessError(f"timed out after {timeout:.0f}s waiting for {what}{detail}{tail}",
                               fix=f"read {proc.log_path}" if proc else "see the message above")
        time.sleep(interval)
