"""The federation config: the shipped files validate; every kind of mistake is named with its field and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fateops.exceptions import ConfigError
from fateops.federation import load_federation, parse_federation
from fateops.paths import CONFIGS_DIR


def _two_parties(**overrides: object) -> dict:
    data = {
        "name": "t",
        "parties": [{"party_id": 9999, "roles": ["guest"]}, {"party_id": 10000, "roles": ["host"]}],
    }
    data.update(overrides)
    return data


def test_local_federation_file_describes_the_seed_roles() -> None:
    federation = load_federation()
    assert federation.guest.party_id == 9999
    assert [h.party_id for h in federation.hosts] == [10000]
    assert federation.arbiter.party_id == 9999
    assert federation.backends == {"local"}
    assert [(g.party_id, h.party_id) for g, h in federation.guest_host_pairs()] == [(9999, 10000)]


@pytest.mark.parametrize("path", sorted(CONFIGS_DIR.glob("federation.*.yaml")), ids=lambda p: p.name)
def test_every_shipped_federation_file_is_valid(path: Path) -> None:
    assert load_federation(path).parties


def test_duplicate_party_id_is_refused_with_the_fix() -> None:
    data = _two_parties()
    data["parties"][1]["party_id"] = 9999
    with pytest.raises(ConfigError, match="duplicate party_id 9999") as err:
        parse_federation(data)
    assert err.value.fix
    assert (err.value.field, err.value.value) == ("parties.1.party_id", 9999)  # the second one, not "<root>"


@pytest.mark.parametrize(("overrides", "field", "value", "message"), [
    ({"initiator": 5}, "initiator", 5, "initiator 5 is not one of the parties"),
    ({"initiator": 10000}, "initiator", 10000, "initiator 10000 does not have the 'guest' role"),
    ({"parties": [{"party_id": 1, "roles": ["host"]}, {"party_id": 2, "roles": ["host"]}]}, "parties", None,
     "no party has the 'guest' role"),
    ({"parties": [{"party_id": 1, "roles": ["guest"]},
                  {"party_id": 2, "roles": ["host"], "backend": "kubernetes",
                   "kubernetes": {"connection": "k", "namespace": "fate-2"}}]}, "exchange", None,
     "need an 'exchange:' block"),
])
def test_cross_field_rules_name_the_field_at_fault(overrides: dict, field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        parse_federation(_two_parties(**overrides))
    assert (err.value.field, err.value.value) == (field, value)


def test_a_typo_names_the_field() -> None:
    data = _two_parties()
    data["parties"][0]["rolse"] = ["guest"]
    with pytest.raises(ConfigError) as err:
        parse_federation(data)
    assert err.value.field is not None and "rolse" in err.value.field
    assert "unknown field" in str(err.value)


def test_a_bad_value_is_shown() -> None:
    data = _two_parties()
    data["parties"][0]["roles"] = ["guset"]
    with pytest.raises(ConfigError) as err:
        parse_federation(data)
    assert err.value.field == "parties.0.roles.0"
    assert err.value.value == "guset"


def test_kubernetes_party_without_placement_is_refused() -> None:
    data = _two_parties()
    data["parties"][0]["backend"] = "kubernetes"
    with pytest.raises(ConfigError, match="no 'kubernetes:' block"):
        parse_federation(data)


def test_no_host_is_refused() -> None:
    data = _two_parties()
    data["parties"][1]["roles"] = ["guest"]
    with pytest.raises(ConfigError, match="'host' role"):
        parse_federation(data)


def test_unknown_party_lookup_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="9999, 10000"):
        load_federation().party(1234)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "federation.bad.yaml"
    bad.write_text("name: x\nparties: [\n  - party_id: 1\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_federation(bad)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found") as err:
        load_federation(tmp_path / "nope.yaml")
    assert err.value.field == "path"


def test_round_trip_through_yaml(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(yaml.safe_dump(_two_parties(initiator=9999)))
    assert load_federation(path).guest.party_id == 9999
