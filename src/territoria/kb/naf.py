"""Reference data: the NAF rev. 2 nomenclature of activities.

Shipped as package data (``territoria/data/naf/naf_rev2.csv``), read by the SIRENE importer
(which writes it into the ``naf`` table with its provenance) and by the economic analyses
(labels, levels); it belongs to no importer.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

import duckdb
import pyarrow as pa

__all__ = [
    "NAF_ADDRESS",
    "NAF_LEVELS",
    "NAF_LICENCE",
    "NAF_PUBLISHER",
    "NAF_VERSION",
    "NafCode",
    "naf_codes",
    "naf_label",
    "naf_table",
    "register_naf",
]

NAF_PUBLISHER = "INSEE (nomenclature); packaged by the French social ministries (SocialGouv)"
NAF_LICENCE = "Apache-2.0 (@socialgouv/codes-naf); nomenclature: Licence Ouverte 2.0 (Etalab)"
NAF_ADDRESS = "https://www.npmjs.com/package/@socialgouv/codes-naf"
NAF_VERSION = "1.1.1"

#: Levels of the nomenclature, from the coarsest; ``group`` is the 3-digit level ("62.0").
NAF_LEVELS = ("section", "division", "group", "class", "subclass")


@dataclass(frozen=True)
class NafCode:
    """One code of the NAF rev. 2."""

    code: str
    level: str
    label: str
    section: str
    division: str
    group: str
    klass: str
    parent: str


@functools.cache
def naf_codes() -> dict[str, NafCode]:
    """Every NAF rev. 2 code (sections to sous-classes) with its French label, by code."""
    text = (
        resources.files("territoria").joinpath("data/naf/naf_rev2.csv").read_text(encoding="utf-8")
    )
    found: dict[str, NafCode] = {}
    for row in csv.DictReader(text.splitlines()):
        found[row["code"]] = NafCode(
            code=row["code"],
            level=row["level"],
            label=row["label"],
            section=row["section"],
            division=row["division"],
            group=row["group"],
            klass=row["class"],
            parent=row["parent"],
        )
    return found


def naf_label(code: str) -> str | None:
    """French label of a NAF rev. 2 code at any level, or None if the code is unknown."""
    entry = naf_codes().get(code)
    return entry.label if entry else None


def naf_table() -> pa.Table:
    """The nomenclature as an Arrow table shaped like the ``naf`` table (without source_id)."""
    codes = list(naf_codes().values())

    def col(values: list[str]) -> pa.Array:
        return pa.array([v or None for v in values], type=pa.string())

    return pa.table(
        {
            "code": col([c.code for c in codes]),
            "level": col([c.level for c in codes]),
            "label": col([c.label for c in codes]),
            "section": col([c.section for c in codes]),
            "division": col([c.division for c in codes]),
            "naf_group": col([c.group for c in codes]),
            "naf_class": col([c.klass for c in codes]),
            "parent": col([c.parent for c in codes]),
        }
    )


def register_naf(con: duckdb.DuckDBPyConnection, name: str = "s_naf") -> None:
    """Create the temporary table ``name`` holding the nomenclature."""
    con.register("naf_arrow", naf_table())
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM naf_arrow")
    finally:
        con.unregister("naf_arrow")
