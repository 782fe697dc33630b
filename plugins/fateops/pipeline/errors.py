"""Pipeline errors, in a module light enough for DAG parsing (the retry policy names them by path)."""

from __future__ import annotations

from fateops.exceptions import FateFlowError


class TableCheckFailed(FateFlowError):
    """A party table is missing, or an upload job succeeded but the table differs from the prepared file."""

    default_fix = ("re-run the upload task; if it persists, read the upload job's transformer_0 log "
                   "(the CSV's header/delimiter may not match the meta)")
