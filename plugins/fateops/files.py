"""Atomic file writes, free of heavy imports so any layer (the engine's sites, the data steps) can use them.

A reader — another task, a FATE Flow job, a second mapped task writing the same record — sees the old file
or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

NEW_FILE_MODE = 0o644
"""rw-r--r--: what ``open`` gives under the usual umask 022 (reading the umask back means setting it,
which is not thread-safe)."""


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same directory, then rename.

    The file keeps the mode it had (a new one gets :data:`NEW_FILE_MODE`), not
    ``mkstemp``'s 0600: a config is read by other programs — FATE Flow, a container's user — too.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return NEW_FILE_MODE
