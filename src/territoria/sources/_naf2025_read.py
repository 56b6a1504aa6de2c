"""Reading INSEE's NAF 2025 files: xlsx (as published) or CSV exports of the same sheets.

A sheet is found by its header row (within its first rows), its columns by the start of their
header text, case and spacing aside: INSEE's headers carry explanations after the name
("NAFold-code (code niveau sous-classe de la nomenclature actuelle)"). Cells are returned as
stripped strings with the row number a spreadsheet shows, so errors can point at the row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from territoria.errors import SourceError

__all__ = ["Column", "Sheet", "read_sheet"]

#: How many rows above the header a sheet may have (titles, notes).
_HEADER_SEARCH = 15


@dataclass(frozen=True)
class Column:
    """A column to find: its name in messages, and the starts its header may have."""

    name: str
    starts: tuple[str, ...]


@dataclass(frozen=True)
class Sheet:
    """The cells of the wanted columns, one tuple per data row, with its spreadsheet row."""

    file: str
    name: str
    rows: list[tuple[int, tuple[str, ...]]]

    def where(self, line: int) -> str:
        """'file, sheet NAME, row N' for messages."""
        return f"{self.file}, sheet {self.name!r}, row {line}"


def _norm(text: object) -> str:
    return re.sub(r"\s+", " ", str(text or "")).strip().lower().replace("é", "e")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, int):  # a division typed as a number in a spreadsheet: 1 -> '01'
        return f"{value:02d}"
    return str(value).strip()


def _xlsx_sheets(path: Path) -> Iterator[tuple[str, Iterator[tuple[object, ...]]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is no xlsx
        msg = f"{path}: not a readable xlsx workbook ({exc}); give INSEE's .xlsx or a CSV export"
        raise SourceError(msg) from exc
    try:
        for sheet in book.worksheets:
            # read now: the workbook closes once every sheet is listed (a few thousand rows)
            yield sheet.title, iter(list(sheet.iter_rows(values_only=True)))
    finally:
        book.close()


def _csv_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _csv_sheets(path: Path) -> Iterator[tuple[str, Iterator[tuple[object, ...]]]]:
    text = _csv_text(path)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    rows = (tuple(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter))
    yield path.name, rows


def _header(cells: Sequence[object], columns: Sequence[Column]) -> tuple[list[int], list[str]]:
    """Indices of the wanted columns in a candidate header row, and the names missing."""
    names = [_norm(c) for c in cells]
    found, missing = [], []
    for column in columns:
        index = next(
            (i for i, n in enumerate(names) if any(n.startswith(s) for s in column.starts)), None
        )
        if index is None:
            missing.append(column.name)
        else:
            found.append(index)
    return found, missing


def _from_rows(
    file: str, name: str, rows: Iterator[tuple[object, ...]], columns: Sequence[Column]
) -> Sheet | list[str]:
    """The sheet's wanted cells, or the columns missing from its best header candidate."""
    best: list[str] = [c.name for c in columns]
    for line, cells in enumerate(rows, start=1):
        found, missing = _header(cells, columns)
        if not missing:
            data = [
                (n, tuple(_cell(r[i]) if i < len(r) else "" for i in found))
                for n, r in enumerate(rows, start=line + 1)
            ]
            return Sheet(file, name, [(n, c) for n, c in data if any(c)])
        if len(missing) < len(best):
            best = missing
        if line >= _HEADER_SEARCH:
            break
    return best


def read_sheet(path: Path, columns: Sequence[Column], *, what: str, sheet: str | None) -> Sheet:
    """The first sheet of ``path`` (``sheet`` first when it exists) with all ``columns``."""
    if not path.is_file():
        msg = f"{what} file {str(path)!r} not found: download it from INSEE's NAF 2025 page"
        raise SourceError(msg)
    reader = _csv_sheets if path.suffix.lower() in {".csv", ".txt"} else _xlsx_sheets
    sheets = sorted(reader(path), key=lambda s: s[0] != sheet)
    tried = []
    for name, rows in sheets:
        found = _from_rows(path.name, name, rows, columns)
        if isinstance(found, Sheet):
            return found
        tried.append(f"sheet {name!r} has no column {' / '.join(repr(m) for m in found)}")
    wanted = "; ".join(f"{c.name!r} (header starting with {c.starts[0]!r})" for c in columns)
    msg = (
        f"{path.name}: no sheet with the columns of the {what} ({wanted}): "
        + "; ".join(tried)
        + ". Give INSEE's file as published, or a CSV export of its sheet"
    )
    raise SourceError(msg)
