"""`fateops federation --airflow FILE` looks the connection ids up in Airflow's real metadata DB (the
test's migrated SQLite, through Airflow's own CLI): ids set nowhere are a config error naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from fateops.cli import main
from fateops.paths import CONFIGS_DIR

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(300)]


def test_unknown_connections_are_refused_against_the_metadata_db(capsys: pytest.CaptureFixture[str],
                                                                 airflow_db: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_K8S_EXCHANGE", '{"conn_type": "kubernetes", "extra": {"in_cluster": true}}')
    code = main(["federation", "--airflow", str(CONFIGS_DIR / "federation.tanzu.yaml")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert ("fateops: parties[30000].connection: unknown Airflow connection 'fateflow_30000': not in the environment "
            "nor in Airflow's metadata DB (also missing: fateflow_40000, k8s_party_30000, k8s_party_40000)") in err
    assert "k8s_exchange," not in err  # found in the environment
    assert "fix: create it in Admin → Connections" in err and "AIRFLOW_CONN_FATEFLOW_30000" in err
