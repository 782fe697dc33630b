"""Airflow provider metadata: registers the ``fateflow`` connection type (UI form, hook lookup).

Exposed through the ``apache_airflow_provider`` entry point of our package (pyproject.toml), the same
mechanism the official providers use, so Admin → Connections offers "FATE Flow" once fateops is installed.
"""

from __future__ import annotations

from typing import Any

from fateops import __version__


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "fateops",
        "name": "fateops",
        "description": "Operate FATE federated learning (the KubeFATE way) from Airflow.",
        "versions": [__version__],
        "connection-types": [
            {
                "hook-class-name": "fateops.airflow.hooks.FateFlowHook",
                "hook-name": "FATE Flow",
                "connection-type": "fateflow",
                "ui-field-behaviour": {
                    "hidden_fields": ["extra"],
                    "relabeling": {"login": "App id (client auth, optional)",
                                   "password": "App token (client auth, optional)",
                                   "schema": "Scheme (http or https)"},
                    "placeholders": {"host": "127.0.0.1", "port": "9380", "schema": "http"},
                },
                "conn-fields": {
                    "user_name": {"label": "User name (client auth)", "schema": {"type": ["string", "null"]}},
                    "timeout": {"label": "Read timeout (s)", "schema": {"type": ["number", "null"]}},
                },
            }
        ],
    }
