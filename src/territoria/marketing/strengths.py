"""The strengths a territory's data shows, each with its figure, year and source, in French.

- ``croissance``: the population grew over the years the knowledge base holds (mean annual
  rate, first and last year), with the share of the territories of its level it outgrew;
- ``rang``: an indicator of the polarity table (``data/marketing/indicators.json``) on which
  the territory does best among itself and its peers (:mod:`territoria.marketing.learn`);
- ``specialisation``: the sectors (NAF divisions) with a location quotient of at least
  :data:`MIN_LQ` on estimated employment, against all the establishments imported (the text
  says so when they cover only some régions: "face à la région Bretagne (seule région
  importée)"); only when SIRENE is imported, and "données synthétiques" when its source is
  synthetic;
- ``pole``: the poles (:func:`territoria.analysis.poles.detect_poles`, over the territory's
  région) that include one of its communes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, Field

from territoria._formats import number
from territoria.errors import TerritoriaError
from territoria.kb.territories import TerritoryCard, find_territory

if TYPE_CHECKING:
    import duckdb

    from territoria.marketing.learn import PeerRef

__all__ = ["MIN_LQ", "Strength", "strengths"]

#: Location quotient above which a sector is a specialisation.
MIN_LQ: Final = 1.5
#: Estimated jobs a specialised sector needs at least (small numbers make large quotients).
MIN_JOBS: Final = 50.0
SECTORS_SHOWN: Final = 3
#: Régions with establishments from which the quotients' reference is called France.
REGIONS_FOR_FRANCE: Final = 18
#: Poles listed at most (the largest by establishments).
POLES_SHOWN: Final = 5
LEVEL_NAMES: Final = {
    "commune": "communes",
    "epci": "intercommunalités",
    "departement": "départements",
    "region": "régions",
    "arrondissement_municipal": "arrondissements municipaux",
}
ECONOMY_LEVELS: Final = ("commune", "epci", "departement", "region")


class Strength(BaseModel):
    """One strength: what it is, in French, with the figure it rests on and its provenance."""

    kind: str = Field(description="croissance, rang, specialisation or pole.")
    text: str
    figure: float | None
    unit: str
    year: str | None
    source: str
    synthetic: bool = False


def _fr(value: float, digits: int = 1) -> str:
    return number(value, "fr", digits)


def _growth(con: duckdb.DuckDBPyConnection, place: TerritoryCard) -> list[Strength]:
    rows = con.execute(
        """
        WITH s AS (
            SELECT code, min(period) AS y0, max(period) AS y1,
                   arg_min(value, period) AS p0, arg_max(value, period) AS p1,
                   any_value(source_id) AS source_id
            FROM indicator_value WHERE indicator = 'population' AND level = ? GROUP BY code
            HAVING min(period) < max(period) AND arg_min(value, period) > 0
        ), g AS (
            SELECT *, 100 * (pow(p1 / p0, 1.0 / (y1::INTEGER - y0::INTEGER)) - 1) AS rate,
                   percent_rank() OVER (ORDER BY
                       pow(p1 / p0, 1.0 / (y1::INTEGER - y0::INTEGER))) AS pr
            FROM s
        )
        SELECT g.y0, g.y1, g.p0, g.p1, g.rate, g.pr, src.name, src.dataset, src.synthetic
        FROM g JOIN source src ON src.id = g.source_id WHERE g.code = ?
        """,
        [place.level, place.code],
    ).fetchall()
    if not rows or rows[0][4] <= 0:
        return []
    y0, y1, p0, p1, rate, pr, name, dataset, synthetic = rows[0]
    level = LEVEL_NAMES.get(place.level, place.level)
    text = (
        f"Population en croissance : +{_fr(rate, 2)} % par an de {y0} à {y1} "
        f"({number(p0, 'fr')} → {number(p1, 'fr')} habitants), plus vite que "
        f"{_fr(100 * pr, 0)} % des {level}"
    )
    return [
        Strength(
            kind="croissance",
            text=text,
            figure=round(rate, 3),
            unit="%/an",
            year=f"{y0}-{y1}",
            source=f"{name} ({dataset})",
            synthetic=bool(synthetic),
        )
    ]


def _ranks(
    con: duckdb.DuckDBPyConnection, place: TerritoryCard, k: int, peers: list[PeerRef] | None
) -> list[Strength]:
    from territoria.marketing.learn import compare_with_peers

    try:
        lesson = compare_with_peers(con, place.code, level=place.level, k=k, peers=peers)
    except (ImportError, TerritoriaError):  # no peers module, or too few data for peers
        return []
    out = []
    for c in lesson.compared:
        if c.rank == 1 and c.among > 1 and c.value is not None:
            text = (
                f"{c.label} : {_fr(c.value, 2)} {c.unit}, la meilleure valeur parmi ses "
                f"{c.among - 1} territoires comparables"
            )
            out.append(
                Strength(
                    kind="rang",
                    text=text,
                    figure=c.value,
                    unit=c.unit,
                    year=c.period,
                    source=c.source,
                )
            )
    return out


def _economy(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    from territoria.analysis._specialisation_sql import economy_sources, snapshot_date

    row = con.execute("SELECT count(*) FROM establishment").fetchone()
    if not row or not row[0]:
        return None
    info = economy_sources(con)
    when = snapshot_date(con)
    info["year"] = str(when.year) if when else None
    names = [s["name"] + (f" {s['version']}" if s.get("version") else "") for s in info["sources"]]
    flag = " — données synthétiques" if info["synthetic"] else ""
    info["source"] = ", ".join(dict.fromkeys(names)) + flag
    info["reference"] = _reference(con)
    return info


def _reference(con: duckdb.DuckDBPyConnection) -> str:
    """What 'nation' means for the quotients: France, or the only régions imported."""
    rows = con.execute(
        "SELECT DISTINCT t.name FROM (SELECT DISTINCT commune FROM establishment) e "
        "JOIN membership m ON m.level = 'commune' AND m.code = e.commune "
        "AND m.parent_level = 'region' JOIN territory t ON t.level = 'region' "
        "AND t.code = m.parent_code ORDER BY t.name"
    ).fetchall()
    if not rows or len(rows) >= REGIONS_FOR_FRANCE:
        return "face à la France"
    if len(rows) == 1:
        return f"face à la région {rows[0][0]} (seule région importée)"
    return f"face aux régions importées ({', '.join(r[0] for r in rows)})"


def _specialisations(
    con: duckdb.DuckDBPyConnection, place: TerritoryCard, info: dict[str, Any]
) -> list[Strength]:
    from territoria.analysis.specialisation import location_quotients

    if place.level not in ECONOMY_LEVELS:
        return []
    rel = location_quotients(con, level=place.level, code=place.code, sector_level="division")
    top = (
        rel.filter(f"lq >= {MIN_LQ} AND value >= {MIN_JOBS}")
        .order("lq DESC")
        .limit(SECTORS_SHOWN)
        .fetchall()
    )
    labels = dict(
        con.execute(
            "SELECT code, label FROM naf WHERE level = 'division' "
            "AND code IN (SELECT unnest(?::VARCHAR[]))",
            [[r[1] for r in top]],
        ).fetchall()
    )
    rows = [(r[1], labels.get(r[1]), r[8], r[2]) for r in top]
    synthetic = " (données synthétiques)" if info["synthetic"] else ""
    return [
        Strength(
            kind="specialisation",
            text=(
                f"Spécialisation en « {label or sector} » (NAF {sector}) : indice de "
                f"spécialisation {_fr(lq, 1)} {info['reference']}, {number(jobs, 'fr')} emplois "
                f"estimés{synthetic}"
            ),
            figure=round(float(lq), 3),
            unit="indice",
            year=info["year"],
            source=info["source"],
            synthetic=info["synthetic"],
        )
        for sector, label, lq, jobs in rows
    ]


def _region(con: duckdb.DuckDBPyConnection, place: TerritoryCard) -> str | None:
    if place.level == "region":
        return place.code
    row = con.execute(
        "SELECT parent_code FROM membership WHERE level = ? AND code = ? "
        "AND parent_level = 'region' LIMIT 1",
        [place.level, place.code],
    ).fetchone()
    return str(row[0]) if row else None


def _communes(con: duckdb.DuckDBPyConnection, place: TerritoryCard) -> set[str]:
    if place.level == "commune":
        return {place.code}
    rows = con.execute(
        "SELECT code FROM membership WHERE level = 'commune' AND parent_level = ? "
        "AND parent_code = ?",
        [place.level, place.code],
    ).fetchall()
    return {r[0] for r in rows}


def _poles(
    con: duckdb.DuckDBPyConnection, place: TerritoryCard, info: dict[str, Any]
) -> list[Strength]:
    from territoria.analysis.poles import detect_poles

    region = _region(con, place)
    if region is None:
        return []
    mine = _communes(con, place)
    synthetic = " (données synthétiques)" if info["synthetic"] else ""
    out = []
    found = [p for p in detect_poles(con, region=region) if mine & set(p["communes"])]
    found.sort(key=lambda p: -int(p["establishments"]))
    for pole in found[:POLES_SHOWN]:
        emerging = ", émergent" if pole.get("emerging") else ""
        text = (
            f"Pôle « {pole['name']} » : {number(pole['establishments'], 'fr')} "
            f"établissements, indice de spécialisation {_fr(pole['lq'], 1)}"
            f"{emerging}{synthetic}"
        )
        out.append(
            Strength(
                kind="pole",
                text=text,
                figure=float(pole["lq"]),
                unit="indice",
                year=info["year"],
                source=info["source"],
                synthetic=info["synthetic"],
            )
        )
    return out


def strengths(
    con: duckdb.DuckDBPyConnection,
    code: str,
    *,
    level: str | None = None,
    k: int = 10,
    poles: bool = True,
    peers: list[PeerRef] | None = None,
) -> list[Strength]:
    """The strengths of a territory: growth, ranks among its ``k`` peers, sector
    specialisations and poles (``poles=False`` skips pole detection, a few seconds a
    région). ``peers`` (from :func:`territoria.marketing.learn.peers_of`) saves finding
    them again.

    Raises
    ------
    UnknownTerritory
    """
    place = find_territory(con, code, level=level)
    out = _growth(con, place) + _ranks(con, place, k, peers)
    info = _economy(con)
    if info is not None:
        out += _specialisations(con, place, info)
        if poles:
            out += _poles(con, place, info)
    return out
