"""Which of a federation's Airflow connection ids exist where the shell can see them — without Airflow.

``fateops federation FILE`` runs where Airflow may not be installed (a laptop, the ops image). It checks
what it can see: ``AIRFLOW_CONN_<ID>`` environment variables always, and Airflow's metadata DB when asked
(``--airflow``: ``airflow connections list``, so the DB settings are Airflow's own). Whatever it could not
check is reported as *not checked*, never as fine; the DAGs' ``validate_federation`` checks again at run time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fateops.exceptions import ConfigError
from fateops.federation import Federation

__all__ = ["ConnectionCheck", "airflow_connection_ids", "check_federation_connections", "connection_fields"]

AIRFLOW_LIST_TIMEOUT_S = 120.0


def connection_fields(federation: Federation) -> dict[str, str]:
    """Every connection id the config names → the config field that names it (first one wins)."""
    where: dict[str, str] = {}
    for party in federation.parties:
        if party.connection:
            where.setdefault(party.connection, f"parties[{party.party_id}].connection")
        if party.kubernetes:
            where.setdefault(party.kubernetes.connection, f"parties[{party.party_id}].kubernetes.connection")
    if federation.exchange:
        where.setdefault(federation.exchange.kubernetes.connection, "exchange.kubernetes.connection")
    return where


def env_var(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


@dataclass(frozen=True)
class ConnectionCheck:
    """Where each connection id was found (``env``/``metadata DB``), and the ids nobody could check."""

    found: dict[str, str] = field(default_factory=dict)
    unchecked: dict[str, str] = field(default_factory=dict)  # conn id -> config field

    def lines(self) -> list[str]:
        """What the CLI prints (to stderr, so the config on stdout stays machine-readable)."""
        out = [f"connection {c}: found ({where})" for c, where in sorted(self.found.items())]
        if self.unchecked:
            out.append("connections NOT checked: " + ", ".join(f"{c} ({f})" for c, f in sorted(self.unchecked.items()))
                       + " — not set as AIRFLOW_CONN_<ID> here; run `fateops federation --airflow FILE` to look them "
                         "up in Airflow's metadata DB (the DAGs' validate_federation checks them when they run)")
        return out


def airflow_connection_ids(env: Mapping[str, str] | None = None) -> set[str]:
    """The connection ids in Airflow's metadata DB, via Airflow's own CLI (its settings, its DB)."""
    airflow = shutil.which("airflow") or str(Path(sys.executable).parent / "airflow")
    try:
        done = subprocess.run([airflow, "connections", "list", "-o", "json"], capture_output=True, text=True,
                              timeout=AIRFLOW_LIST_TIMEOUT_S, env=dict(env or os.environ), check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ConfigError(f"could not list Airflow's connections: {err}",
                          fix="install Airflow here or drop --airflow; check AIRFLOW_HOME and `airflow db check`"
                          ) from None
    if done.returncode != 0:
        raise ConfigError(f"`airflow connections list` failed: {done.stderr.strip()[-300:]}",
                          fix="check AIRFLOW_HOME / the metadata DB settings (`airflow db check`)")
    text = done.stdout.strip()
    rows = json.loads(text[text.index("["):]) if "[" in text else []
    return {str(row["conn_id"]) for row in rows if isinstance(row, dict) and "conn_id" in row}


def check_federation_connections(federation: Federation, *, env: Mapping[str, str] | None = None,
                                 airflow_db: bool = False) -> ConnectionCheck:
    """Check the ids against the environment (and the metadata DB); a missing one is a ConfigError.

    Without ``airflow_db`` an id absent from the environment may still live in the DB: it is reported
    as not checked rather than refused.
    """
    env = os.environ if env is None else env
    wanted = connection_fields(federation)
    found = {c: "env " + env_var(c) for c in wanted if env_var(c) in env}
    rest = {c: f for c, f in wanted.items() if c not in found}
    if rest and airflow_db:
        in_db = airflow_connection_ids(env)
        missing = {c: f for c, f in rest.items() if c not in in_db}
        if missing:
            conn_id, where = sorted(missing.items())[0]
            others = f" (also missing: {', '.join(sorted(missing)[1:])})" if len(missing) > 1 else ""
            raise ConfigError(f"unknown Airflow connection {conn_id!r}: not in the environment nor in Airflow's "
                              f"metadata DB{others}", field=where, value=conn_id,
                              fix=f"create it in Admin → Connections, with `airflow connections add {conn_id} …` "
                                  f"or as {env_var(conn_id)}")
        found |= {c: "metadata DB" for c in rest}
        rest = {}
    return ConnectionCheck(found=found, unchecked=rest)
