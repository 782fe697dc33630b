"""Which FATE table holds which party's prepared data, and the Asset URI that names it.

Every party with data (the guest and the hosts; an arbiter-only party holds none) uploads two
tables: its ``train`` rows and its held-out ``test`` rows. Their names come from a template the
DAG Params carry (default ``creditcard_{party_id}_{split}`` in namespace ``experiment``, the seed's
namespace), so the prepare, train, predict and retrain DAGs all derive the same names from the same
two Params and never pass table names around by hand. ``{role}`` is also accepted, for people who
prefer the seed's ``creditcard_guest`` style with a single host.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from fateops.exceptions import ConfigError
from fateops.fate.jobs import PartyTables, TableRef
from fateops.federation import Federation, Party

Split = Literal["train", "test"]
DataRole = Literal["guest", "host"]

DEFAULT_NAMESPACE = "experiment"
DEFAULT_NAME_TEMPLATE = "creditcard_{party_id}_{split}"
SPLITS: tuple[Split, ...] = ("train", "test")
ASSET_SCHEME = "fate"
_PLACEHOLDERS = frozenset({"party_id", "role", "split"})


@dataclass(frozen=True)
class PartyTable:
    """One party's uploaded table: whose, which split, where in FATE."""

    party_id: int
    role: DataRole
    split: Split
    namespace: str
    name: str

    @property
    def ref(self) -> TableRef:
        return TableRef(self.namespace, self.name)

    @property
    def uri(self) -> str:
        return table_uri(self.namespace, self.name)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "uri": self.uri}


def table_uri(namespace: str, name: str) -> str:
    """``fate://<namespace>/<name>``: the Airflow Asset of a FATE table."""
    return f"{ASSET_SCHEME}://{namespace}/{name}"


def check_template(template: str) -> str:
    """Refuse a name template with unknown or missing placeholders before anything runs."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ConfigError(f"not a valid name template: {exc}", field="table_name_template", value=template,
                          fix="use placeholders such as creditcard_{party_id}_{split}") from None
    unknown = sorted(fields - _PLACEHOLDERS)
    if unknown:
        raise ConfigError(f"unknown placeholder(s) {unknown}", field="table_name_template", value=template,
                          fix=f"use only {{{'}, {'.join(sorted(_PLACEHOLDERS))}}}")
    if "split" not in fields:
        raise ConfigError("the template must contain {split}: train and test need different tables",
                          field="table_name_template", value=template)
    if not fields & {"party_id", "role"}:
        raise ConfigError("the template must contain {party_id} or {role}: each party needs its own table",
                          field="table_name_template", value=template)
    return template


def table_name(template: str, *, party_id: int, role: DataRole, split: Split) -> str:
    """The table name of one party's split (validated as a FATE table name)."""
    name = check_template(template).format(party_id=party_id, role=role, split=split)
    TableRef(DEFAULT_NAMESPACE, name)  # raises ConfigError naming the rule if FATE would refuse it
    return name


def data_role(party: Party) -> DataRole | None:
    """What data a party holds in a homo job: guest or host rows; None for an arbiter-only party."""
    if "guest" in party.roles:
        return "guest"
    if "host" in party.roles:
        return "host"
    return None


def data_parties(federation: Federation) -> list[Party]:
    """The parties that hold data: the guest first, then the hosts (FATE's order)."""
    return [federation.guest, *(h for h in federation.hosts if h.party_id != federation.guest.party_id)]


def party_tables(federation: Federation, namespace: str = DEFAULT_NAMESPACE,
                 template: str = DEFAULT_NAME_TEMPLATE, splits: Iterable[Split] = SPLITS) -> list[PartyTable]:
    """Every data party's tables, guest first; names must be distinct (a template without
    ``{party_id}`` and several hosts would collide, and is refused)."""
    TableRef(namespace, "x")  # validate the namespace once, with FATE's rule
    tables = []
    for party in data_parties(federation):
        role = data_role(party)
        assert role is not None  # data_parties only returns guest/host parties
        for split in splits:
            tables.append(PartyTable(party.party_id, role, split, namespace,
                                     table_name(template, party_id=party.party_id, role=role, split=split)))
    names = [t.name for t in tables]
    if len(set(names)) != len(names):
        raise ConfigError("the template gives two parties the same table name", field="table_name_template",
                          value=template, fix="include {party_id} in the template")
    return tables


def tables_for_job(tables: Iterable[PartyTable], split: Split) -> PartyTables:
    """The ``split`` tables as a FATE job wants them: the guest's and each host's, in order."""
    chosen = [t for t in tables if t.split == split]
    guests = [t.ref for t in chosen if t.role == "guest"]
    if len(guests) != 1:
        raise ConfigError(f"exactly one guest {split} table is needed", field="tables",
                          value=[t.uri for t in chosen])
    return PartyTables(guests[0], tuple(t.ref for t in chosen if t.role == "host"))
