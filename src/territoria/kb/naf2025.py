"""Reference data: the NAF 2025 nomenclature and its official correspondence with the NAF rev. 2.

NAF 2025 (INSEE, *nomenclature d'activités française révision 2025*) is the French extension of the
NACE Rev. 2.1 (Regulation (EU) 2023/137); it becomes the APE of every unit on 1 January 2027 and
SIRENE files carry it in ``activitePrincipaleNAF25Etablissement`` (and
``activitePrincipaleNAF25UniteLegale``) next to the NAF rev. 2 code. Shipped as package data
(``territoria/data/naf/naf_2025.csv``: the 747 sous-classes and their INSEE labels;
``naf_rev2_naf2025.csv``: the 1,223 rows of INSEE's correspondence table, see ``SOURCE.txt``).

A NAF 2025 code ``NN.NNL`` spells its own ancestors: class ``NN.NN``, group ``NN.N``, division
``NN``; the section comes from the division ranges of the NACE Rev. 2.1 (22 sections, A to V).
Labels are shipped for the sous-classes only (the INSEE *Structure NAF 2025* sheets of sections,
divisions, groups and classes were not available offline); a class with a single sous-classe (the
``Y`` suffix) takes that sous-classe's label, other levels have none.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

import duckdb
import pyarrow as pa

__all__ = [
    "NACE21_SECTIONS",
    "NAF25_ADDRESS",
    "NAF25_LICENCE",
    "NAF25_PUBLISHER",
    "NAF25_VERSION",
    "NafCorrespondence",
    "naf25_codes",
    "naf25_label",
    "naf25_section",
    "naf_correspondence",
    "register_naf25",
]

NAF25_PUBLISHER = "INSEE"
NAF25_LICENCE = "Licence Ouverte 2.0 (Etalab)"
NAF25_ADDRESS = "https://www.insee.fr/fr/information/8617910"
NAF25_VERSION = "NAF 2025 (Structure NAF 2025 mise à jour 2024-10-04; correspondance NAF rév. 2)"

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


def _read(name: str) -> list[dict[str, str]]:
    path = resources.files("territoria").joinpath(f"data/naf/{name}")
    return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))


@functools.cache
def naf25_codes() -> dict[str, str]:
    """The 747 NAF 2025 sous-classes with their French label (INSEE), by code."""
    return {row["code"]: row["label"] for row in _read("naf_2025.csv")}


@functools.cache
def naf_correspondence() -> tuple[NafCorrespondence, ...]:
    """The official correspondence table, one entry per (rev. 2, 2025) pair."""
    return tuple(
        NafCorrespondence(row["naf_rev2"], row["naf_2025"], row["kind"])
        for row in _read("naf_rev2_naf2025.csv")
    )


def naf25_section(division: str) -> str | None:
    """Section letter of a NAF 2025 division (``"62"`` → ``"K"``), or None if unknown."""
    if not division.isdigit():
        return None
    number = int(division)
    return next((s for s, first, last in NACE21_SECTIONS if first <= number <= last), None)


@functools.cache
def _class_labels() -> dict[str, str]:
    by_class: dict[str, list[str]] = {}
    for code in naf25_codes():
        by_class.setdefault(code[:5], []).append(code)
    return {k: naf25_codes()[v[0]] for k, v in by_class.items() if len(v) == 1}


def naf25_label(code: str) -> str | None:
    """French label of a NAF 2025 sous-classe, or of a class with a single sous-classe."""
    return naf25_codes().get(code) or _class_labels().get(code)


def naf25_table() -> pa.Table:
    """The sous-classes with their ancestors, shaped like the ``naf_2025`` table."""
    codes = sorted(naf25_codes())
    return pa.table(
        {
            "code": pa.array(codes, type=pa.string()),
            "label": pa.array([naf25_codes()[c] for c in codes], type=pa.string()),
            "section": pa.array([naf25_section(c[:2]) for c in codes], type=pa.string()),
            "division": pa.array([c[:2] for c in codes], type=pa.string()),
            "naf_group": pa.array([c[:4] for c in codes], type=pa.string()),
            "naf_class": pa.array([c[:5] for c in codes], type=pa.string()),
        }
    )


def register_naf25(con: duckdb.DuckDBPyConnection, name: str = "s_naf25") -> None:
    """Create the temporary tables ``name`` (sous-classes) and ``name``_corr (correspondence)."""
    corr = naf_correspondence()
    con.register("naf25_arrow", naf25_table())
    con.register(
        "naf25_corr_arrow",
        pa.table(
            {
                "naf_rev2": pa.array([c.naf_rev2 for c in corr], type=pa.string()),
                "naf_2025": pa.array([c.naf_2025 for c in corr], type=pa.string()),
                "kind": pa.array([c.kind for c in corr], type=pa.string()),
            }
        ),
    )
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM naf25_arrow")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_corr AS SELECT * FROM naf25_corr_arrow")
    finally:
        con.unregister("naf25_arrow")
        con.unregister("naf25_corr_arrow")
