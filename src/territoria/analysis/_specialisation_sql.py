"""Internals of :mod:`territoria.analysis.specialisation`: the SQL of establishment stocks,
territory codes, snapshot date and provenance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from territoria.errors import InvalidAnalysisRequest, NoEstablishments, UnknownLevel
from territoria.kb.naf import naf_label

#: NAF levels and the ``establishment`` column (or expression) holding the code.
SECTOR_LEVELS = {
    "section": "section",
    "division": "division",
    "group": "naf_group",
    "class": "left(naf, 5)",
    "subclass": "naf",
}
#: The same for the NAF 2025 codes of the establishments (migration 0021).
SECTOR_LEVELS_2025 = {
    "section": "naf25_section",
    "division": "naf25_division",
    "group": "naf25_group",
    "class": "left(naf25, 5)",
    "subclass": "naf25",
}
#: Nomenclatures the indices can use: NAF rev. 2 (the APE until 31 December 2026) and NAF 2025.
NOMENCLATURES = ("rev2", "2025")
_HISTORY_SECTOR = {
    "section": "n.section",
    "division": "n.division",
    "group": "n.naf_group",
    "class": "n.naf_class",
    "subclass": "n.code",
}
#: Territorial levels establishments can be aggregated to (through their commune).
LEVELS = ("commune", "epci", "departement", "region", "canton", "circonscription", "nation")
MEASURES = ("employment", "establishments")
NATION = "FR"
#: Fewest EPCIs with establishments for the traded/local classification to use EPCIs.
MIN_EPCI = 30


def default_nomenclature(today: dt.date | None = None) -> str:
    """``"2025"`` from 1 January 2027 (NAF 2025 becomes the APE), ``"rev2"`` before."""
    return "2025" if (today or dt.date.today()) >= dt.date(2027, 1, 1) else "rev2"


def check_nomenclature(naf: str) -> None:
    """Refuse a nomenclature other than ``rev2`` and ``2025``."""
    if naf not in NOMENCLATURES:
        msg = f"unknown NAF nomenclature {naf!r}: choose 'rev2' (NAF rév. 2) or '2025' (NAF 2025)"
        raise InvalidAnalysisRequest(msg)


def sector_column(sector_level: str, naf: str = "rev2") -> str:
    """The ``establishment`` column (or expression) of a NAF level in a nomenclature."""
    check_nomenclature(naf)
    if sector_level not in SECTOR_LEVELS:
        msg = f"unknown NAF level {sector_level!r}: choose one of {', '.join(SECTOR_LEVELS)}"
        raise InvalidAnalysisRequest(msg)
    return (SECTOR_LEVELS_2025 if naf == "2025" else SECTOR_LEVELS)[sector_level]


def check(sector_level: str, measure: str, *levels: str) -> None:
    """Check a NAF level, a measure and territorial levels given by a caller."""
    if sector_level not in SECTOR_LEVELS:
        msg = f"unknown NAF level {sector_level!r}: choose one of {', '.join(SECTOR_LEVELS)}"
        raise InvalidAnalysisRequest(msg)
    if measure not in MEASURES:
        msg = f"unknown measure {measure!r}: choose 'employment' or 'establishments'"
        raise InvalidAnalysisRequest(msg)
    for level in levels:
        if level not in LEVELS:
            msg = f"level {level!r} cannot hold establishments: choose one of {', '.join(LEVELS)}"
            raise UnknownLevel(msg)


def sector_label(
    code: str, naf: str = "rev2", naf25: Mapping[str, str] | None = None
) -> str | None:
    """French label of a sector code in its nomenclature (None when unknown): NAF 2025 labels
    come from ``naf25`` (:func:`territoria.kb.naf2025.naf25_labels` of the knowledge base)."""
    if naf == "2025":
        return (naf25 or {}).get(code)
    return naf_label(code)


#: Caveat of every figure at a past date (shift-share, growth of poles).
PAST_EMPLOYMENT_CAVEAT = (
    "past employment counts the establishments open at that date with their current head-count "
    "band: SIRENE keeps no past head-counts, so it shows the change of the stock of "
    "establishments, not of jobs"
)


def reference_scope(
    con: duckdb.DuckDBPyConnection, reference: str, code: str | None
) -> dict[str, Any]:
    """What the reference of the location quotients actually is, and a warning if misleading.

    The "nation" is every establishment of the knowledge base: when SIRENE was imported for
    one région only, it is that région, and the profile says so.
    """
    rows = con.execute(
        """
        SELECT m.parent_code, t.name, count(*) AS n
        FROM establishment e
        JOIN membership m ON m.level = 'commune' AND m.code = e.commune
             AND m.parent_level = 'region'
        LEFT JOIN territory t ON t.level = 'region' AND t.code = m.parent_code
        WHERE e.active GROUP BY ALL ORDER BY n DESC
        """
    ).fetchall()
    regions = [{"code": str(r[0]), "name": str(r[1]) if r[1] else str(r[0])} for r in rows]
    scope: dict[str, Any] = {"kind": reference, "code": code, "regions": len(regions)}
    if reference != "nation":
        name = con.execute(
            "SELECT name FROM territory WHERE level = ? AND code = ?", [reference, code]
        ).fetchone()
        scope["name"] = str(name[0]) if name else code
        return scope
    if len(regions) == 1:
        only = regions[0]
        scope["name"] = f"{only['name']} ({only['code']})"
        scope["warning"] = (
            f"the knowledge base holds SIRENE establishments of one région only, "
            f"{only['name']} ({only['code']}): the 'nation' reference is that région, not France; "
            "import the national SIRENE file for national quotients"
        )
    elif len(regions) >= 18:  # the 13 metropolitan régions and the 5 overseas ones
        scope["name"] = "France"
    else:
        scope["name"] = f"{len(regions)} régions"
        scope["warning"] = (
            f"the 'nation' reference is the {len(regions)} régions whose establishments "
            "were imported, not the whole of France"
        )
    return scope


def has_history(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the establishments' history file was imported."""
    row = con.execute(
        "SELECT count(*) FROM (SELECT 1 FROM establishment_history LIMIT 1)"
    ).fetchone()
    return bool(row and row[0])


