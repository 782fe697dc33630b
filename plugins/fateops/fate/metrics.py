"""Reading scalar scores out of FATE 2.2 metric records.

An ``evaluation`` task stores one record ``{"name": "evaluation", "type": "evaluation", "data": {...}}``
whose ``data`` maps each evaluated *input task* to its datasets (``train_set``, ``validate_set``,
``test_set``, or ``origin`` when the rows carry no type) and each dataset to a list of
``{"metric": "auc", "val": 0.97}`` entries (tables such as ``ks``'s curve come as extra nested lists).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["metric_values"]


def _scalar_entries(node: Any) -> Iterable[tuple[str, float]]:
    """``(metric, value)`` for every ``{"metric": ..., "val": <number>}`` under ``node``."""
    if isinstance(node, Mapping):
        value = node.get("val")
        if "metric" in node and isinstance(value, int | float) and not isinstance(value, bool):
            yield str(node["metric"]), float(value)
            return
        for child in node.values():
            yield from _scalar_entries(child)
    elif isinstance(node, list):
        for child in node:
            yield from _scalar_entries(child)


def metric_values(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """``{input_task: {dataset: {metric: value}}}`` from ``query_metrics`` of an evaluation task.

    Only single-valued metrics are kept (auc, ks, binary_precision, …); curves and tables are skipped.
    """
    out: dict[str, dict[str, dict[str, float]]] = {}
    for record in records:
        data = record.get("data")
        if not isinstance(data, Mapping):
            continue
        for task, datasets in data.items():
            if not isinstance(datasets, Mapping):
                continue
            for dataset, entries in datasets.items():
                values = dict(_scalar_entries(entries))
                if values:
                    out.setdefault(str(task), {}).setdefault(str(dataset), {}).update(values)
    return out
