"""Airflow Assets for the parties' FATE tables: ``fate://<namespace>/<name>``, one per table.

The upload step publishes an asset event for exactly the tables it uploaded and verified, through
the alias :data:`PARTY_TABLES` — the names depend on the run's Params, so they cannot be fixed at
parse time. Consumers (the retraining DAG) schedule on the concrete assets of the *default* tables
(default federation, namespace and name template), read at parse time from the federation YAML:
cheap, and no database access while parsing.
"""

from __future__ import annotations

from functools import cache

from airflow.sdk import Asset, AssetAlias, AssetAll

from fateops.pipeline.tables import (
    DEFAULT_NAME_TEMPLATE,
    DEFAULT_NAMESPACE,
    SPLITS,
    PartyTable,
    Split,
    party_tables,
    table_uri,
)

PARTY_TABLES = AssetAlias("fateops-party-tables")
"""Every party table an upload task publishes goes through this alias (see :func:`publish`)."""


def table_asset(namespace: str, name: str) -> Asset:
    """The Asset of a FATE table; its name is its URI so UI search by either finds it."""
    uri = table_uri(namespace, name)
    return Asset(name=uri, uri=uri)


@cache
def default_tables(federation: str | None = None) -> tuple[PartyTable, ...]:
    """The party tables of a federation config under the default namespace and template."""
    from fateops.federation import load_federation

    return tuple(party_tables(load_federation(federation), DEFAULT_NAMESPACE, DEFAULT_NAME_TEMPLATE))


def default_table_assets(splits: tuple[Split, ...] = SPLITS, federation: str | None = None) -> list[Asset]:
    return [table_asset(t.namespace, t.name) for t in default_tables(federation) if t.split in splits]


def fresh_party_data(federation: str | None = None) -> AssetAll:
    """"Every party has uploaded new train *and* test tables" — the retraining trigger.

    An all-of condition: one prepare run updates every table, and a retrain should start once, when
    the last of them has landed, not once per table.
    """
    return AssetAll(*default_table_assets(federation=federation))
