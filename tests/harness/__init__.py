"""The real-peers harness: a real Kubernetes control plane (two clusters), node simulators, vcsim and helm.

Importable as ``tests.harness`` under pytest (pyproject puts ``plugins`` and ``.`` on the path) and as
``python -m tests.harness`` from the repo root, where ``plugins`` is not on ``sys.path`` yet — so we add
it here, once, instead of asking every caller to set ``PYTHONPATH``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
if str(_PLUGINS) not in sys.path:
    try:
        import fateops  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(_PLUGINS))
