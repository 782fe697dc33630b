"""The post-upload check: the FATE table must hold exactly the prepared file's rows and schema."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from fateops.data import schema
from fateops.fate.models import TableInfo
from fateops.pipeline.upload import TableCheckFailed, count_rows, prepared_meta, verify_table

GOOD = TableInfo(namespace="ns", name="t", count=120, engine="standalone", data_type="dataframe",
                 columns=schema.FEATURE_COLUMNS, label_name="Class", match_id_name="id")


class Tables:
    """Answers ``table_query`` like FATE Flow's client: the table, or None when it does not exist."""

    def __init__(self, table: TableInfo | None) -> None:
        self.table = table

    def table_query(self, namespace: str, name: str) -> TableInfo | None:
        return self.table


def test_meta_names_the_prepared_id_and_label() -> None:
    assert prepared_meta() == {"delimiter": ",", "dtype": "float64", "match_id_name": "id", "label_name": "Class",
                               "label_type": "int64"}


def test_count_rows_excludes_the_header(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,x\n" + "".join(f"{i},0.5\n" for i in range(1, 121)))
    assert count_rows(path) == 120
    path.write_text("id,x\n")
    assert count_rows(path) == 0


def test_a_matching_table_passes() -> None:
    assert verify_table(Tables(GOOD), "ns", "t", 120) is GOOD


@pytest.mark.parametrize(("table", "problem"), [
    (None, "does not exist"),
    (replace(GOOD, count=119), "119 rows where the prepared file has 120"),
    (replace(GOOD, label_name=None), "label is None"),
    (replace(GOOD, match_id_name="sid"), "match id is 'sid'"),
    (replace(GOOD, columns=GOOD.columns[:-1]), "V28"),
])
def test_a_different_table_fails_naming_the_difference(table: TableInfo | None, problem: str) -> None:
    with pytest.raises(TableCheckFailed, match=problem) as err:
        verify_table(Tables(table), "ns", "t", 120)
    assert "table ns/t" in str(err.value)
