"""CSV exports that a spreadsheet will not execute (CSV or formula injection).

Excel, LibreOffice and Google Sheets read a cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return as a formula: ``=HYPERLINK("http://x", "clic")`` typed as the
subject of an action would become a live link in the HATVP report opened by a colleague.
Following OWASP, every CSV the product writes prefixes such *text* cells with a single quote
(``'=HYPERLINK(...)``), which spreadsheets show as text. Numbers are left alone: ``-3.5`` in a
numeric column stays a number.

Every CSV writer goes through this module: :func:`writer` for CSV built in Python, and
:func:`neutralised_column` for CSV written by DuckDB's ``COPY ... TO``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any, Final

__all__ = ["TRIGGERS", "SafeWriter", "neutralise", "neutralised_column", "writer"]

#: First characters that make a spreadsheet evaluate a cell.
TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Return ``value`` with a leading ``'`` if it is text a spreadsheet would evaluate.

    Numbers, dates and ``None`` are returned unchanged.
    """
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


class SafeWriter:
    """A :func:`csv.writer` whose text cells are neutralised."""

    def __init__(self, out: IO[str], **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row."""
        self._writer.writerow([neutralise(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write several rows."""
        for row in rows:
            self.writerow(row)


def writer(out: IO[str], **options: Any) -> SafeWriter:
    """Return a CSV writer on ``out`` (options as for :func:`csv.writer`) that neutralises
    text cells."""
    return SafeWriter(out, **options)


def neutralised_column(name: str, sql_type: str) -> str:
    """Return a DuckDB ``SELECT`` expression for column ``name`` that neutralises its text
    cells (columns of another type are selected as they are)."""
    quoted = '"' + name.replace('"', '""') + '"'
    if sql_type.upper() not in ("VARCHAR", "TEXT", "STRING"):
        return quoted
    starts = ", ".join(f"chr({ord(c)})" for c in TRIGGERS)
    return (
        f"CASE WHEN left({quoted}, 1) IN ({starts}) THEN '''' || {quoted} "
        f"ELSE {quoted} END AS {quoted}"
    )
