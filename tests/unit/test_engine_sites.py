"""The two-site local topology as configured (no daemons: see tests/integration/test_multisite.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fateops.engine.home import EngineConfig, prepare_home
from fateops.engine.install import EngineInstall
from fateops.engine.sites import LocalSites, SitePorts, uses_sites
from fateops.exceptions import ConfigError
from fateops.federation import load_federation
from fateops.paths import CONFIGS_DIR


@pytest.fixture
def ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for var, base in (("FATEOPS_SITES_HTTP_PORT", 19381), ("FATEOPS_SITES_GRPC_PORT", 19361),
                      ("FATEOPS_SITES_AMQP_PORT", 15672), ("FATEOPS_SITES_MGMT_PORT", 25672),
                      ("FATEOPS_SITES_DIST_PORT", 35672)):
        monkeypatch.setenv(var, str(base))
    monkeypatch.setenv("FATEOPS_EXCHANGE_PORT", "19370")


def test_the_default_config_runs_a_site_per_party_and_the_single_one_does_not() -> None:
    assert uses_sites(load_federation("federation.local.yaml"))
    single = load_federation("federation.single.yaml")
    assert not uses_sites(single)
    with pytest.raises(ConfigError, match="local_sites"):
        LocalSites(single)


def test_each_party_gets_its_own_ports_folder_and_broker(ports: None, tmp_path: Path) -> None:
    sites = LocalSites(load_federation("federation.local.yaml"), root=tmp_path)
    a, b = sites.site(9999), sites.site(10000)
    assert a.ports == SitePorts(19381, 19361, 15672, 25672, 35672)
    assert b.ports == SitePorts(19382, 19362, 15673, 25673, 35673)
    assert a.engine.pid_file != b.engine.pid_file and a.engine.pid_file.is_relative_to(tmp_path / "sites" / "9999")
    assert a.broker.node != b.broker.node
    assert sites.exchange.port == 19370
    assert sites.route_table().as_dict() == {"9999": "127.0.0.1:19381", "10000": "127.0.0.1:19382"}
    with pytest.raises(ConfigError, match="not a local party"):
        sites.site(4242)


def test_a_site_home_is_written_in_multi_party_mode(ports: None, tmp_path: Path) -> None:
    install = EngineInstall.default()
    if not install.is_installed():
        pytest.skip("needs the engine venv's conf templates (`make engine`)")
    site = LocalSites(load_federation("federation.local.yaml"), root=tmp_path, install=install).site(10000)
    config: EngineConfig = site.engine.config
    home = prepare_home(install, config)
    conf = yaml.safe_load((home / "conf" / "service_conf.yaml").read_text())
    assert conf["party_id"] == "10000" and conf["fateflow"]["proxy_name"] == "nginx"
    assert conf["fateflow"]["http_port"] == 19382
    assert conf["default_engines"] == {"computing": "standalone", "federation": "rabbitmq", "storage": "standalone"}
    assert conf["federation"]["nginx"]["http_port"] == 19370
    assert conf["federation"]["rabbitmq"]["port"] == 15673 and conf["federation"]["rabbitmq"]["mode"] == "replication"
    routes = yaml.safe_load((home / "conf" / "rabbitmq_route_table.yaml").read_text())
    assert routes == {"9999": {"host": "127.0.0.1", "port": 15672}, "10000": {"host": "127.0.0.1", "port": 15673}}


def test_federating_a_new_party_rewrites_the_prepared_sites_broker_tables(ports: None, tmp_path: Path) -> None:
    install = EngineInstall.default()
    if not install.is_installed():
        pytest.skip("needs the engine venv's conf templates (`make engine`)")
    two = load_federation("federation.local.yaml")
    for site in LocalSites(two, root=tmp_path, install=install).sites():
        prepare_home(install, site.engine.config)
    config = yaml.safe_load((Path(__file__).parents[2] / "include/configs/federation.local.yaml").read_text())
    config["parties"].append({"party_id": 10001, "name": "bank-c", "roles": ["host"], "backend": "local",
                              "connection": "fateflow_10001"})
    grown = tmp_path / "federation.three.yaml"
    grown.write_text(yaml.safe_dump(config))
    three = LocalSites(load_federation(str(grown)), root=tmp_path, install=install)

    assert three.sync_broker_routes() == {"9999": True, "10000": True}  # 10001 has no home yet: written at start
    routes = yaml.safe_load((three.site(9999).engine.config.home_dir / "conf" / "rabbitmq_route_table.yaml")
                            .read_text())
    assert routes["10001"] == {"host": "127.0.0.1", "port": 15674}
    assert three.sync_broker_routes() == {"9999": False, "10000": False}  # idempotent


def _grown(tmp_path: Path, *, add: list[int], drop: tuple[int, ...] = ()) -> str:
    """federation.local.yaml with hosts added (and parties dropped), written next to the test's state."""
    config = yaml.safe_load((Path(__file__).parents[2] / "include/configs/federation.local.yaml").read_text())
    config["parties"] = [p for p in config["parties"] if p["party_id"] not in drop]
    config["parties"] += [{"party_id": pid, "name": f"bank-{pid}", "roles": ["host"], "backend": "local",
                           "connection": f"fateflow_{pid}"} for pid in add]
    path = tmp_path / f"federation.{'-'.join(map(str, add))}.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_a_party_joining_with_a_lower_id_leaves_the_running_sites_ports_alone(ports: None, tmp_path: Path) -> None:
    before = LocalSites(load_federation("federation.local.yaml"), root=tmp_path).route_table().as_dict()
    assert before == {"9999": "127.0.0.1:19381", "10000": "127.0.0.1:19382"}
    after = LocalSites(load_federation(_grown(tmp_path, add=[9000])), root=tmp_path)
    # 9000 sorts first but takes the next free slot; the running banks keep theirs (and their brokers' ports)
    assert after.route_table().as_dict() == {**before, "9000": "127.0.0.1:19383"}
    assert after.site(9000).ports.amqp == 15674 and after.site(9999).ports.amqp == 15672
    assert (tmp_path / "sites" / "slots.json").is_file()


