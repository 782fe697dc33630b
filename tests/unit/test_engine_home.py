"""The engine's home handling: FATE Flow's settings follow $FATEOPS_FATE_HOME (one venv, many homes),
rewrites never touch a hard-linked file in place, and the server gets a scrubbed environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from fateops.engine.home import HOME_ENV, EngineConfig, make_settings_home_aware, prepare_home
from fateops.engine.install import EngineInstall
from fateops.engine.process import engine_environment

SETTINGS = '''# a copy of fate_flow/settings.py's directory block
LOG_DIR = ""
DATA_DIR = ""
MODEL_DIR = "/old/model"
JOB_DIR = ""
DEFAULT_SERVER_CONF_PATH = ""
UPLOAD_DATA_HOME = ""
SQLITE_FILE_NAME = "fate_flow_sqlite.db"
OTHER = 1
'''


def _fake_install(tmp_path: Path) -> EngineInstall:
    install = EngineInstall(tmp_path / "engine")
    pkg = install.site_packages / "fate_flow"
    (pkg / "conf").mkdir(parents=True)
    (pkg / "settings.py").write_text(SETTINGS)
    (pkg / "conf" / "service_conf.yaml").write_text(yaml.safe_dump({
        "fateflow": {"host": "0.0.0.0", "http_port": 1, "grpc_port": 2},
        "computing": {"standalone": {"cores": 32}},
    }))
    return install


def _settings_under(install: EngineInstall, home: str) -> dict[str, object]:
    keys = "('DATA_DIR', 'LOG_DIR', 'SQLITE_FILE_NAME', 'OTHER')"
    code = f"import runpy, json, sys; g = runpy.run_path(sys.argv[1]); print(json.dumps({{k: g[k] for k in {keys}}}))"
    env = {**os.environ, HOME_ENV: home} if home else {k: v for k, v in os.environ.items() if k != HOME_ENV}
    out = subprocess.run([sys.executable, "-c", code, str(install.site_packages / "fate_flow" / "settings.py")],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_settings_follow_the_home_of_each_process(tmp_path: Path) -> None:
    install = _fake_install(tmp_path)
    make_settings_home_aware(install)
    assert _settings_under(install, "/homes/a") == {"DATA_DIR": "/homes/a/data", "LOG_DIR": "/homes/a/logs",
                                                    "SQLITE_FILE_NAME": "/homes/a/fate_flow_sqlite.db", "OTHER": 1}
    assert _settings_under(install, "/homes/b")["DATA_DIR"] == "/homes/b/data"
    assert _settings_under(install, "")["DATA_DIR"] == "", "without the variable FATE keeps its own default"


def test_rewrite_is_idempotent_and_breaks_hard_links(tmp_path: Path) -> None:
    install = _fake_install(tmp_path)
    settings = install.site_packages / "fate_flow" / "settings.py"
    twin = tmp_path / "uv-cache-copy.py"
    os.link(settings, twin)
    make_settings_home_aware(install)
    once = settings.read_text()
    make_settings_home_aware(install)
    assert settings.read_text() == once
    assert twin.read_text() == SETTINGS, "the hard-linked twin (uv's cache) must stay untouched"


def test_prepare_home_writes_loopback_ports_into_the_home_conf(tmp_path: Path) -> None:
    install = _fake_install(tmp_path)
    config = EngineConfig(port=9999, grpc_port=9998, cores=8, home=tmp_path / "home")
    home = prepare_home(install, config)
    conf = yaml.safe_load((home / "conf" / "service_conf.yaml").read_text())
    assert conf["fateflow"] == {"host": "127.0.0.1", "http_port": 9999, "grpc_port": 9998}
    assert conf["computing"]["standalone"]["cores"] == 8
    assert all((home / d).is_dir() for d in ("logs", "data", "model", "jobs", "upload"))


def test_engine_environment_is_scrubbed(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRFLOW_CONN_SECRET_DB", "postgresql://user:hunter2@db/x")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    install = EngineInstall(tmp_path / "engine")
    env = engine_environment(install, tmp_path / "home")
    assert env[HOME_ENV] == str(tmp_path / "home")
    assert env["PATH"].startswith(str(install.venv / "bin"))
    assert "AIRFLOW_CONN_SECRET_DB" not in env and "PYTHONPATH" not in env
