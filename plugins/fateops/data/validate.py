"""The validation gate: a prepared party table must pass the expectation suite before upload.

Great Expectations 1.x is used directly — an ephemeral, in-memory context with a pandas datasource,
analytics off, progress bars off — not the Airflow GX provider (it pins an old structlog and loads
data at DAG-parse time). GX is imported lazily: it costs seconds, and only this step needs it.

The suite lives in ``include/configs/expectations/creditcard_party.json``, a GX suite with notes in
its ``meta``, ``{"$PARAMETER": ...}`` bounds whose defaults sit in ``meta.parameters`` (a caller may
override them by name) and one fateops extension, ``for_each_column_in``, that repeats an
expectation over a named column group so the file stays short enough to read.

Whatever the outcome, the full validation result is written as JSON to the path the caller gives
(under the reports dir); a failure raises :class:`ExpectationsFailed` with a readable summary —
which expectation, how many rows, up to five examples with their ``id``.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fateops.data import schema
from fateops.data._io import write_atomic
from fateops.data.errors import DataFileError, ExpectationsFailed
from fateops.exceptions import ConfigError
from fateops.paths import CONFIGS_DIR

log = logging.getLogger(__name__)

DEFAULT_SUITE = CONFIGS_DIR / "expectations" / "creditcard_party.json"
EXAMPLES = 5
_EXTENSION_KEY = "for_each_column_in"


@dataclass(frozen=True)
class ValidationOutcome:
    """A passed validation: what was checked and where the full result is kept."""

    path: Path
    artifact: Path
    success: bool
    rows: int
    evaluated: int
    failed: int
    parameters: dict[str, Any]
    seconds: float


@dataclass(frozen=True)
class Suite:
    """A loaded suite: GX-ready expectation dicts plus the parameter defaults from its meta."""

    name: str
    meta: dict[str, Any]
    expectations: list[dict[str, Any]]
    parameters: dict[str, Any]


def load_suite(path: Path | str = DEFAULT_SUITE) -> Suite:
    """Read a suite file and expand ``for_each_column_in`` into one expectation per column."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the expectation suite {path}: {exc}", field="suite") from None
    meta = raw.get("meta", {})
    groups = meta.get("column_groups", {})
    expectations: list[dict[str, Any]] = []
    for index, entry in enumerate(raw.get("expectations", [])):
        entry = copy.deepcopy(entry)
        group = entry.pop(_EXTENSION_KEY, None)
        if group is None:
            expectations.append(entry)
            continue
        if group not in groups:
            raise ConfigError(f"expectation #{index} names an unknown column group", field=_EXTENSION_KEY,
                              value=group, fix=f"define meta.column_groups.{group} in {path.name}")
        for column in groups[group]:
            expectations.append({**entry, "kwargs": {**entry.get("kwargs", {}), "column": column}})
    return Suite(name=raw.get("name", path.stem), meta=meta, expectations=expectations,
                 parameters=dict(meta.get("parameters", {})))


def validate_prepared_csv(path: Path | str, *, artifact: Path | str, suite: Path | str = DEFAULT_SUITE,
                          parameters: Mapping[str, Any] | None = None) -> ValidationOutcome:
    """Validate one prepared CSV; always write the result JSON to ``artifact``; raise on failure."""
    path, artifact = Path(path), Path(artifact)
    started = time.monotonic()
    loaded = load_suite(suite)
    params = _parameters(loaded, parameters)
    try:
        frame = pd.read_csv(path)
    except (pd.errors.EmptyDataError, FileNotFoundError) as exc:
        problem = "the file is empty" if isinstance(exc, pd.errors.EmptyDataError) else "no such file"
        _write_result(artifact, {"success": False, "file": str(path), "error": problem})
        raise DataFileError(path, problem, line=1, fix="re-run the prepare step for this party") from None
    result = _run_gx(loaded, frame, params)
    result["meta"]["fateops"] = {"file": str(path), "rows": len(frame), "parameters": params}
    _write_result(artifact, result)
    failures = [_failure(item, frame) for item in result["results"] if not item["success"]]
    seconds = time.monotonic() - started
    if failures:
        summary = "\n".join(f"  - {f['summary']}" for f in failures)
        log.error("%s failed validation (%d of %d expectations); result: %s", path, len(failures),
                  len(result["results"]), artifact)
        raise ExpectationsFailed(path, failures, summary, artifact=artifact)
    log.info("%s passed %d expectations in %.2fs; result: %s", path.name, len(result["results"]), seconds,
             artifact)
    return ValidationOutcome(path=path, artifact=artifact, success=True, rows=len(frame),
                             evaluated=len(result["results"]), failed=0, parameters=params, seconds=seconds)


