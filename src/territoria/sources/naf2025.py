"""``territoria import naf2025``: INSEE's NAF 2025 structure and correspondence files.

Territoria does not ship the NAF 2025: the user downloads, from
https://www.insee.fr/fr/information/8617910, the "Structure NAF 2025" workbook (one row per
section, division, group, class and sous-classe: code and *intitulé*) and the "Correspondances
NAF rév. 2 – NAF 2025" workbook (one row per pair of a NAF rév. 2 sous-classe and a NAF 2025
sous-classe, columns ``NAFold-code`` and ``NAFnew-code``), as xlsx or as CSV exports (``;``,
UTF-8 or Latin-1). :func:`import_naf2025` checks every code (its form; that each correspondence
code is in the structure, or in the NAF rév. 2) and replaces the ``naf_2025`` and
``naf_correspondence`` tables in one transaction: on any error nothing is written.

A pair is "unique" when its NAF rév. 2 sous-classe has no other target (the whole of it goes
there), "multiple" otherwise (a part of it).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from territoria.errors import SourceError
from territoria.kb.audit import record
from territoria.kb.naf import naf_codes
from territoria.kb.naf2025 import (
    NAF25_ADDRESS,
    NAF25_CODE_PATTERN,
    NAF25_LICENCE,
    NAF25_PUBLISHER,
    NAF25_SOURCE_NAME,
    naf25_section,
)
from territoria.sources._framework import Progress, SourceRecord, Staging, StepTimer
from territoria.sources._naf2025_read import Column, Sheet, read_sheet

__all__ = ["Naf2025Report", "import_naf2025"]

STRUCTURE_SHEET = "NAF 2025"
STRUCTURE_COLUMNS = (
    Column("Code", ("code",)),
    Column("Intitulé", ("intitule", "libelle")),
)
CORRESPONDENCE_COLUMNS = (
    Column("NAFold-code", ("nafold-code", "naf rev. 2", "naf rev2", "naf_rev2", "code naf rev")),
    Column("NAFnew-code", ("nafnew-code", "naf 2025", "naf2025", "naf_2025", "code naf 2025")),
)
_TABLES = ("naf_2025", "naf_2025_level", "naf_correspondence")
_LEVELS = (  # level, form of its code in the structure
    ("section", r"(SECTION )?[A-V]"),
    ("division", r"[0-9]{2}"),
    ("group", r"[0-9]{2}\.[0-9]"),
    ("class", r"[0-9]{2}\.[0-9]{2}"),
    ("subclass", NAF25_CODE_PATTERN),
)


@dataclass
class Naf2025Report:
    """What ``territoria import naf2025`` did."""

    structure: str
    correspondence: str
    levels: dict[str, int] = field(default_factory=dict)
    subclasses: int = 0
    pairs: int = 0
    unique: int = 0
    multiple: int = 0
    rev2_codes: int = 0
    without_target: list[str] = field(default_factory=list)
    replaced_previous: int = 0
    establishments_outside: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _level(code: str) -> str | None:
    return next((lv for lv, form in _LEVELS if re.fullmatch(form, code)), None)


def _structure(sheet: Sheet, report: Naf2025Report) -> tuple[pa.Table, pa.Table]:
    """The sous-classes of the structure sheet, and its other levels with their intitulé;
    every code must have the form of a level."""
    codes: dict[str, str] = {}
    levels: dict[str, tuple[str, str]] = {}
    for line, (code, label) in sheet.rows:
        level = _level(code)
        if level is None:
            msg = (
                f"{sheet.where(line)}: code {code!r} is not a NAF 2025 code (section letter, "
                "'62', '62.1', '62.10' or sous-classe '62.10Y'): correct the row or use "
                "INSEE's file as published"
            )
            raise SourceError(msg)
        report.levels[level] = report.levels.get(level, 0) + 1
        if level == "subclass":
            if code in codes or not label:
                problem = "appears twice" if code in codes else "has no intitulé"
                raise SourceError(f"{sheet.where(line)}: sous-classe {code!r} {problem}")
            codes[code] = label
        elif label:
            levels[code.removeprefix("SECTION ")] = (level, label)
    if not codes:
        raise SourceError(f"{sheet.file}, sheet {sheet.name!r}: no NAF 2025 sous-classe")
    ordered = sorted(codes)
    subclasses = pa.table(
        {
            "code": ordered,
            "label": [codes[c] for c in ordered],
            "section": [naf25_section(c[:2]) or "" for c in ordered],
            "division": [c[:2] for c in ordered],
            "naf_group": [c[:4] for c in ordered],
            "naf_class": [c[:5] for c in ordered],
        }
    )
    above = sorted(levels)
    return subclasses, pa.table(
        {
            "code": above,
            "level": [levels[c][0] for c in above],
            "label": [levels[c][1] for c in above],
        }
    )


def _pairs(sheet: Sheet, naf25: set[str]) -> list[tuple[str, str]]:
    """The (rev. 2, 2025) pairs; each code must be a sous-classe of its nomenclature."""
    rev2 = {c for c, n in naf_codes().items() if n.level == "subclass"}
    pairs: dict[tuple[str, str], None] = {}
    for line, (old, new) in sheet.rows:
        if old not in rev2:
            msg = f"{sheet.where(line)}: NAFold-code {old!r} is not a NAF rév. 2 sous-classe"
            raise SourceError(msg)
        if new not in naf25:
            msg = (
                f"{sheet.where(line)}: NAFnew-code {new!r} is not a sous-classe of the NAF "
                "2025 structure given: give the structure and correspondence of the same edition"
            )
            raise SourceError(msg)
        pairs[(old, new)] = None
    if not pairs:
        raise SourceError(f"{sheet.file}, sheet {sheet.name!r}: no correspondence row")
    return list(pairs)


def _correspondence(pairs: list[tuple[str, str]], report: Naf2025Report) -> pa.Table:
    targets: dict[str, int] = {}
    for old, _ in pairs:
        targets[old] = targets.get(old, 0) + 1
    kinds = ["unique" if targets[old] == 1 else "multiple" for old, _ in pairs]
    report.pairs, report.rev2_codes = len(pairs), len(targets)
    report.unique = kinds.count("unique")
    report.multiple = len(kinds) - report.unique
    return pa.table(
        {"naf_rev2": [p[0] for p in pairs], "naf_2025": [p[1] for p in pairs], "kind": kinds}
    )


def _source(path: Path, dataset: str, now: datetime) -> SourceRecord:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    return SourceRecord(
        name=NAF25_SOURCE_NAME,
        dataset=dataset,
        publisher=NAF25_PUBLISHER,
        licence=NAF25_LICENCE,
        retrieved_at=datetime.fromtimestamp(path.stat().st_mtime, tz=UTC),
        version=path.name,
        reference_date=None,
        address=NAF25_ADDRESS,
        note=f"file {path.name}, {len(data):,} bytes, sha256 {digest}; imported {now:%Y-%m-%d}",
    )


def import_naf2025(
    con: duckdb.DuckDBPyConnection,
    *,
    structure: Path,
    correspondence: Path,
    progress: Progress | None = None,
) -> Naf2025Report:
    """Import INSEE's NAF 2025 structure and correspondence files (see the module docstring)."""
    report = Naf2025Report(structure=str(structure), correspondence=str(correspondence))
    step = StepTimer(report, progress)
    step("structure")
    sheet = read_sheet(structure, STRUCTURE_COLUMNS, what="NAF 2025 structure",
                       sheet=STRUCTURE_SHEET)  # fmt: skip
    codes, above = _structure(sheet, report)
    report.subclasses = codes.num_rows
    step("correspondence")
    corr_sheet = read_sheet(
        correspondence, CORRESPONDENCE_COLUMNS, what="NAF rév. 2 – NAF 2025 correspondence",
        sheet=None,
    )  # fmt: skip
    corr = _correspondence(_pairs(corr_sheet, set(codes.column("code").to_pylist())), report)
    targeted = set(corr.column("naf_2025").to_pylist())
    report.without_target = sorted(set(codes.column("code").to_pylist()) - targeted)
    step("write")
    _write(con, report, (structure, codes, above), (correspondence, corr))
    step("")
    return report