def test_slots_are_handed_out_in_id_order_kept_and_freed_only_with_the_site_folder() -> None:
    from fateops.engine.sites import assign_slots

    assert assign_slots([10000, 9999], {}) == {9999: 0, 10000: 1}  # a fresh state: the order by id
    assert assign_slots([9000, 9999, 10000], {9999: 0, 10000: 1}) == {9000: 2, 9999: 0, 10000: 1}
    # 10000 left the federation: its slot stays reserved while its site folder exists (it may still run) …
    assert assign_slots([9999, 9000], {9999: 0, 10000: 1}, site_exists=[9999, 10000]) == {9000: 2, 9999: 0,
                                                                                           10000: 1}
    # … and is handed out again once the folder is gone
    assert assign_slots([9999, 9000], {9999: 0, 10000: 1}, site_exists=[9999]) == {9000: 1, 9999: 0}


def test_an_unreadable_slots_record_is_refused_with_the_fix(ports: None, tmp_path: Path) -> None:
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "slots.json").write_text("[1, 2")
    with pytest.raises(ConfigError, match=r"slots\.json") as err:
        LocalSites(load_federation("federation.local.yaml"), root=tmp_path)
    assert "delete it with every site stopped" in str(err.value)


def test_a_departed_partys_site_is_purged_and_its_slot_freed_but_a_member_is_refused(
        ports: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from fateops.cli import main

    three = tmp_path / "three.yaml"
    config = yaml.safe_load((CONFIGS_DIR / "federation.local.yaml").read_text())
    config["parties"].append({**config["parties"][-1], "party_id": 10001, "name": "party-c"})
    three.write_text(yaml.safe_dump(config))
    state = tmp_path / "state"
    monkeypatch.setenv("FATEOPS_STATE_DIR", str(state))
    monkeypatch.setenv("FATEOPS_FEDERATION", "federation.local.yaml")
    LocalSites(load_federation(three), root=state)
    for pid in (9999, 10000, 10001):  # what a started site leaves: its folder with a home inside
        (state / "sites" / str(pid) / "engine" / "home").mkdir(parents=True)
    sites = LocalSites(load_federation("federation.local.yaml"), root=state)  # party 10001 left the config
    assert sites.departed() == [10001]
    with pytest.raises(ConfigError, match="still a local party") as refused:
        sites.purge(10000)
    assert "remove party 10000" in refused.value.fix and (state / "sites" / "10000").is_dir()

    report = sites.purge(10001)
    assert report["deleted"] == str(state / "sites" / "10001") and report["slot_freed"] == 2
    assert report["stopped"] == {"fateflow": False, "rabbitmq": False}  # nothing was running
    assert not (state / "sites" / "10001").exists()
    assert json.loads(sites.slots_file.read_text()) == {"9999": 0, "10000": 1}
    assert sites.purge(10001) == {"party_id": 10001, "stopped": {}, "deleted": None, "slot_freed": None}

    # through the CLI: a name that is not an id is a config error (exit 2); `departed` purges what left
    (state / "sites" / "10001").mkdir()
    assert main(["engine", "purge", "--party", "bank-c"]) == 2
    assert "is not a party id" in capsys.readouterr().err
    assert main(["engine", "purge", "--party", "departed"]) == 0
    assert [r["party_id"] for r in json.loads(capsys.readouterr().out)] == [10001]
    assert sorted(p.name for p in (state / "sites").iterdir() if p.is_dir()) == ["10000", "9999"]
