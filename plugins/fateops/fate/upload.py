"""Upload metadata for FATE 2.2 dataframes, checked against the CSV before anything is sent.

FATE's upload converts a CSV into a dataframe table in a background job; a wrong ``match_id_name`` or
``label_name`` only shows up minutes later as a failed ``transformer_0``. Checking the header first
turns that into an immediate error naming the column.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fateops.exceptions import ConfigError, DataValidationError

__all__ = ["check_csv", "csv_meta"]


def csv_meta(*, match_id_name: str = "id", label_name: str | None = "y", delimiter: str = ",",
             dtype: str = "float64", label_type: str = "int64") -> dict[str, Any]:
    """``meta`` for a dense CSV: labelled (guest/homo parties) or, with ``label_name=None``, unlabelled."""
    meta: dict[str, Any] = {"delimiter": delimiter, "dtype": dtype, "match_id_name": match_id_name}
    if label_name:
        meta.update(label_name=label_name, label_type=label_type)
    else:
        meta["input_format"] = "dense"
    return meta


def check_csv(path: Path, meta: Mapping[str, Any], *, head: bool = True) -> list[str]:
    """Validate an upload before sending it; returns the CSV header (empty when ``head`` is false).

    Raises :class:`ConfigError` for bad meta and :class:`DataValidationError` naming the missing column
    or the unreadable file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"upload file {path} does not exist", fix="prepare the party's data first")
    try:
        json.dumps(dict(meta))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"meta must be JSON-serialisable: {exc}", field="meta") from exc
    if not meta.get("match_id_name"):
        raise ConfigError("meta needs match_id_name (the id column)", field="meta.match_id_name", value=None)
    if not head:
        return []
    delimiter = str(meta.get("delimiter") or ",")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle, delimiter=delimiter), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise DataValidationError(f"cannot read the header of {path}: {exc}") from exc
    header = [h.strip() for h in header]
    for key in ("match_id_name", "label_name"):
        column = meta.get(key)
        if column and column not in header:
            raise DataValidationError(
                f"{path.name}: column {column!r} (meta.{key}) is not in the header {header[:12]}",
                fix=f"rename the column in the file or set meta.{key} to one of the header names",
            )
    return header
