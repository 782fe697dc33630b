"""Reading our YAML configs and turning pydantic's errors into one :class:`ConfigError` a person can act on.

The federation config and the drill catalogue are both hand-edited YAML checked by pydantic models; both
must refuse bad input the same way — the file, the field, the bad value and where to read about it —
before anything is deployed or injected.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from fateops.exceptions import ConfigError
from fateops.paths import CONFIGS_DIR

__all__ = ["ConfigDoc", "FieldProblem", "Loc", "config_error", "read_config", "read_config_yaml"]

_SILENT_VALUE = ("extra_forbidden", "missing")  # the "value" pydantic reports there is the whole parent mapping
_MESSAGES = {"extra_forbidden": "unknown field (typo?)", "missing": "required field is missing"}
_CHOICE_ERRORS = ("literal_error", "enum")
_BOOL_TAG = "tag:yaml.org,2002:bool"

Loc = tuple[Any, ...]


class FieldProblem(ValueError):
    """Raised by a cross-field validator to say *which* field is wrong (pydantic would blame the root)."""

    def __init__(self, message: str, *, field: str, value: object = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


@dataclass(frozen=True)
class ConfigDoc:
    """A YAML config as read: its resolved path, the data, and the words YAML 1.1 turned into booleans.

    ``yes``/``no``/``on``/``off`` unquoted are booleans to PyYAML; in a field that takes words
    (``chaos: yes``) the error must name the word the operator wrote, not ``True``.
    """

    path: Path
    data: Any
    bool_words: Mapping[Loc, str] = field(default_factory=dict)


def _one_edit_apart(a: str, b: str) -> bool:
    """Levenshtein distance 1 (one letter inserted, dropped or changed) or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``X``, ``X | None``, ``tuple[X, ...]`` or ``list[X]`` (None otherwise)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, tuple, list):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _fields_at(model: type[BaseModel] | None, loc: Loc) -> list[str]:
    """The field names the model accepts at ``loc`` (the mapping that holds ``loc``'s last key)."""
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        info = model.model_fields.get(str(part))
        model = _model_in(info.annotation) if info is not None else None
    return list(model.model_fields) if model is not None else []


def _did_you_mean(model: type[BaseModel] | None, loc: Loc) -> str:
    key = str(loc[-1]) if loc else ""
    close = [name for name in _fields_at(model, loc) if _one_edit_apart(key, name)]
    return f" — did you mean `{close[0]}`?" if len(close) == 1 else ""


@dataclass(frozen=True)
class _Problem:
    field: str
    message: str
    value: str | int | float | None
    unknown_key: bool


def _problem(error: Any, *, model: type[BaseModel] | None, bool_words: Mapping[Loc, str],
             name_field: Callable[[Loc], str] | None) -> _Problem:
    problem = error.get("ctx", {}).get("error")
    loc = tuple(error["loc"])
    if isinstance(problem, FieldProblem):
        loc = (*loc, *(int(p) if p.isdigit() else p for p in problem.field.split(".")))
    kind = error["type"]
    msg = _MESSAGES.get(kind, error["msg"].removeprefix("Value error, "))
    value = problem.value if isinstance(problem, FieldProblem) else (
        None if kind in _SILENT_VALUE else error.get("input"))
    if kind == "extra_forbidden":
        msg += _did_you_mean(model, loc)
    elif kind in _CHOICE_ERRORS and isinstance(value, bool):
        word = bool_words.get(loc)
        expected = error.get("ctx", {}).get("expected", "one of the listed words")
        said = f"`{word}` is" if word else "an unquoted yes/no/on/off/true/false is"
        msg = f"{said} a YAML 1.1 boolean ({str(value).lower()}), not one of {expected} — write the word itself"
        value = word if word else value
    shown = value if isinstance(value, str | int | float) else None
    field = name_field(loc) if name_field else ".".join(str(p) for p in loc)
    return _Problem(field or "<root>", msg, shown, kind == "extra_forbidden")


