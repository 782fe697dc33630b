"""Reading our YAML configs and turning pydantic's errors into one :class:`ConfigError` a person can act on.

The federation config and the drill catalogue are both hand-edited YAML checked by pydantic models; both
must refuse bad input the same way — the file, the field, the bad value and where to read about it —
before anything is deployed or injected.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fateops.exceptions import ConfigError
from fateops.paths import CONFIGS_DIR

__all__ = ["FieldProblem", "config_error", "read_config_yaml"]

_SILENT_VALUE = ("extra_forbidden", "missing")  # the "value" pydantic reports there is the whole parent mapping
_MESSAGES = {"extra_forbidden": "unknown field (typo?)", "missing": "required field is missing"}


class FieldProblem(ValueError):
    """Raised by a cross-field validator to say *which* field is wrong (pydantic would blame the root)."""

    def __init__(self, message: str, *, field: str, value: object = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


def config_error(err: ValidationError, *, source: str, fix: str,
                 name_field: Callable[[tuple[Any, ...]], str] | None = None) -> ConfigError:
    """The first of pydantic's errors (with a count of the rest), naming field and value.

    ``name_field`` lets a caller say *which* list item failed in its own words (a drill by its id).
    """
    first = err.errors()[0]
    problem = first.get("ctx", {}).get("error")
    loc = tuple(first["loc"])
    if isinstance(problem, FieldProblem):
        loc = (*loc, *(int(p) if p.isdigit() else p for p in problem.field.split(".")))
    field = name_field(loc) if name_field else ".".join(str(p) for p in loc)
    msg = _MESSAGES.get(first["type"], first["msg"].removeprefix("Value error, "))
    value = problem.value if isinstance(problem, FieldProblem) else (
        None if first["type"] in _SILENT_VALUE else first.get("input"))
    shown = value if isinstance(value, str | int | float) else None
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return ConfigError(f"{source}: {msg}{more}", field=field or "<root>", value=shown, fix=fix)


def read_config_yaml(path: str | Path | None, *, default: Path, what: str) -> tuple[Path, Any]:
    """Load a YAML config; a relative path that does not exist here is looked up in ``include/configs/``."""
    path = Path(path) if path else default
    if not path.is_absolute() and not path.exists():
        path = CONFIGS_DIR / path
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", field="path", value=str(path),
                          fix="pass a path relative to include/configs/ or an absolute path") from None
    try:
        return path, yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path.name}: not valid YAML{where}", fix="fix the YAML syntax") from None
