"""Open SIRENE files as published (CSV or Parquet, zipped, gzipped or plain) for DuckDB.

DuckDB streams CSV (plain or gzip) and Parquet itself. It cannot read inside a zip archive, so a
zipped file is decompressed to a temporary file first, in 16 MB chunks: memory stays bounded
whatever the size of the national file.
"""

from __future__ import annotations

import gzip
import io
import shutil
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from territoria.errors import SourceError, TerritoriaError
from territoria.sources._framework import first_line, translate_error

CHUNK = 16 * 1024 * 1024


@dataclass(frozen=True)
class InputFile:
    """One SIRENE file ready to be read by DuckDB."""

    what: str  # human name: "establishments file"
    origin: str  # the path the user gave
    path: Path  # the file DuckDB reads (decompressed when the origin was a zip)
    kind: Literal["csv", "parquet"]
    columns: tuple[str, ...]
    delimiter: str = ","

    def has(self, column: str) -> bool:
        """Whether the file has ``column``."""
        return column in self.columns

    def relation(self) -> str:
        """SQL table expression that streams the file with every column as VARCHAR."""
        path = _literal(str(self.path))
        if self.kind == "parquet":
            return f"read_parquet({path})"
        columns = ", ".join(f"{_literal(c)}: 'VARCHAR'" for c in self.columns)
        return (
            f"read_csv({path}, header = true, auto_detect = false, delim = "
            f"{_literal(self.delimiter)}, quote = '\"', escape = '\"', strict_mode = true, "
            f"columns = {{{columns}}})"
        )

    def column(self, name: str, *, alias: str | None = None) -> str:
        """SQL for ``name`` as trimmed VARCHAR (empty strings as NULL), or NULL if absent."""
        target = alias or name
        if not self.has(name):
            return f"CAST(NULL AS VARCHAR) AS {target}"
        return f"nullif(trim(CAST({_ident(name)} AS VARCHAR)), '') AS {target}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def open_input(
    path: Path,
    *,
    what: str,
    required: tuple[str, ...],
    workdir: Path,
    con: duckdb.DuckDBPyConnection,
) -> InputFile:
    """Check that ``path`` is a readable SIRENE file with the ``required`` columns.

    Parameters
    ----------
    path
        CSV (``.csv``, ``.csv.gz``), Parquet, or a zip archive holding one of them.
    what
        How messages name the file ("establishments file").
    required
        Columns the file must have, as INSEE names them.
    workdir
        Where a zipped file is decompressed.
    con
        Connection used to read a Parquet file's schema.
    """
    origin = str(path)
    if not path.exists():
        msg = f"{what} {origin!r} does not exist: check the path"
        raise SourceError(msg)
    if path.is_dir():
        msg = f"{what} {origin!r} is a folder: give the CSV, Parquet or zip file itself"
        raise SourceError(msg)
    real = _unzip(path, what=what, workdir=workdir) if zipfile.is_zipfile(path) else path
    with real.open("rb") as handle:
        magic = handle.read(4)
    if not magic:
        msg = f"{what} {origin!r} is empty: download it again"
        raise SourceError(msg)
    if magic == b"PAR1":
        columns = _parquet_columns(real, what=what, origin=origin, con=con)
        found = InputFile(what, origin, real, "parquet", columns)
    else:
        header = _first_line(real, what=what, origin=origin)
        delimiter = max(",;\t|", key=header.count)
        columns = tuple(c.strip().strip('"').strip() for c in header.split(delimiter))
        found = InputFile(what, origin, real, "csv", columns, delimiter)
    missing = [c for c in required if c not in found.columns]
    if missing:
        shown = ", ".join(found.columns[:8]) + (" ..." if len(found.columns) > 8 else "")
        msg = (
            f"{what} {origin!r} lacks the column(s) {missing!r} (it has: {shown}): it is not in "
            "the SIRENE format as INSEE publishes it; use the official file"
        )
        raise SourceError(msg)
    return found


def _unzip(path: Path, *, what: str, workdir: Path) -> Path:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                m
                for m in archive.infolist()
                if not m.is_dir() and m.filename.lower().endswith((".csv", ".parquet"))
            ]
            if not members:
                msg = f"{what} {str(path)!r} is a zip archive with no CSV or Parquet file inside"
                raise SourceError(msg)
            member = max(members, key=lambda m: m.file_size)
            target = workdir / Path(member.filename).name
            with archive.open(member) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        msg = (
            f"{what} {str(path)!r} is a truncated or corrupt zip archive ({exc}): download it again"
        )
        raise SourceError(msg) from exc
    return target


def _first_line(path: Path, *, what: str, origin: str) -> str:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            line = text.readline()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        msg = f"cannot read the header of {what} {origin!r} ({exc}): the file is corrupt"
        raise SourceError(msg) from exc
    line = line.rstrip("\r\n")
    if not line:
        msg = f"{what} {origin!r} has no header line: it is empty or not a CSV file"
        raise SourceError(msg)
    return line


def _parquet_columns(
    path: Path, *, what: str, origin: str, con: duckdb.DuckDBPyConnection
) -> tuple[str, ...]:
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_literal(str(path))})").fetchall()
    except duckdb.Error as exc:
        msg = f"cannot read the Parquet {what} {origin!r} ({first_line(exc)}): the file is corrupt"
        raise SourceError(msg) from exc
    return tuple(str(r[0]) for r in rows)


def read_error(exc: duckdb.Error, file: InputFile) -> TerritoriaError:
    """Translate a DuckDB read error into a message that says what to do."""
    text = first_line(exc)
    hint = "the file is truncated or corrupt, or not in the SIRENE format: download it again"
    if "unicode" in text.lower() or "utf-8" in text.lower():
        hint = "the file is not UTF-8: use INSEE's '_utf8' file"
    return translate_error(exc, source=file.path, reading=f"{file.what} {file.origin!r}", hint=hint)
