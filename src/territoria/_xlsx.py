"""Excel workbooks (XLSX) written with XlsxWriter: typed cells, never a formula.

Text is always written as text (``write_string``), so a name such as ``=HYPERLINK(...)`` stays
text in the workbook, whatever a spreadsheet would make of it in a CSV; numbers are numbers,
dates are dates, missing values are empty cells.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import xlsxwriter

__all__ = ["Sheet", "write_workbook"]

#: Excel's limit on a sheet name.
_SHEET_NAME = 31


@dataclass
class Sheet:
    """One sheet: a header row, then rows of plain values."""

    name: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    widths: Sequence[int] | None = None


def write_workbook(target: Path | IO[bytes], sheets: Sequence[Sheet]) -> None:
    """Write ``sheets`` as an XLSX workbook to a file or a binary stream."""
    workbook = xlsxwriter.Workbook(
        str(target) if isinstance(target, Path) else target,
        {
            "constant_memory": True,  # rows are written in order: memory stays flat
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "in_memory": not isinstance(target, Path),
        },
    )
    bold = workbook.add_format({"bold": True})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for sheet in sheets:
        worksheet = workbook.add_worksheet(sheet.name[:_SHEET_NAME])
        for col, header in enumerate(sheet.headers):
            worksheet.write_string(0, col, header, bold)
            width = sheet.widths[col] if sheet.widths else max(10, min(40, len(header) + 2))
            worksheet.set_column(col, col, width)
        worksheet.freeze_panes(1, 0)
        count = 0
        for row_number, row in enumerate(sheet.rows, start=1):
            count = row_number
            for col, value in enumerate(row):
                _write(worksheet, row_number, col, value, day)
        if sheet.headers:
            worksheet.autofilter(0, 0, max(count, 1), len(sheet.headers) - 1)
    workbook.close()


def _write(worksheet: Any, row: int, col: int, value: Any, day: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        worksheet.write_boolean(row, col, value)
    elif isinstance(value, datetime):
        worksheet.write_datetime(row, col, value.replace(tzinfo=None), day)
    elif isinstance(value, date):
        worksheet.write_datetime(row, col, datetime(value.year, value.month, value.day), day)
    elif isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return
        worksheet.write_number(row, col, value)
    elif hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        _write(worksheet, row, col, value.item(), day)
    else:
        text = str(value)
        if text:
            worksheet.write_string(row, col, text)