def _write(
    con: duckdb.DuckDBPyConnection,
    report: Naf2025Report,
    structure: tuple[Path, pa.Table, pa.Table],
    correspondence: tuple[Path, pa.Table],
) -> None:
    with Staging(con, "nafimp_") as staging:
        ids = [
            staging.source(_source(structure[0], "Structure NAF 2025", staging.now)),
            staging.source(
                _source(correspondence[0], "Correspondances NAF rév. 2 – NAF 2025", staging.now)
            ),
        ]
        con.register("nafimp_codes_arrow", structure[1])
        con.register("nafimp_corr_arrow", correspondence[1])
        con.register("nafimp_levels_arrow", structure[2])
        try:
            with staging.swap(names=[NAF25_SOURCE_NAME],
                              tables=_TABLES) as done:  # fmt: skip
                con.execute(f"INSERT INTO naf_2025 SELECT *, {ids[0]} FROM nafimp_codes_arrow")
                con.execute(
                    f"INSERT INTO naf_2025_level SELECT *, {ids[0]} FROM nafimp_levels_arrow"
                )
                con.execute(
                    f"INSERT INTO naf_correspondence SELECT *, {ids[1]} FROM nafimp_corr_arrow"
                )
                report.replaced_previous = done.deleted.get("naf_2025", 0)
                report.establishments_outside = _outside(con)
                record(con, "import.naf2025", target=NAF25_SOURCE_NAME,
                       detail={"subclasses": report.subclasses, "pairs": report.pairs})  # fmt: skip
        finally:
            con.unregister("nafimp_codes_arrow")
            con.unregister("nafimp_corr_arrow")
            con.unregister("nafimp_levels_arrow")


def _outside(con: duckdb.DuckDBPyConnection) -> int:
    """Establishments imported before whose NAF 2025 code is not in the new structure."""
    row = con.execute(
        "SELECT count(*) FROM establishment WHERE naf25 IS NOT NULL "
        "AND naf25 NOT IN (SELECT code FROM naf_2025)"
    ).fetchone()
    return int(row[0]) if row else 0
