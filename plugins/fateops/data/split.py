"""Split one ``creditcard.csv`` into per-party slices by rows, stratified on ``Class``, seeded.

This step plays the data owner of the seed's walkthrough ("split the dataset into two halves"):
it is the only step that writes into several parties' directories, and it writes each party's
slice to that party's own ``<data_dir>/<party_id>/raw/creditcard.csv``. From there on, every step
of party B reads only party B's directory.

A slice holds the source file's own lines, byte for byte (header included), so the user's quoting
and precision survive and the split costs one read of the file (gzip and zip sources are decompressed
once; the slices are plain CSV). The source is validated strictly
(:func:`~fateops.data.load.load_creditcard`) before anything is written. Re-running with the same
inputs rewrites nothing (content hashes match); the synthetic marker travels with the slices.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fateops.data import schema
from fateops.data._io import write_if_changed
from fateops.data.errors import DataFileError
from fateops.data.layout import PartyDataDir
from fateops.data.load import parse_creditcard
from fateops.data.source import read_source
from fateops.data.synthetic import is_synthetic, sidecar_path
from fateops.exceptions import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartySlice:
    """What one party received."""

    party_id: int
    path: Path
    rows: int
    frauds: int
    sha256: str
    written: bool
    synthetic: bool


def split_by_parties(source: Path | str, party_ids: Sequence[int | str], data_dir: Path | str, *,
                     seed: int = 42, fractions: Sequence[float] | None = None) -> dict[int, PartySlice]:
    """Write each party's stratified slice of ``source``; return them keyed by party id.

    ``fractions`` (default: equal shares) gives each party's share of the rows, in ``party_ids``
    order; every party receives the same share of frauds and of genuine payments.
    """
    source = Path(source)
    parties = [PartyDataDir.for_party(data_dir, pid) for pid in party_ids]
    shares = _shares(parties, fractions)
    data = read_source(source)  # plain, .csv.gz or .zip; refused unless UTF-8 text
    frame = parse_creditcard(source, data)  # strict: refuse bad data before writing anything
    header, lines = _lines(source, data, rows=len(frame))
    labels = frame[schema.LABEL].to_numpy()
    assignment = _assign(labels, shares, seed)
    synthetic = is_synthetic(source)
    slices: dict[int, PartySlice] = {}
    for index, party in enumerate(parties):
        rows = np.flatnonzero(assignment == index)  # ascending: the slice keeps the source order
        if not len(rows):
            raise DataFileError(source, f"party {party.party_id} would receive no rows",
                                fix="supply more rows or fewer parties")
        content = b"".join([header, *(lines[i] for i in rows)])
        digest, written = write_if_changed(party.raw_csv, content)
        _mark(party, source, synthetic, seed)
        slices[party.party_id] = PartySlice(party_id=party.party_id, path=party.raw_csv, rows=len(rows),
                                            frauds=int(labels[rows].sum()), sha256=digest, written=written,
                                            synthetic=synthetic)
        log.info("party %s: %d rows (%d frauds) -> %s%s", party.party_id, len(rows), slices[party.party_id].frauds,
                 party.raw_csv, "" if written else " (unchanged)")
    return slices


def _shares(parties: list[PartyDataDir], fractions: Sequence[float] | None) -> np.ndarray:
    if not parties:
        raise ConfigError("at least one party id is needed", field="party_ids", value=[])
    ids = [p.party_id for p in parties]
    if len(set(ids)) != len(ids):
        raise ConfigError("a party id is listed twice", field="party_ids", value=ids)
    if fractions is None:
        return np.full(len(parties), 1.0 / len(parties))
    shares = np.asarray(fractions, dtype="float64")
    if len(shares) != len(parties) or (shares <= 0).any() or not np.isclose(shares.sum(), 1.0):
        raise ConfigError("give one positive fraction per party, summing to 1", field="fractions",
                          value=list(fractions))
    return shares


def _lines(source: Path, data: bytes, *, rows: int) -> tuple[bytes, list[bytes]]:
    """The header line and one line per data row, each ending with a newline."""
    if not data.endswith(b"\n"):
        data += b"\n"
    lines = data.splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    while len(body) > rows and not body[-1].strip():  # trailing blank lines (the loader ignores them)
        body.pop()
    if len(body) != rows:
        raise DataFileError(source, f"{rows} rows parsed but {len(body)} data lines found; "
                                    "a quoted value spans lines", fix="write one transaction per line")
    return header, body


def _assign(labels: np.ndarray, shares: np.ndarray, seed: int) -> np.ndarray:
    """Party index of every row: each class is shuffled and cut by the shares (stratification)."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(labels), dtype=np.int64)
    for value in sorted(schema.LABEL_VALUES):
        members = rng.permutation(np.flatnonzero(labels == value))
        cuts = np.round(np.cumsum(shares)[:-1] * len(members)).astype(np.int64)
        for index, part in enumerate(np.split(members, cuts)):
            assignment[part] = index
    return assignment


def _mark(party: PartyDataDir, source: Path, synthetic: bool, seed: int) -> None:
    """Carry the synthetic marker to the slice, and never leave a stale one next to real data."""
    marker = sidecar_path(party.raw_csv)
    if synthetic:
        note = {"synthetic": True, "what": "slice of a SYNTHETIC dataset, NOT the Kaggle data",
                "source": str(source), "party_id": party.party_id, "seed": seed}
        write_if_changed(marker, (json.dumps(note, indent=2, sort_keys=True) + "\n").encode())
    else:
        marker.unlink(missing_ok=True)
