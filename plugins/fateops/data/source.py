"""The bytes of a user's dataset file, whatever wrapper it came in, checked to be UTF-8 text.

People have the file the way they downloaded it: Kaggle serves ``creditcard.csv`` inside a zip, and
large exports travel gzipped. The wrapper is recognised by its magic bytes, not its name (a renamed
file still works): gzip (``1f 8b``) is decompressed, a zip must hold exactly one ``.csv`` member
(macOS ``__MACOSX/`` entries and directories ignored). Anything else is read as it is.

The text is then checked **before** pandas sees it: a NUL byte means a binary file (a spreadsheet, an
image), and the first byte that is not UTF-8 (a Latin-1 or Windows-1252 export) is reported with its
byte offset and line, so the user can find it, and the fix (re-save or ``iconv`` to UTF-8). Without
this check pandas raises a bare ``UnicodeDecodeError`` that Airflow treats as transient and retries.
Every refusal is a :class:`DataFileError` — a data error, failed at once, with nothing uploaded.

The whole file is held in memory once (≈150 MB for Kaggle's 284,807 rows): the split needs the raw
lines anyway, so the loader and the split share these bytes instead of reading the file twice.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from pathlib import Path

from fateops.data.errors import DataFileError

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_BOM = b"\xef\xbb\xbf"
_FIX_TEXT = ("save the file as UTF-8 CSV (in a spreadsheet: 'CSV UTF-8'; on a shell: "
             "iconv -f latin1 -t utf-8 in.csv > out.csv), or give the .csv, .csv.gz or .zip as downloaded")
_SHOWN_MEMBERS = 5


def read_source(path: Path | str) -> bytes:
    """The CSV text of ``path`` (plain, gzip or single-CSV zip) as UTF-8 bytes without a BOM.

    Raises :class:`DataFileError` for a missing file, a broken or ambiguous archive, a binary file or
    a byte that is not UTF-8 (naming its offset in the decompressed text and its line).
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(path, "no such file", fix="check the path given to the dataset Param")
    raw = path.read_bytes()
    if raw.startswith(_GZIP_MAGIC):
        data, wrapper = _gunzip(path, raw), "gzip"
    elif raw.startswith(_ZIP_MAGIC):
        data, wrapper = _unzip(path, raw), "zip"
    else:
        data, wrapper = raw, ""
    check_utf8_text(path, data, wrapper)
    return data[len(_BOM):] if data.startswith(_BOM) else data


def check_utf8_text(path: Path, data: bytes, wrapper: str = "") -> None:
    """Refuse ``data`` unless it is UTF-8 text; the error names the byte offset and the line."""
    inside = f" (inside the {wrapper})" if wrapper else ""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DataFileError(path, f"not a text file: a NUL byte at byte offset {nul}{inside} — this is a binary "
                                  "file (a spreadsheet, an archive or an image?), not a CSV",
                            line=_line_of(data, nul), fix=_FIX_TEXT)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.start + 1]
        raise DataFileError(path, f"not UTF-8 text: byte 0x{bad.hex()} at byte offset {exc.start}{inside} "
                                  "(a Latin-1/Windows-1252 export?)",
                            line=_line_of(data, exc.start), fix=_FIX_TEXT) from None


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _gunzip(path: Path, raw: bytes) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFileError(path, f"a damaged gzip file ({exc})",
                            fix="download the file again, or give the uncompressed .csv") from None


def _unzip(path: Path, raw: bytes) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = [info for info in archive.infolist()
                       if not info.is_dir() and not info.filename.startswith("__MACOSX/")]
            csvs = [info for info in members if info.filename.lower().endswith(".csv")]
            if len(csvs) != 1:
                names = [info.filename for info in members]
                shown = ", ".join(names[:_SHOWN_MEMBERS]) + (", …" if len(names) > _SHOWN_MEMBERS else "")
                what = "no .csv file" if not csvs else f"{len(csvs)} .csv files"
                raise DataFileError(path, f"the zip holds {what} (members: {shown or 'none'})",
                                    fix="give a zip holding exactly one CSV (Kaggle's creditcard.zip), "
                                        "or the .csv itself")
            return archive.read(csvs[0])
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise DataFileError(path, f"a damaged or unsupported zip file ({exc})",
                            fix="download the file again, or unzip it and give the .csv") from None
