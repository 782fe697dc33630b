"""Converging a Helm release: upgrade only when the chart or the values changed.

``helm upgrade`` always writes a new revision, even when nothing differs, and a rerun of a DAG must
change nothing. So each release fateops writes carries a digest of (chart files, values) in its
revision description; a rerun computes the digest again and skips helm when the last revision is
``deployed`` with the same digest. Anything else — a new chart version, a changed value, a failed or
superseded revision — is upgraded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fateops.exceptions import KubernetesError
from fateops.k8s.helm import Helm

DESCRIPTION_PREFIX = "fateops digest "
_PENDING = ("pending-install", "pending-upgrade", "pending-rollback", "uninstalling")


@dataclass(frozen=True)
class ReleaseOutcome:
    """What :func:`converge_release` found and did."""

    release: str
    namespace: str
    revision: int
    changed: bool
    digest: str
    chart: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def chart_digest(chart: Path) -> str:
    """sha256 over every file of the chart (relative path + content), in a stable order."""
    if not (chart / "Chart.yaml").is_file():
        raise KubernetesError(f"{chart} is not a Helm chart (no Chart.yaml)", fix="check the fateops installation")
    h = hashlib.sha256()
    for path in sorted(p for p in chart.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(chart)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def release_digest(chart: Path, values: Mapping[str, Any]) -> str:
    """What a release's revision must carry to count as up to date (24 hex chars)."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{chart_digest(chart)}:{canonical}".encode()).hexdigest()[:24]


def converge_release(helm: Helm, release: str, chart: Path, namespace: str, values: Mapping[str, Any], *,
                     timeout_s: float | None = None) -> ReleaseOutcome:
    """``helm upgrade --install`` unless the last revision is deployed with the same digest."""
    digest = release_digest(chart, values)
    description = DESCRIPTION_PREFIX + digest
    last = helm.last(release, namespace)
    if last is not None and last.status in _PENDING:
        raise KubernetesError(
            f"release {namespace}/{release} on {helm.access.where} is {last.status} (revision {last.revision})",
            fix=f"another helm operation is running or was interrupted: wait, or `helm -n {namespace} rollback "
                f"{release}` to the last deployed revision, then run again")
    if last is not None and last.status == "deployed" and last.description == description:
        return ReleaseOutcome(release, namespace, last.revision, False, digest, last.chart)
    new = helm.upgrade_install(release, chart, namespace, values, description=description, timeout_s=timeout_s)
    return ReleaseOutcome(release, namespace, new.revision, True, digest, new.chart)
