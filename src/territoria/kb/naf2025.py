"""Reference data: the NAF 2025 nomenclature and its official correspondence with the NAF rev. 2.

NAF 2025 (INSEE, *nomenclature d'activités française révision 2025*) is the French extension of the
NACE Rev. 2.1 (Regulation (EU) 2023/137); it becomes the APE of every unit on 1 January 2027 and
SIRENE files carry it in ``activitePrincipaleNAF25Etablissement`` (and
``activitePrincipaleNAF25UniteLegale``) next to the NAF rev. 2 code.

Territoria does not ship the nomenclature: the user downloads INSEE's two files ("Structure NAF
2025" and "Correspondances NAF rév. 2 – NAF 2025", https://www.insee.fr/fr/information/8617910)
and imports them with ``territoria import naf2025`` (:mod:`territoria.sources.naf2025`) into the
``naf_2025`` and ``naf_correspondence`` tables. Everything here reads those tables; when they are
empty, NAF 2025 codes are checked by their form only and shown without a label.

A NAF 2025 code ``NN.NNL`` spells its own ancestors: class ``NN.NN``, group ``NN.N``, division
``NN``; the section comes from the division ranges of the NACE Rev. 2.1 (22 sections, A to V).
Labels are those of INSEE's structure sheet at every level (``naf_2025_level`` above the
sous-classes); a class the sheet does not name takes its single sous-classe's label if it has one.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

__all__ = [
    "NACE21_SECTIONS",
    "NAF25_ADDRESS",
    "NAF25_CODE_PATTERN",
    "NAF25_LICENCE",
    "NAF25_NOT_IMPORTED",
    "NAF25_PUBLISHER",
    "NAF25_SOURCE_NAME",
    "NafCorrespondence",
    "naf25_imported",
    "naf25_labels",
    "naf25_section",
    "naf25_section_sql",
    "naf_correspondence",
]

NAF25_SOURCE_NAME = "naf-2025"
NAF25_PUBLISHER = "INSEE"
NAF25_LICENCE = "Licence Ouverte 2.0 (Etalab)"
NAF25_ADDRESS = "https://www.insee.fr/fr/information/8617910"
#: A NAF 2025 sous-classe as INSEE writes it in the nomenclature: '62.10Y'.
NAF25_CODE_PATTERN = r"[0-9]{2}\.[0-9]{2}[A-Z]"
NAF25_NOT_IMPORTED = (
    "NAF 2025 nomenclature not imported (territoria import naf2025): codes shown as written, "
    "without label"
)

#: Sections of the NACE Rev. 2.1 (hence of the NAF 2025): letter, first and last division.
NACE21_SECTIONS: tuple[tuple[str, int, int], ...] = (
    ("A", 1, 3), ("B", 5, 9), ("C", 10, 33), ("D", 35, 35), ("E", 36, 39), ("F", 41, 43),
    ("G", 46, 47), ("H", 49, 53), ("I", 55, 56), ("J", 58, 60), ("K", 61, 63), ("L", 64, 66),
    ("M", 68, 68), ("N", 69, 75), ("O", 77, 82), ("P", 84, 84), ("Q", 85, 85), ("R", 86, 88),
    ("S", 90, 93), ("T", 94, 96), ("U", 97, 98), ("V", 99, 99),
)  # fmt: skip


@dataclass(frozen=True)
class NafCorrespondence:
    """One row of the official NAF rev. 2 → NAF 2025 correspondence."""

    naf_rev2: str
    naf_2025: str
    kind: str  # "unique": the whole rev. 2 sous-classe; "multiple": part of it


def naf25_section(division: str) -> str | None:
    """Section letter of a NAF 2025 division (``"62"`` → ``"K"``), or None if unknown."""
    if not division.isdigit():
        return None
    number = int(division)
    return next((s for s, first, last in NACE21_SECTIONS if first <= number <= last), None)


def naf25_section_sql(division: str) -> str:
    """SQL expression of the section letter of the division expression ``division``."""
    whens = " ".join(
        f"WHEN TRY_CAST({division} AS INTEGER) BETWEEN {first} AND {last} THEN '{letter}'"
        for letter, first, last in NACE21_SECTIONS
    )
    return f"CASE {whens} END"


def naf25_imported(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the knowledge base holds the NAF 2025 (``territoria import naf2025``)."""
    row = con.execute("SELECT count(*) FROM (SELECT 1 FROM naf_2025 LIMIT 1)").fetchone()
    return bool(row and row[0])


def naf25_labels(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """French labels by code: every level the structure names (a class it does not name, with a
    single sous-classe, takes that sous-classe's label)."""
    rows = con.execute(
        """
        SELECT code, arg_min(label, rank) FROM (
            SELECT naf_class AS code, min(label) AS label, 2 AS rank FROM naf_2025
            GROUP BY naf_class HAVING count(*) = 1
            UNION ALL SELECT code, label, 1 FROM naf_2025_level
            UNION ALL SELECT code, label, 0 FROM naf_2025
        ) GROUP BY code
        """
    ).fetchall()
    return {str(code): str(label) for code, label in rows}


def naf_correspondence(con: duckdb.DuckDBPyConnection) -> tuple[NafCorrespondence, ...]:
    """The imported correspondence table, one entry per (rev. 2, 2025) pair (empty if none)."""
    rows = con.execute(
        "SELECT naf_rev2, naf_2025, kind FROM naf_correspondence ORDER BY naf_rev2, naf_2025"
    ).fetchall()
    return tuple(NafCorrespondence(str(a), str(b), str(k)) for a, b, k in rows)
