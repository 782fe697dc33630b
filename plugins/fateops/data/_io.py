"""Small file helpers shared by the data steps: content hashes and atomic, skip-if-same writes.

Every data step is re-run by Airflow retries and by scheduled retraining; writing only when the
bytes differ keeps a re-run a no-op (same mtime, same hash) and the temp-file + ``os.replace`` dance
means a reader never sees half a CSV.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from fateops.files import write_atomic

__all__ = ["dump_json", "sha256_bytes", "sha256_file", "write_atomic", "write_if_changed"]

_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_if_changed(path: Path, data: bytes) -> tuple[str, bool]:
    """Write ``data`` unless ``path`` already holds exactly these bytes; return (sha256, written)."""
    digest = sha256_bytes(data)
    if path.is_file() and path.stat().st_size == len(data) and sha256_file(path) == digest:
        return digest, False
    write_atomic(path, data)
    return digest, True


def dump_json(payload: Any) -> bytes:
    """Stable JSON (sorted keys, indented, trailing newline) so equal content gives equal bytes."""
    return (json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()
