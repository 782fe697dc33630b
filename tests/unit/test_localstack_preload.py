"""The scheduler's preload launcher: what it imports, how it is switched off, and that the stack uses it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from fateops.localstack import AirflowStack
from fateops.localstack.preload import PRELOAD, modules_to_preload, preload


def test_every_preloaded_module_exists_in_this_environment() -> None:
    # a renamed module would only be logged by the scheduler (never fatal): catch it here instead
    missing = [name for name in PRELOAD if importlib.util.find_spec(name) is None]
    assert missing == []


def test_the_setting_selects_the_list_or_switches_preloading_off() -> None:
    assert modules_to_preload(None) == PRELOAD
    assert modules_to_preload("  ") == PRELOAD
    assert modules_to_preload("none") == ()
    assert modules_to_preload("NONE") == ()
    assert modules_to_preload("json, csv,,") == ("json", "csv")


def test_a_module_that_cannot_be_imported_is_reported_not_raised() -> None:
    sys.modules.pop("colorsys", None)
    failed = preload(("colorsys", "fateops_no_such_module"))
    assert "colorsys" in sys.modules
    assert len(failed) == 1 and failed[0].startswith("fateops_no_such_module: ModuleNotFoundError")


def test_only_the_scheduler_starts_through_the_launcher(tmp_path: Path) -> None:
    stack = AirflowStack(port=18080, home=tmp_path, bin_dir=Path("/opt/venv/bin"))
    assert stack.command("scheduler", ["scheduler", "--skip-serve-logs"]) == [
        "/opt/venv/bin/python", "-m", "fateops.localstack.preload", "scheduler", "--skip-serve-logs"]
    assert stack.command("triggerer", ["triggerer"]) == ["/opt/venv/bin/airflow", "triggerer"]
