"""Finding and signalling processes by pid tree (never by name), on real processes this test starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fateops.chaos.injectors.procs import ProcRef, children, descendants, find_task_process, kill_tree, proc_ref

# A stand-in "server" that spawns two "task executors" the way FATE Flow does: children carrying their
# task in FATE_TASK_CONFIG, each with a worker child of its own.
SERVER = textwrap.dedent("""
    import os, subprocess, sys, time, yaml
    def task(role, party, name):
        conf = {"job_id": "J1", "role": role, "party_id": party, "task_name": name, "task_version": 0}
        env = dict(os.environ, FATE_TASK_CONFIG=yaml.safe_dump(conf))
        worker = "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])"
        code = f"import subprocess, sys, time; {worker}; time.sleep(300)"
        return subprocess.Popen([sys.executable, "-c", code], env=env)
    kids = [task("guest", "9999", "homo_lr_0"), task("host", "10000", "homo_lr_0")]
    open(sys.argv[1], "w").write("ready")
    time.sleep(300)
""")


def _wait(check, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(ready)], start_new_session=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        _wait(ready.exists)
        _wait(lambda: len(descendants(proc.pid)) == 4)  # two executors, each with a worker
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # our own process group only
        proc.wait(timeout=30)


def test_the_tree_below_the_server_is_found(server: subprocess.Popen[bytes]) -> None:
    kids = children(server.pid)
    assert len(kids) == 2
    assert set(kids) < set(descendants(server.pid))


def test_the_task_executor_is_found_by_its_task_and_killed_with_its_worker(server: subprocess.Popen[bytes]) -> None:
    task = find_task_process(server.pid, job_id="J1", role="guest", party_id=9999, task_name="homo_lr_0")
    assert task is not None and (task.role, task.party_id, task.task_version) == ("guest", "9999", 0)
    worker = children(task.ref.pid)
    assert len(worker) == 1
    hit = kill_tree(task.ref)
    assert set(hit) == {task.ref.pid, worker[0]}
    _wait(lambda: not task.ref.alive())
    other = find_task_process(server.pid, job_id="J1", role="host", party_id="10000", task_name="homo_lr_0")
    assert other is not None and other.ref.alive()  # only the guest's task died
    assert find_task_process(server.pid, job_id="J2", role="host", party_id="10000", task_name="homo_lr_0") is None


def test_a_proc_ref_never_signals_a_different_process() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    ref = proc_ref(proc.pid)
    assert ref is not None and ref.alive()
    impostor = ProcRef(proc.pid, ref.start_ticks + 1)  # same pid, another start time: a recycled pid
    assert not impostor.alive() and not impostor.signal(signal.SIGTERM)
    assert proc.poll() is None
    assert ref.signal(signal.SIGSTOP)
    _wait(ref.stopped)
    assert ref.signal(signal.SIGCONT)
    _wait(lambda: not ref.stopped())
    proc.kill()
    proc.wait(timeout=30)
    assert not ref.alive() and not ref.signal(signal.SIGKILL)
    assert kill_tree(ref) == []
    assert ProcRef.from_dict(ref.as_dict()) == ref