def _derived(error: Any, errors: list[Any]) -> bool:
    """A list that is "too short" only because one of its items failed: the item's error says it all."""
    loc = tuple(error["loc"])
    return error["type"] == "too_short" and any(
        tuple(other["loc"])[:len(loc)] == loc and len(other["loc"]) > len(loc) for other in errors)


def config_error(err: ValidationError, *, source: str, fix: str,
                 name_field: Callable[[Loc], str] | None = None, model: type[BaseModel] | None = None,
                 bool_words: Mapping[Loc, str] | None = None) -> ConfigError:
    """Every one of pydantic's errors in one :class:`ConfigError`, naming field and value.

    Unknown keys come first: a typo'd key (``role:``) also makes the real one "missing", and the typo is
    the thing to fix (``did you mean `roles`?`` when the key is one edit away from a field of ``model``).
    The error's ``field``/``value`` are the first problem's; the others follow in the message.
    ``name_field`` lets a caller say *which* list item failed in its own words (a drill by its id).
    """
    errors = err.errors()
    problems = [_problem(e, model=model, bool_words=bool_words or {}, name_field=name_field)
                for e in errors if not _derived(e, errors)]
    problems.sort(key=lambda p: not p.unknown_key)
    first, rest = problems[0], problems[1:]
    more = (f" (+{len(rest)} more: " + "; ".join(
        f"{p.field}: {p.message}" + (f" (got {p.value!r})" if p.value is not None else "") for p in rest) + ")"
        if rest else "")
    return ConfigError(f"{source}: {first.message}{more}", field=first.field, value=first.value, fix=fix)


def _bool_words(node: yaml.Node | None, loc: Loc = ()) -> dict[Loc, str]:
    """Where YAML 1.1 made a boolean out of a word other than true/false (``yes``, ``off``, …)."""
    found: dict[Loc, str] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            found |= _bool_words(value, (*loc, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found |= _bool_words(item, (*loc, index))
    elif isinstance(node, yaml.ScalarNode) and node.tag == _BOOL_TAG and node.value.lower() not in ("true", "false"):
        found[loc] = node.value
    return found


def read_config(path: str | Path | None, *, default: Path, what: str, must_contain: str) -> ConfigDoc:
    """Load a YAML config; a relative path that does not exist here is looked up in ``include/configs/``.

    Errors name the resolved path (not just the file name): a wrong guess between the current directory
    and ``include/configs/`` is then plain to see. ``must_contain`` says what an empty file lacks.
    """
    given = Path(path) if path else default
    path = given if given.is_absolute() or given.exists() else CONFIGS_DIR / given
    path = path.resolve()
    try:
        text = path.read_text()
    except FileNotFoundError:
        tried = "" if given.is_absolute() else f" (looked in {Path.cwd()} and {CONFIGS_DIR})"
        raise ConfigError(f"{what} not found{tried}", field="path", value=str(path),
                          fix="pass a path relative to the current directory or include/configs/, or an "
                              "absolute path") from None
    except IsADirectoryError:
        files = sorted(f.name for f in path.glob("*.yaml"))[:8]
        raise ConfigError(f"{what} is a directory, not a file", field="path", value=str(path),
                          fix=f"pass one YAML file in it: {', '.join(files)}" if files
                          else f"pass the path of a {what} file, e.g. {default}") from None
    try:
        data = yaml.safe_load(text)
        words = _bool_words(yaml.compose(text))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}", fix="fix the YAML syntax") from None
    if data is None:
        raise ConfigError(f"{path}: the file is empty (no YAML content)",
                          fix=f"a {what} must contain {must_contain}; see include/configs/README.md")
    return ConfigDoc(path, data, words)


def read_config_yaml(path: str | Path | None, *, default: Path, what: str) -> tuple[Path, Any]:
    """:func:`read_config` for callers that need only the path and the data."""
    doc = read_config(path, default=default, what=what, must_contain="a YAML mapping")
    return doc.path, doc.data