def require_establishments(con: duckdb.DuckDBPyConnection) -> None:
    """Raise :class:`NoEstablishments` when SIRENE was not imported."""
    if not has_establishments(con):
        msg = (
            "the knowledge base has no establishments: run 'territoria import sirene' "
            "(or 'territoria synth sirene' then import its files for a demo)"
        )
        raise NoEstablishments(msg)


def has_establishments(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the knowledge base holds SIRENE establishments."""
    row = con.execute("SELECT count(*) FROM (SELECT 1 FROM establishment LIMIT 1)").fetchone()
    return bool(row and row[0])


def stock_sql(
    con: duckdb.DuckDBPyConnection,
    *,
    sector_level: str = "division",
    date: dt.date | None = None,
    naf: str = "rev2",
) -> str:
    """SQL selecting the establishments open at ``date`` (now when None) with a sector.

    Columns: ``siret``, ``commune``, ``sector`` (code at ``sector_level`` in the nomenclature
    ``naf``), ``employment``, ``lon``, ``lat``. The history file holds NAF rev. 2 codes only: in
    NAF 2025, past stocks come from creation and closing dates with today's code.
    """
    column = sector_column(sector_level, naf)
    if date is None:
        return (
            f"SELECT siret, commune, {column} AS sector, employment, lon, lat "
            f"FROM establishment WHERE active AND commune IS NOT NULL AND {column} IS NOT NULL"
        )
    day = f"DATE '{date.isoformat()}'"
    if naf == "rev2" and has_history(con):
        return (
            f"SELECT e.siret, e.commune, {_HISTORY_SECTOR[sector_level]} AS sector, "
            "e.employment, e.lon, e.lat "
            "FROM establishment_history h JOIN establishment e USING (siret) "
            "JOIN naf n ON n.code = h.naf AND n.level = 'subclass' "
            f"WHERE h.active AND coalesce(h.start_date, e.created, DATE '1900-01-01') <= {day} "
            f"AND (h.end_date IS NULL OR h.end_date >= {day}) AND e.commune IS NOT NULL"
        )
    return (
        f"SELECT siret, commune, {column} AS sector, employment, lon, lat FROM establishment "
        f"WHERE commune IS NOT NULL AND {column} IS NOT NULL "
        f"AND (created IS NULL OR created <= {day}) "
        f"AND (active OR (closed IS NOT NULL AND closed > {day}))"
    )


def code_sql(level: str, alias: str) -> tuple[str, str]:
    """(join clause, code expression) placing ``s.commune`` in its territory of ``level``."""
    if level == "nation":
        return "", f"'{NATION}'"
    if level == "commune":
        return "", "s.commune"
    join = (
        f"JOIN membership {alias} ON {alias}.level = 'commune' AND {alias}.code = s.commune "
        f"AND {alias}.parent_level = '{level}'"
    )
    return join, f"{alias}.parent_code"


def snapshot_date(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """Date the SIRENE snapshot describes (its last processing date), if known."""
    row = con.execute(
        "SELECT max(reference_date) FROM source WHERE name = 'sirene' AND dataset = "
        "'StockEtablissement'"
    ).fetchone()
    if not row or not row[0]:
        return None
    try:
        return dt.date.fromisoformat(str(row[0])[:10])
    except ValueError:
        return None


def economy_sources(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Provenance of the economic figures: SIRENE and NAF sources, and a synthetic flag."""
    rows = con.execute(
        "SELECT id, name, dataset, publisher, licence, version, reference_date, synthetic, "
        "imported_at FROM source WHERE name IN ('sirene', 'naf-rev2', 'naf-2025') ORDER BY id"
    ).fetchall()
    sources = [
        {
            "id": r[0],
            "name": r[1],
            "dataset": r[2],
            "publisher": r[3],
            "licence": r[4],
            "version": r[5],
            "reference_date": r[6],
            "synthetic": bool(r[7]),
            "imported_at": str(r[8]),
        }
        for r in rows
    ]
    synthetic = any(s["synthetic"] for s in sources)
    return {
        "synthetic": synthetic,
        "notice": "SYNTHETIC DATA — not real establishments" if synthetic else None,
        "sources": sources,
    }


@dataclass
class SectorMatrix:
    """Territories × sectors values (dense), for the indices and relatedness computations."""

    codes: np.ndarray  # territory codes (object)
    sectors: np.ndarray  # sector codes (object)
    values: np.ndarray  # float64, shape (territories, sectors)
    counts: np.ndarray  # establishment counts, same shape

    def totals(self) -> np.ndarray:
        """Total value of each territory."""
        return np.asarray(self.values.sum(axis=1))


def sector_matrix(
    con: duckdb.DuckDBPyConnection,
    *,
    level: str = "commune",
    sector_level: str = "division",
    measure: str = "employment",
    date: dt.date | None = None,
    communes: list[str] | None = None,
    naf: str = "rev2",
) -> SectorMatrix:
    """Aggregate establishments into a dense territories × sectors matrix.

    ``communes`` restricts the establishments to these communes (a scope such as a région).
    """
    check(sector_level, measure, level)
    require_establishments(con)
    value = "s.employment" if measure == "employment" else "1.0"
    join_t, code_t = code_sql(level, "mt")
    scope = ""
    if communes is not None:
        con.execute("CREATE OR REPLACE TEMP TABLE t_scope (commune VARCHAR)")
        con.executemany("INSERT INTO t_scope VALUES (?)", [[c] for c in communes])
        scope = "WHERE s.commune IN (SELECT commune FROM t_scope)"
    table = con.execute(
        f"""
        SELECT {code_t} AS code, s.sector, sum({value}) AS value, count(*) AS n
        FROM ({stock_sql(con, sector_level=sector_level, date=date, naf=naf)}) s {join_t} {scope}
        GROUP BY ALL
        """
    ).fetchnumpy()
    codes, t_idx = np.unique(np.asarray(table["code"], dtype=object), return_inverse=True)
    sectors, s_idx = np.unique(np.asarray(table["sector"], dtype=object), return_inverse=True)
    values = np.zeros((len(codes), len(sectors)))
    counts = np.zeros((len(codes), len(sectors)))
    values[t_idx, s_idx] = np.asarray(table["value"], dtype=np.float64)
    counts[t_idx, s_idx] = np.asarray(table["n"], dtype=np.float64)
    return SectorMatrix(codes, sectors, values, counts)
