"""`fateops federation FILE` from a newcomer's shell: every mistake is a config error (exit 2) that names
the input and the fix — directories, empty files, typo'd keys, YAML 1.1 booleans — and the connection
ids are checked where the shell can see them, or plainly reported as not checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fateops.cli import main
from fateops.paths import CONFIGS_DIR

TWO_PARTIES = """name: t
parties:
  - party_id: 9999
    {first}
    connection: fateflow_default
    chaos: {chaos}
  - party_id: 10000
    roles: [host]
    connection: fateflow_10000
"""


@pytest.fixture(autouse=True)
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AIRFLOW_CONN_FATEFLOW_DEFAULT", "AIRFLOW_CONN_FATEFLOW_10000"):
        monkeypatch.delenv(name, raising=False)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["federation", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "federation.yaml"
    path.write_text(text)
    return path


def test_a_directory_is_a_config_error_listing_its_yaml_files(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, str(CONFIGS_DIR))
    assert (code, out) == (2, "")
    assert f"path: federation config is a directory, not a file (got '{CONFIGS_DIR}')" in err
    listed = ", ".join(sorted(p.name for p in CONFIGS_DIR.glob("*.yaml")))
    assert "federation.local.yaml" in listed and f"fix: pass one YAML file in it: {listed}" in err


def test_an_empty_file_says_so_and_what_it_must_contain(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _write(tmp_path, "# nothing yet\n")
    code, _, err = _run(capsys, str(path))
    assert code == 2
    assert f"fateops: {path}: the file is empty (no YAML content)" in err
    assert "fix: a federation config must contain `name:` and `parties:` (two or more, each with `party_id` and " \
           "`roles`" in err and "federation.local.yaml" in err


def test_a_typo_d_key_is_shown_first_with_did_you_mean_and_every_other_problem(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _write(tmp_path, TWO_PARTIES.format(first="role: [guest]", chaos="allowed"))
    code, _, err = _run(capsys, str(path))
    assert code == 2
    assert err.startswith(f"fateops: parties.0.role: {path}: unknown field (typo?) — did you mean `roles`? "
                          "(+1 more: parties.0.roles: required field is missing)")
    assert "too short" not in err.lower()  # the list's length follows from the item: not a problem of its own


def test_a_yaml_1_1_boolean_in_a_word_field_is_named_as_written(capsys: pytest.CaptureFixture[str],
                                                                tmp_path: Path) -> None:
    path = _write(tmp_path, TWO_PARTIES.format(first="roles: [guest]", chaos="yes"))
    code, _, err = _run(capsys, str(path))
    assert code == 2
    assert (f"fateops: parties.0.chaos: {path}: `yes` is a YAML 1.1 boolean (true), not one of 'allowed' or "
            "'forbidden' — write the word itself (got 'yes') — fix: see include/configs/README.md") in err


def test_connections_in_the_environment_are_checked_the_rest_reported_not_checked(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FATEFLOW_DEFAULT", "fateflow://127.0.0.1:9")
    path = _write(tmp_path, TWO_PARTIES.format(first="roles: [guest]", chaos="allowed"))
    code, out, err = _run(capsys, str(path))
    assert code == 0 and json.loads(out)["name"] == "t"
    assert "connection fateflow_default: found (env AIRFLOW_CONN_FATEFLOW_DEFAULT)" in err
    assert "connections NOT checked: fateflow_10000 (parties[10000].connection)" in err
    assert "--airflow" in err


def test_a_party_id_that_is_not_a_number_names_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    from fateops.exceptions import ConfigError
    from fateops.federation import load_federation

    with pytest.raises(ConfigError, match="use one of: 9999, 10000") as err:
        load_federation().party("abc")
    assert (err.value.field, err.value.value) == ("party_id", "abc")


@pytest.mark.parametrize(("line", "edited"), [("chaos: allowed", "chaos: yes"), ("roles:", "role:")])
def test_the_errors_documented_in_the_config_readme_are_what_is_printed(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, line: str, edited: str) -> None:
    text = (CONFIGS_DIR / "federation.local.yaml").read_text().replace(line, edited, 1)
    path = _write(tmp_path, text)
    code, _, err = _run(capsys, str(path))
    documented = err.strip().replace(str(path), "/srv/fateops/federation.yaml")
    assert code == 2 and documented in (CONFIGS_DIR / "README.md").read_text()