def _parameters(suite: Suite, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    params = dict(suite.parameters)
    unknown = sorted(set(overrides or {}) - set(params))
    if unknown:
        raise ConfigError(f"unknown suite parameter(s) {unknown}", field="parameters", value=unknown,
                          fix=f"use one of {sorted(params)}")
    params.update(overrides or {})
    return params


def _run_gx(suite: Suite, frame: pd.DataFrame, params: dict[str, Any]) -> dict[str, Any]:
    os.environ["GX_ANALYTICS_ENABLED"] = "false"  # before the import: GX reads it at start-up
    gx_log = logging.getLogger("great_expectations")
    if gx_log.level == logging.NOTSET:  # GX narrates every metric at INFO; keep task logs readable
        gx_log.setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(), analytics_enabled=False,
                               progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False))
    context = gx.get_context(mode="ephemeral", project_config=config)
    asset = context.data_sources.add_pandas("fateops").add_dataframe_asset("prepared_party")
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": frame})
    gx_suite = gx.ExpectationSuite(name=suite.name, meta=suite.meta,
                                   expectations=[_expectation(gx, e) for e in suite.expectations])
    result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
    if schema.ID in frame.columns:  # examples then carry the row's id, not just a positional index
        result_format["unexpected_index_column_names"] = [schema.ID]
    result = batch.validate(gx_suite, result_format=result_format, expectation_parameters=params)
    return _json_safe(result.to_json_dict())


def _expectation(gx: Any, entry: dict[str, Any]) -> Any:
    from great_expectations.expectations.registry import get_expectation_impl

    try:
        cls = get_expectation_impl(entry["type"])
    except Exception as exc:  # GX raises its own error type for unknown names
        raise ConfigError(f"unknown expectation type: {exc}", field="type", value=entry.get("type")) from None
    return cls(**entry.get("kwargs", {}), meta=entry.get("meta", {}))


def _failure(item: dict[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    config = item["expectation_config"]
    kind, kwargs = config["type"], config["kwargs"]
    column = kwargs.get("column")
    result = item.get("result", {})
    exception = item.get("exception_info", {})
    failure: dict[str, Any] = {"expectation": kind, "column": column, "unexpected_count": None, "examples": []}
    where = f"{kind}" + (f" on {column!r}" if column else "")
    if column is not None and column not in frame.columns:
        failure["summary"] = f"{where}: the column is missing"
        return failure
    if exception.get("raised_exception"):
        message = (exception.get("exception_message") or "").splitlines()[0:1]
        failure["summary"] = f"{where}: could not be evaluated ({message[0] if message else 'error'})"
        return failure
    if "unexpected_count" in result:
        examples = [_example(entry, column) for entry in result.get("partial_unexpected_index_list") or []]
        if not examples:
            examples = [repr(v) for v in result.get("partial_unexpected_list") or []]
        failure.update(unexpected_count=result["unexpected_count"], examples=examples[:EXAMPLES])
        failure["summary"] = (f"{where}: {result['unexpected_count']} of {result.get('element_count', len(frame))} "
                              f"rows fail; e.g. {', '.join(failure['examples']) or 'n/a'}")
        return failure
    observed = result.get("observed_value")
    if "column_list" in kwargs and isinstance(observed, list):
        failure["observed"] = observed
        failure["summary"] = f"{where}: {_column_difference(observed, kwargs['column_list'])}"
        return failure
    bounds = {k: kwargs[k] for k in ("min_value", "max_value", "column_list", "type_") if k in kwargs}
    failure["observed"] = observed
    failure["summary"] = f"{where}: observed {_short(observed)}, expected {_short(bounds)}"
    return failure


def _column_difference(observed: list[str], expected: list[str]) -> str:
    missing = [c for c in expected if c not in observed]
    extra = [c for c in observed if c not in expected]
    parts = []
    if missing:
        parts.append(f"missing column(s) {missing}")
    if extra:
        parts.append(f"unexpected column(s) {extra}")
    if not parts:
        at = next(i for i, (o, e) in enumerate(zip(observed, expected, strict=False)) if o != e)
        parts.append(f"column {at + 1} is {observed[at]!r} where {expected[at]!r} is expected (order differs)")
    return "; ".join(parts) + f"; expected order: {', '.join(expected[:4])}, ..., {expected[-1]}"


def _example(entry: Any, column: str | None) -> str:
    if isinstance(entry, dict):
        value = entry.get(column) if column else None
        ident = entry.get(schema.ID)
        shown = f"{schema.ID} {ident}" if ident is not None else ""
        return f"{shown}: {value!r}" if column and column != schema.ID else shown or repr(entry)
    return f"line {int(entry) + 2}" if isinstance(entry, int) else repr(entry)


def _short(value: Any, limit: int = 200) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_safe(value: Any) -> Any:
    """Replace NaN/±inf (not JSON) by strings so the artifact is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _write_result(artifact: Path, result: dict[str, Any]) -> None:
    write_atomic(artifact, (json.dumps(result, indent=2, sort_keys=True, default=str) + "\n").encode())
