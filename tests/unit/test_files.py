"""fateops.files.write_atomic: readers see the old or the new file, and the file keeps its mode."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from fateops.files import NEW_FILE_MODE, write_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_is_readable_by_others_and_its_directory_is_made(tmp_path: Path) -> None:
    target = tmp_path / "conf" / "route_table.yaml"
    write_atomic(target, b"9999: {}\n")
    assert target.read_bytes() == b"9999: {}\n"
    assert _mode(target) == NEW_FILE_MODE  # not mkstemp's 0600: FATE Flow or a container user reads it
    assert [p.name for p in target.parent.iterdir()] == ["route_table.yaml"]  # no temp file left


def test_a_rewrite_keeps_the_files_mode(tmp_path: Path) -> None:
    target = tmp_path / "settings.py"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, b"new")
    assert target.read_text() == "new" and _mode(target) == 0o640


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "slots.json"
    target.write_text("{}")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_text() == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["slots.json"]
