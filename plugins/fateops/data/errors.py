"""Data errors with the place they point at, so tests and operators match on fields, not wording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fateops.exceptions import DataValidationError


class DataFileError(DataValidationError):
    """A source CSV is unusable; ``line`` is 1-based as in a text editor (the header is line 1)."""

    def __init__(self, path: Path | str, problem: str, *, line: int | None = None, column: str | None = None,
                 value: object = None, count: int | None = None, fix: str | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        self.line = line
        self.column = column
        self.value = value
        self.count = count
        where = [self.path.name]
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        shown = f" (got {value!r})" if value is not None else ""
        more = f"; {count} row(s) in total have this problem" if count and count > 1 else ""
        super().__init__(f"{', '.join(where)}: {problem}{shown}{more}", fix=fix)


class ExpectationsFailed(DataValidationError):
    """The validation gate refused a prepared table; ``failures`` lists each failed expectation."""

    def __init__(self, path: Path | str, failures: list[dict[str, Any]], summary: str, *,
                 artifact: Path | None = None) -> None:
        self.path = Path(path)
        self.failures = failures
        self.artifact = artifact
        kept = f"; full result: {artifact}" if artifact else ""
        super().__init__(
            f"{self.path.name} failed {len(failures)} expectation(s), nothing was uploaded:\n{summary}{kept}",
            fix="fix the rows/columns named above (or the preparation step that produced them), "
                "or adjust the suite parameters if the bounds are wrong for this dataset",
        )
