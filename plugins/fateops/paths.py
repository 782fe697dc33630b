"""Where fateops keeps things on disk.

Three places, each overridable by an environment variable so CI, the demo and a user's shell agree:

* the *cache* (``FATEOPS_CACHE_DIR``, default ``~/.cache/fateops``): heavy, rebuildable artefacts
  shared by every checkout — the FATE engine venv, built Kubernetes binaries, helm, vcsim;
* the *state* dir (``FATEOPS_STATE_DIR``, default ``<project>/.fateops``): this checkout's running
  things — engine home, pid files, Airflow home, logs;
* the *data* and *reports* dirs under the state dir unless ``FATEOPS_DATA_DIR`` /
  ``FATEOPS_REPORTS_DIR`` say otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INCLUDE_DIR = PROJECT_ROOT / "include"
CONFIGS_DIR = INCLUDE_DIR / "configs"
CHARTS_DIR = INCLUDE_DIR / "charts"


def _dir_from_env(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


def cache_dir() -> Path:
    """Root of rebuildable, shareable artefacts (never holds user data)."""
    return _dir_from_env("FATEOPS_CACHE_DIR", Path.home() / ".cache" / "fateops")


def state_dir() -> Path:
    """Root of this checkout's mutable state (pid files, engine home, Airflow home)."""
    return _dir_from_env("FATEOPS_STATE_DIR", PROJECT_ROOT / ".fateops")


def data_dir() -> Path:
    """Root of per-party data directories (``<data_dir>/<party_id>/...``)."""
    return _dir_from_env("FATEOPS_DATA_DIR", state_dir() / "data")


def reports_dir() -> Path:
    """Where run reports, scorecards and validation artefacts are written."""
    return _dir_from_env("FATEOPS_REPORTS_DIR", state_dir() / "reports")
