"""Start detached processes with pid files and stop them by process group, with escalation.

Shared by the Airflow components and anything else fateops runs in the background: api-server and
triggerer may ignore SIGTERM, so every stop is SIGTERM → grace period → SIGKILL, by pid, never by name.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """True for a live, non-zombie process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def read_pid(pid_file: Path) -> int | None:
    """The pid in ``pid_file`` if that process still runs."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def spawn(cmd: Sequence[str], *, pid_file: Path, log_file: Path, env: Mapping[str, str],
          cwd: Path | None = None) -> int:
    """Start ``cmd`` in its own session (survives the caller), output to ``log_file``; returns its pid."""
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    pid_file.write_text(str(proc.pid))
    return proc.pid


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    try:  # reap our own child so it does not linger as a zombie
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop_pid_file(pid_file: Path, *, grace_s: float = 10.0) -> bool:
    """Stop the process group recorded in ``pid_file``; True if something was running."""
    pid = read_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    _signal_group(pid, signal.SIGKILL)  # escalation, and sweeps children left in the group
    pid_file.unlink(missing_ok=True)
    return True


def drop_user(service_user: str) -> str:
    """The user a daemon that refuses to run as root ends up as: ``service_user`` for root, else ourselves."""
    return service_user if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


def unreachable_parent(path: Path) -> Path | None:
    """The first folder above ``path`` other users cannot traverse (None if all can, or we are not root).

    Daemons started as root that drop to their own user (traffic-server, RabbitMQ) need to reach their
    state dir: a ``/root/...`` or pytest ``tmp_path`` (mode 700) makes them fail with an obscure error.
    """
    if os.geteuid() != 0:
        return None
    for parent in reversed(path.resolve().parents):
        if parent.exists() and not parent.stat().st_mode & 0o001:
            return parent
    return None


def chown_tree(folders: Sequence[Path], user: str) -> None:
    """As root, give ``folders`` (recursively) to ``user``; a no-op for anyone else."""
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(user)
    for folder in folders:
        for path in (folder, *folder.rglob("*")):
            os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a daemon's log, for an error message (``(no <name>)`` when it never wrote one)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"(no {path.name})"


def wait_daemon(name: str, pid: Callable[[], int | None], probe: Callable[[], str], *, timeout_s: float,
                log_file: Path, error: type[Exception], fix: str, poll_s: float = 0.5) -> int:
    """Until ``probe()`` says '' (healthy) while ``pid()`` runs; raise ``error`` if it exits or time runs out.

    ``error`` is a :class:`~fateops.exceptions.FateopsError` kind (message + ``fix=`` keyword).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        running = pid()
        problem = probe() if running else "not running"
        if running is not None and not problem:
            return running
        if running is None:
            raise error(f"{name} exited during start-up: {log_tail(log_file)}", fix=fix)  # type: ignore[call-arg]
        if time.monotonic() > deadline:
            raise error(f"{name} not healthy after {timeout_s:.0f}s: {problem}", fix=fix)  # type: ignore[call-arg]
        time.sleep(poll_s)
