"""Reading user CSV files (indicator tables, relations): dialect, header, physical line numbers.

INSEE publishes CSV with ``;`` separators, sometimes Latin-1, sometimes values spanning
lines; validation errors must point at the file's real line numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from territoria.errors import SourceError, ValidationError
from territoria.sources._framework import translate_error


def _literal(value: str | None) -> str:
    """A SQL string literal (views take no parameters)."""
    return "NULL::VARCHAR" if value is None else "'" + value.replace("'", "''") + "'"


_ENCODINGS = {"utf-8": "utf-8-sig", "latin-1": "latin-1", "utf-16": "utf-16"}
#: Separators guessed from the header line, and the names they are given by.
SEPARATORS = (";", ",", "\t", "|")
_SEP_NAMES = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}


def check_file(path: Path, what: str) -> None:
    """Refuse a path that is missing, a folder, or not readable, with a clear message."""
    if not path.exists():
        msg = f"{what} {str(path)!r} does not exist: check the path"
        raise SourceError(msg)
    if path.is_dir():
        msg = f"{what} {str(path)!r} is a folder: give the CSV file itself"
        raise SourceError(msg)
    if not path.is_file():
        msg = f"{what} {str(path)!r} is not a regular file: give a CSV file"
        raise SourceError(msg)


@dataclass(frozen=True)
class _Dialect:
    """How the file is read: separator and encoding (DuckDB and Python names)."""

    sep: str
    encoding: str

    @property
    def python_encoding(self) -> str:
        return _ENCODINGS[self.encoding]


def _dialect(path: Path, *, sep: str | None, encoding: str) -> _Dialect:
    key = encoding.lower().replace("_", "-").replace("utf8", "utf-8")
    key = {"latin1": "latin-1", "iso-8859-1": "latin-1", "utf16": "utf-16"}.get(key, key)
    if key not in _ENCODINGS:
        msg = f"unsupported encoding {encoding!r}: use one of {', '.join(_ENCODINGS)}"
        raise SourceError(msg)
    if sep is not None:
        sep = _separator(sep)
    else:
        try:
            with path.open(encoding=_ENCODINGS[key], errors="replace", newline="") as handle:
                first = handle.readline()
        except OSError as exc:
            raise translate_error(exc, source=path) from exc
        counts = {c: first.count(c) for c in SEPARATORS}
        sep = max(counts, key=lambda c: counts[c]) if any(counts.values()) else ","
    return _Dialect(sep=sep, encoding=key)


def _separator(sep: str) -> str:
    """The one-character field separator named by ``sep`` (``;``, ``tab`` ...), or refuse it."""
    value = _SEP_NAMES.get(sep.strip().lower(), sep) if sep.strip() else sep
    if len(value) != 1 or value in {'"', "\n", "\r"} or value.isalnum():
        what = "an empty separator" if not sep else f"separator {sep!r}"
        msg = f"{what} cannot split CSV fields: give one character: ';', ',', tab or '|' (--sep)"
        raise SourceError(msg)
    return value


def _read(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    dialect: _Dialect,
    *,
    table: str = "ind_raw",
    what: str = "an indicator file",
    options: bool = True,
) -> list[str]:
    """Load the file into the temporary ``table`` (all text); return the header's names.

    ``what`` names the kind of file in messages; ``options`` says whether the user can pass
    ``--sep`` and ``--encoding`` (hints mention them only then).
    """
    try:
        with path.open(encoding=dialect.python_encoding, newline="") as handle:
            header = next(csv.reader(handle, delimiter=dialect.sep, quotechar='"'), None)
    except UnicodeDecodeError as exc:
        fix = "pass --encoding latin-1 for INSEE's older files" if options else "save it as UTF-8"
        msg = f"{path.name!r} is not {dialect.encoding} text ({exc.reason}): {fix}"
        raise SourceError(msg) from exc
    except csv.Error as exc:
        msg = f"cannot read the header line of {path.name!r} ({exc}): is it a CSV file?"
        raise SourceError(msg) from exc
    except OSError as exc:
        raise translate_error(exc, source=path) from exc
    if not header:
        msg = f"{path.name!r} is empty: {what} starts with a header line"
        raise SourceError(msg)
    names = [h.strip() or f"_unnamed_{i}" for i, h in enumerate(header)]
    lower = [n.lower() for n in names]  # SQL names ignore case
    twice = sorted({n for n in names if lower.count(n.lower()) > 1})
    if twice:
        problems = [f"line 1 (header): column {n!r} appears more than once" for n in twice]
        msg = f"{path.name!r} has duplicate column names {twice!r}: rename them"
        raise ValidationError(msg, problems=problems, count=len(problems))
    columns = "{" + ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names) + "}"
    try:
        # No sniffing: the sniffer may drop a malformed line instead of failing on it; strict
        # mode refuses an unterminated quote instead of reading the rest of the file into it.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_csv(?, header = true, "
            f"auto_detect = false, columns = {columns}, delim = ?, quote = '\"', "
            "escape = '\"', encoding = ?, strict_mode = true)",
            [str(path), dialect.sep, dialect.encoding],
        )
    except duckdb.Error as exc:
        sep = "tab" if dialect.sep == "\t" else repr(dialect.sep)
        hint = f"check the separator ({sep}) and the encoding ({dialect.encoding!r})"
        if options:
            hint = f"check the separator ({sep}, --sep) and the encoding ({dialect.encoding!r}, "
            hint += "--encoding)"
        else:
            hint += ', and that every quote (") is closed'
        raise translate_error(exc, source=path, reading=f"{path.name!r} as CSV", hint=hint) from exc
    return names


def _one_line_per_record(path: Path, dialect: _Dialect, records: int) -> bool:
    """Whether the file has exactly one line per record (no blank or multi-line records)."""
    if dialect.encoding == "utf-16":
        return False
    newlines, last = 0, b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    lines = newlines + (0 if last == b"\n" else 1)
    return lines == records + 1


def _physical_lines(
    path: Path, dialect: _Dialect, wanted: set[int], records: int | None = None
) -> dict[int, int]:
    """Map record numbers (header = 1) to file line numbers, for the records ``wanted``.

    DuckDB skips blank lines and a quoted value may span lines: the two numbers then differ.
    Only called to report problems; a file of one line per record (``records`` data records)
    is recognised by counting its newlines, otherwise it is parsed up to the last record wanted.
    """
    found: dict[int, int] = {}
    if not wanted:
        return found
    if records is not None and _one_line_per_record(path, dialect, records):
        return {record: record for record in wanted}
    last = max(wanted)
    with path.open(encoding=dialect.python_encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=dialect.sep, quotechar='"')
        record, start = 0, 1
        for row in reader:
            if row:
                record += 1
                if record in wanted:
                    found[record] = start
                if record >= last:
                    break
            start = reader.line_num + 1
    return found


def _find(header: Sequence[str], *names: str) -> str | None:
    """The header column whose trimmed lower-case name is the first of ``names`` found."""
    by_name = {h.strip().lower(): h for h in header}
    for name in names:
        if name.lower() in by_name:
            return by_name[name.lower()]
    return None


def _missing(path: Path, header: Sequence[str], missing: list[str], layout: str) -> ValidationError:
    problems = [f"line 1 (header): missing column {name!r}" for name in missing]
    msg = (
        f"{path.name!r} lacks the column(s) {missing!r} of the {layout} layout (found "
        f"{list(header)!r}): rename the columns, pass --code-column, or check the separator"
    )
    return ValidationError(msg, problems=problems, count=len(problems))
