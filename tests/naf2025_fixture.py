"""A NAF 2025 nomenclature for tests, in the layout of INSEE's files — NOT the official content.

Every NAF rév. 2 sous-classe ``AB.CDx`` goes to the made-up NAF 2025 sous-classe ``AB.C0Y``, so
that indices in the two nomenclatures differ at the class level; labels are made up too.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from openpyxl import Workbook

from territoria.kb.naf import naf_codes
from territoria.sources.naf2025 import import_naf2025

__all__ = ["import_fixture_naf2025"]


def _book(path: Path, title: str, header: list[str], rows: list[list[str]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def import_fixture_naf2025(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Write the two fixture workbooks under ``folder`` and import them."""
    rev2 = sorted(c for c, n in naf_codes().items() if n.level == "subclass")
    pairs = [[old, f"{old[:4]}0Y"] for old in rev2]
    targets = sorted({new for _, new in pairs})
    folder.mkdir(parents=True, exist_ok=True)
    structure = _book(
        folder / "Structure NAF 2025 (fixture).xlsx", "NAF 2025", ["Code", "Intitulé"],
        [[code, f"Sous-classe {code} (fixture)"] for code in targets],
    )  # fmt: skip
    correspondence = _book(
        folder / "Correspondances (fixture).xlsx", "Correspondances",
        ["NAFold-code", "NAFnew-code"], pairs,
    )  # fmt: skip
    import_naf2025(con, structure=structure, correspondence=correspondence)
