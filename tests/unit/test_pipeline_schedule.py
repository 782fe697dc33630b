"""fate_retrain's schedule: weekly by default, set by environment at parse time, plus the table Assets."""

from __future__ import annotations

import pytest

from fateops.airflow.assets import default_table_assets, fresh_party_data, table_asset
from fateops.airflow.retrain_schedule import DEFAULT_SCHEDULE, retrain_cron, retrain_timetable
from fateops.exceptions import ConfigError


def test_weekly_by_default() -> None:
    assert retrain_cron({}) == (DEFAULT_SCHEDULE, "default") == ("@weekly", "default")
    assert retrain_timetable({}).expression == "0 0 * * 0"


def test_the_airflow_variable_form_wins_over_the_fateops_one() -> None:
    env = {"AIRFLOW_VAR_FATEOPS_RETRAIN_SCHEDULE": "0 3 * * 1", "FATEOPS_RETRAIN_SCHEDULE": "@daily"}
    assert retrain_cron(env) == ("0 3 * * 1", "AIRFLOW_VAR_FATEOPS_RETRAIN_SCHEDULE")
    assert retrain_cron({"FATEOPS_RETRAIN_SCHEDULE": " @daily "}) == ("@daily", "FATEOPS_RETRAIN_SCHEDULE")


@pytest.mark.parametrize("off", ["none", "OFF", "manual"])
def test_the_time_schedule_can_be_switched_off(off: str) -> None:
    assert retrain_timetable({"FATEOPS_RETRAIN_SCHEDULE": off}) is None


def test_a_bad_expression_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="not a valid cron") as err:
        retrain_timetable({"AIRFLOW_VAR_FATEOPS_RETRAIN_SCHEDULE": "every monday"})
    assert err.value.field == "AIRFLOW_VAR_FATEOPS_RETRAIN_SCHEDULE" and err.value.value == "every monday"


def test_one_asset_per_default_party_table() -> None:
    assert [a.uri for a in default_table_assets()] == [
        "fate://experiment/creditcard_9999_train", "fate://experiment/creditcard_9999_test",
        "fate://experiment/creditcard_10000_train", "fate://experiment/creditcard_10000_test"]
    assert table_asset("experiment", "x").name == "fate://experiment/x"
    condition = fresh_party_data()
    assert sorted(a.uri for a in condition.objects) == sorted(a.uri for a in default_table_assets())
