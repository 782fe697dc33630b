"""The tarballs FATE Flow hands out: job logs, models, output data.

Log downloads are ``tar.gz`` of the job's log directory (``<role>/<party_id>/<task>/root/ERROR``,
``…/INFO``, ``…/stdout/*``); model downloads are plain ``tar``; output data ``tar.gz`` of a csv plus
its meta. Extraction refuses members that would land outside the destination.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from fateops.exceptions import FateFlowError

__all__ = ["extract_tar", "log_excerpt", "read_members"]


def _open(data: bytes) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    except tarfile.TarError as exc:
        raise FateFlowError(f"downloaded archive is not a readable tar ({len(data)} bytes): {exc}") from exc


def extract_tar(data: bytes, dest: Path) -> list[Path]:
    """Extract a downloaded tar(.gz) under ``dest`` and return the files written (sorted)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with _open(data) as tar:
        # The "data" filter rejects absolute paths, "..", links out of dest and device files.
        tar.extractall(dest, filter="data")
        names = [m.name for m in tar.getmembers() if m.isfile()]
    return sorted(dest / n for n in names)


def read_members(data: bytes) -> dict[str, bytes]:
    """Every regular file of a tar(.gz), by member name — for small archives such as job logs."""
    out: dict[str, bytes] = {}
    with _open(data) as tar:
        for member in tar.getmembers():
            if member.isfile():
                handle = tar.extractfile(member)
                if handle is not None:
                    out[member.name.removeprefix("./")] = handle.read()
    return out


def log_excerpt(log_tar: bytes, *, role: str, party_id: str, task_name: str, max_lines: int = 40) -> str:
    """The last ``max_lines`` lines that explain a task's failure, from a job-log tarball.

    Prefers the task's ERROR logs and anything it printed to stdout (tracebacks of the executor land
    there); falls back to the tail of its INFO log, then of the party's ERROR log. Empty string if the
    archive holds nothing for that task.
    """
    files = read_members(log_tar)
    base = f"{role}/{party_id}/{task_name}/"
    errors = [n for n in sorted(files) if n.startswith(base) and n.rsplit("/", 1)[-1] == "ERROR"]
    stdout = [n for n in sorted(files) if n.startswith(base + "stdout/") and files[n].strip()]
    chosen = errors + stdout
    if not any(files[n].strip() for n in chosen):
        chosen = [n for n in (base + "root/INFO", f"{role}/{party_id}/ERROR") if n in files]
    lines: list[str] = []
    for name in chosen:
        text = files[name].decode("utf-8", errors="replace").strip()
        if text:
            lines.append(f"--- {name}")
            lines.extend(text.splitlines())
    return "\n".join(lines[-max_lines:]) if lines else ""
