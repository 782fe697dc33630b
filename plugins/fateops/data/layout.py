"""Where one party's data lives: ``<data_dir>/<party_id>/{raw,prepared}/``.

A :class:`PartyDataDir` is the *only* handle the per-party steps take. It is built from one party id
and exposes paths under that party's root and nothing else, so a task running for party B is never
given a path into party A's directory (the "data stays home" rule of the design). The split step is
the one exception: it plays the data owner handing each bank its own slice, and writes into every
party's ``raw/`` dir.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fateops.exceptions import ConfigError

RAW_FILE_NAME = "creditcard.csv"
TRAIN_FILE_NAME = "train.csv"
TEST_FILE_NAME = "test.csv"
PREPARE_SUMMARY_NAME = "prepare.json"


@dataclass(frozen=True)
class PartyDataDir:
    """The data directory of one party (paths only; nothing is created until a step writes)."""

    party_id: int
    root: Path

    @classmethod
    def for_party(cls, data_dir: Path | str, party_id: int | str) -> PartyDataDir:
        """``<data_dir>/<party_id>``; the party id must be a positive integer (FATE party ids are)."""
        try:
            pid = int(party_id)
        except (TypeError, ValueError):
            pid = 0
        if pid <= 0 or str(party_id).strip() != str(pid):
            raise ConfigError("a party id must be a positive integer such as 9999", field="party_id",
                              value=party_id)
        return cls(party_id=pid, root=Path(data_dir).expanduser().resolve() / str(pid))

    @property
    def raw_dir(self) -> Path:
        return self.root / "raw"

    @property
    def raw_csv(self) -> Path:
        """The party's own slice of transactions, in Kaggle format."""
        return self.raw_dir / RAW_FILE_NAME

    @property
    def prepared_dir(self) -> Path:
        return self.root / "prepared"

    @property
    def train_csv(self) -> Path:
        return self.prepared_dir / TRAIN_FILE_NAME

    @property
    def test_csv(self) -> Path:
        return self.prepared_dir / TEST_FILE_NAME

    @property
    def prepare_summary(self) -> Path:
        """JSON with the party's scaler centre/scale, counts and file hashes."""
        return self.prepared_dir / PREPARE_SUMMARY_NAME
