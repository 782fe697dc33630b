"""How a ``fateops`` pod step hands its result back: one marked JSON line, plus the termination message.

A KubernetesPodOperator would normally use its XCom sidecar (a root ``alpine`` container that
Pod Security Admission "restricted" namespaces reject). Our steps instead print the result as the
last line of their log, prefixed with :data:`MARKER`, and also write it to the container's
termination-message file, which the kubelet copies into the pod status. The operator reads the
termination message first and the log line as the fallback (e.g. when the file is not writable).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MARKER = "fateops-result: "
TERMINATION_LOG = Path("/dev/termination-log")
MAX_TERMINATION_BYTES = 4096  # the kubelet truncates beyond this


def format_line(result: Mapping[str, Any]) -> str:
    """The log line carrying ``result`` (single line, compact JSON)."""
    return MARKER + json.dumps(dict(result), separators=(",", ":"), sort_keys=True, default=str)


def write_termination_message(result: Mapping[str, Any], path: Path = TERMINATION_LOG) -> bool:
    """Write ``result`` as JSON to the termination-message file; False when it is not writable/too big."""
    data = json.dumps(dict(result), separators=(",", ":"), sort_keys=True, default=str)
    if len(data.encode()) > MAX_TERMINATION_BYTES:
        return False
    try:
        path.write_text(data)
    except OSError:
        return False
    return True


def parse(text: str | None) -> dict[str, Any] | None:
    """The result in a termination message (plain JSON) or a log (the last marked line), else None."""
    if not text:
        return None
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return value
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith(MARKER):
            try:
                value = json.loads(line[len(MARKER):])
            except json.JSONDecodeError:
                return None
            return value if isinstance(value, dict) else None
    return None
