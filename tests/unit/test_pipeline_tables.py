"""Party table names, their Asset URIs and the guest/host order FATE jobs need."""

from __future__ import annotations

import pytest

from fateops.exceptions import ConfigError
from fateops.federation import load_federation, parse_federation
from fateops.pipeline.tables import (
    check_template,
    data_parties,
    party_tables,
    table_name,
    table_uri,
    tables_for_job,
)


def _federation(*parties: dict) -> object:
    return parse_federation({"name": "t", "parties": list(parties)})


def test_default_tables_of_the_local_federation() -> None:
    tables = party_tables(load_federation())
    assert [(t.party_id, t.role, t.split, t.namespace, t.name) for t in tables] == [
        (9999, "guest", "train", "experiment", "creditcard_9999_train"),
        (9999, "guest", "test", "experiment", "creditcard_9999_test"),
        (10000, "host", "train", "experiment", "creditcard_10000_train"),
        (10000, "host", "test", "experiment", "creditcard_10000_test"),
    ]
    assert tables[0].uri == "fate://experiment/creditcard_9999_train" == table_uri("experiment", tables[0].name)
    assert tables[0].as_dict()["uri"] == tables[0].uri


def test_arbiter_only_parties_hold_no_data_and_the_guest_comes_first() -> None:
    federation = _federation({"party_id": 3, "roles": ["host"]}, {"party_id": 1, "roles": ["arbiter"]},
                             {"party_id": 2, "roles": ["guest"]}, {"party_id": 4, "roles": ["host"]})
    assert [p.party_id for p in data_parties(federation)] == [2, 3, 4]
    train = tables_for_job(party_tables(federation, "ns"), "train")
    assert (train.guest.name, [h.name for h in train.hosts]) == (
        "creditcard_2_train", ["creditcard_3_train", "creditcard_4_train"])


def test_the_role_placeholder_gives_the_seeds_style_names() -> None:
    assert table_name("creditcard_{role}_{split}", party_id=9999, role="guest", split="test") == "creditcard_guest_test"
    tables = party_tables(load_federation(), "experiment", "creditcard_{role}_{split}")
    assert {t.name for t in tables} == {"creditcard_guest_train", "creditcard_guest_test", "creditcard_host_train",
                                        "creditcard_host_test"}


def test_role_names_collide_with_two_hosts() -> None:
    federation = _federation({"party_id": 1, "roles": ["guest"]}, {"party_id": 2, "roles": ["host"]},
                             {"party_id": 3, "roles": ["host"]})
    with pytest.raises(ConfigError, match="same table name") as err:
        party_tables(federation, "ns", "cc_{role}_{split}")
    assert "{party_id}" in err.value.fix


@pytest.mark.parametrize(("template", "problem"), [
    ("cc_{party_id}", "must contain {split}"),
    ("cc_{split}", "{party_id} or {role}"),
    ("cc_{bank}_{split}", "unknown placeholder"),
    ("cc_{party_id_{split}", "not a valid name template"),
])
def test_bad_templates_are_refused_naming_the_field(template: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("{", r"\{").replace("}", r"\}")) as err:
        check_template(template)
    assert err.value.field == "table_name_template"


def test_names_fate_would_refuse_are_refused_before_any_job() -> None:
    with pytest.raises(ConfigError, match="table"):
        table_name("cc {party_id} {split}", party_id=1, role="guest", split="train")
    with pytest.raises(ConfigError, match="namespace"):
        party_tables(load_federation(), "bad namespace")
