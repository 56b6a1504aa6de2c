"""A territory's portrait in French, as HTML and PDF: what Census Reporter or Géoclip print.

:func:`portrait` gathers a :class:`Portrait` from the knowledge base: the profile
(:func:`territoria.analysis.profile.profile`: identity, population series, officials with
feminised titles, IRIS-based indicators), a map of the territory among its neighbours drawn
from the knowledge base's geometry (:mod:`territoria.reports._portrait_svg`), charts of the
age structure and of housing, strengths, assets and poles
(:mod:`territoria.reports._portrait_economy`), lycées, and every source with its edition and
retrieval date. Synthetic data (the demo's SIRENE) is marked "données synthétiques" wherever it
is used. :func:`portrait_html` and :func:`portrait_pdf` render it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from territoria.analysis._profile_model import IndicatorValue, Profile
from territoria.analysis.profile import profile
from territoria.errors import InvalidQuery
from territoria.kb.establishments import lycees
from territoria.reports import render_html, render_pdf
from territoria.reports._portrait_economy import assets_of, poles_of, strengths_of
from territoria.reports._portrait_model import (
    Chart,
    KeyFigure,
    Portrait,
    PortraitOfficial,
    PortraitSource,
    SeriesPoint,
)
from territoria.reports._portrait_svg import (
    MapShape,
    bar_chart_svg,
    crs_for,
    line_chart_svg,
    map_svg,
)

__all__ = [
    "FORMATS",
    "Portrait",
    "export_portrait",
    "portrait",
    "portrait_body_html",
    "portrait_html",
    "portrait_pdf",
]

#: Output formats and their media types.
FORMATS = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}
#: Lycées listed (``lycees_total`` counts them all).
LYCEES_SHOWN = 40
#: Age groups and dwelling kinds of the charts: (indicator, French label).
AGE_GROUPS = (
    ("P_POP0019", "moins de 20 ans"),
    ("P_POP2064", "20 à 64 ans"),
    ("P_POP65P", "65 ans ou plus"),
)
DWELLINGS = (
    ("P_RP", "résidences principales"),
    ("P_RSECOCC", "résidences secondaires et occasionnelles"),
    ("P_LOGVAC", "logements vacants"),
    ("P_MAISON", "maisons"),
    ("P_APPART", "appartements"),
)
#: Executives shown (mayor, president), and the Parliament's bodies.
EXECUTIVE_CODES = ("MAI", "PRE")
PARLIAMENT = ("Assemblée nationale", "Sénat")

_SHAPES_SQL = """
SELECT code, name, ST_AsWKB(ST_SimplifyPreserveTopology(geom, $tolerance)), code = $code
FROM territory
WHERE level = $level AND list_contains($codes, code) AND geom IS NOT NULL
ORDER BY code <> $code, code
"""
_OWN_SOURCE_SQL = """
SELECT s.name, s.version, s.reference_date FROM territory t JOIN source s ON s.id = t.source_id
WHERE t.level = ? AND t.code = ?
"""
_COMMUNES_SQL = """
SELECT code FROM membership WHERE level = 'commune' AND parent_level = $level
AND parent_code = $code
"""


def _source_label(name: str | None, version: str | None) -> str:
    return f"{name or '?'} {version or ''}".strip()


def _latest(profile_: Profile, indicator: str) -> IndicatorValue | None:
    found = [i for i in profile_.indicators if i.indicator == indicator and i.value is not None]
    return found[-1] if found else None


def _figure(item: IndicatorValue | None, label: str, digits: int = 0) -> KeyFigure | None:
    if item is None:
        return None
    source = _source_label(item.source, item.source_version)
    return KeyFigure(label, item.value, item.unit or "", item.period, source, digits)


def _figures(p: Profile, own: tuple[str, str]) -> tuple[KeyFigure, ...]:
    """Population (latest), area, density, communes, dwellings, shares, lycées."""
    found: list[KeyFigure | None] = []
    if p.population_series:
        last = p.population_series[-1]
        found.append(
            KeyFigure(
                "Population municipale",
                last.value,
                "habitants",
                str(last.year),
                _source_label(last.source, last.version),
            )
        )
    own_source, vintage = own
    found.append(KeyFigure("Superficie", p.area_km2, "km²", vintage, own_source, 1))
    found.append(KeyFigure("Densité", p.density, "hab./km²", vintage, own_source, 1))
    if p.communes_count is not None:
        found.append(KeyFigure("Communes", p.communes_count, "", vintage, own_source))
    found += [
        _figure(_latest(p, "P_LOG"), "Logements"),
        _figure(_latest(p, "part_65p"), "Part des 65 ans ou plus", 1),
        _figure(_latest(p, "part_0019"), "Part des moins de 20 ans", 1),
        _figure(_latest(p, "taux_vacance"), "Taux de logements vacants", 1),
        _figure(_latest(p, "lycees"), "Lycées"),
    ]
    return tuple(f for f in found if f is not None and f.value is not None)


def _chart(
    p: Profile, title: str, parts: tuple[tuple[str, str], ...], total: str, unit: str
) -> Chart | None:
    """Shares of ``total`` (its latest value) held by each part, or None when one is missing."""
    items = [(label, _latest(p, indicator)) for indicator, label in parts]
    base = _latest(p, total)
    if base is None or not base.value or any(i is None for _, i in items):
        return None
    labels = tuple(label for label, _ in items)
    shares = tuple(float(i.value or 0.0) / base.value for _, i in items if i is not None)
    return Chart(
        title,
        labels,
        shares,
        base.value,
        unit,
        base.period,
        _source_label(base.source, base.source_version),
        bar_chart_svg(labels, shares),
    )


def _charts(p: Profile) -> tuple[Chart, ...]:
    found = [
        _chart(p, "Structure par âge", AGE_GROUPS, "P_POP", "habitants"),
        _chart(p, "Logements", DWELLINGS[:3], "P_LOG", "logements"),
        _chart(p, "Maisons et appartements", DWELLINGS[3:], "P_LOG", "logements"),
    ]
    return tuple(c for c in found if c is not None)


def _map(con: duckdb.DuckDBPyConnection, p: Profile) -> tuple[str, str]:
    """The map's SVG and its projection ('' when the territory has no geometry)."""
    if p.bbox is None or p.point is None:
        return "", ""
    xmin, ymin, xmax, ymax = p.bbox
    rows = con.execute(
        _SHAPES_SQL,
        {
            "tolerance": max(xmax - xmin, ymax - ymin) / 600.0,
            "code": p.code,
            "level": p.level,
            "codes": [p.code, *p.neighbours],
        },
    ).fetchall()
    crs = crs_for(p.point.lon, p.point.lat)
    shapes = [MapShape(str(r[0]), str(r[1]), bytes(r[2]), bool(r[3])) for r in rows]
    return map_svg(shapes, crs), crs


def _officials(p: Profile) -> tuple[tuple[PortraitOfficial, ...], tuple[str, ...]]:
    shown = tuple(
        PortraitOfficial(o.name, o.function or o.role or "", o.body or "", o.since)
        for o in p.officials
        if o.function_code in EXECUTIVE_CODES or (o.body in PARLIAMENT)
    )
    notes = tuple(f"{n.name} : {n.note}" for n in p.bodies_without_officials) + tuple(
        f"{n.name} : {n.note}" for n in p.council_notes
    )
    return shown, notes


def _sources(p: Profile, extra: list[dict[str, Any]]) -> tuple[PortraitSource, ...]:
    """The sources, one row per edition (its files listed), oldest retrieval kept."""
    rows = [s.model_dump() for s in p.sources] + extra
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["name"], row.get("version")), []).append(row)
    found = []
    for (name, version), items in sorted(groups.items(), key=lambda g: (g[0][0], str(g[0][1]))):
        first = items[0]
        retrieved = sorted(str(i["retrieved_at"])[:10] for i in items if i.get("retrieved_at"))
        found.append(
            PortraitSource(
                name,
                version,
                tuple(sorted({i["dataset"] for i in items if i.get("dataset")})),
                first.get("publisher"),
                first.get("licence"),
                tuple(sorted({str(i["reference_date"]) for i in items if i.get("reference_date")})),
                retrieved[0] if retrieved else None,
                first.get("address"),
                any(bool(i.get("synthetic")) for i in items),
            )
        )
    return tuple(found)


def _economy_sources(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT name, dataset, version, publisher, licence, reference_date, retrieved_at, "
        "address, synthetic FROM source WHERE name IN ('sirene', 'naf-rev2', 'naf-2025')"
    ).fetchall()
    keys = (
        "name",
        "dataset",
        "version",
        "publisher",
        "licence",
        "reference_date",
        "retrieved_at",
        "address",
        "synthetic",
    )
    return [dict(zip(keys, r, strict=True)) for r in rows]


def _own_source(con: duckdb.DuckDBPyConnection, p: Profile) -> tuple[str, str]:
    """The source of the territory's row (its area, density and geometry) and its vintage."""
    row = con.execute(_OWN_SOURCE_SQL, [p.level, p.code]).fetchone()
    return (_source_label(row[0], row[1]), str(row[2] or "")) if row else ("?", "")


def _region_and_communes(con: duckdb.DuckDBPyConnection, p: Profile) -> tuple[str | None, set[str]]:
    region = (
        p.code
        if p.level == "region"
        else next((x.code for x in p.parents if x.level == "region"), None)
    )
    if p.level == "commune":
        return region, {p.code}
    rows = con.execute(_COMMUNES_SQL, {"level": p.level, "code": p.code}).fetchall()
    return region, {str(r[0]) for r in rows}


def portrait(
    con: duckdb.DuckDBPyConnection,
    code: str,
    *,
    level: str | None = None,
    generated: dt.date | None = None,
) -> Portrait:
    """Return the portrait of the territory with this code.

    Parameters
    ----------
    con
        Open knowledge base (read-only is enough).
    code
        Official code (commune, EPCI, département, région, canton, circonscription).
    level
        The level when the code is ambiguous (``"53"``: the région Bretagne or Mayenne).
    generated
        The date printed as the portrait's date (today by default).

    Raises
    ------
    UnknownTerritory, UnknownLevel, EmptyKnowledgeBase
        As :func:`territoria.analysis.profile.profile`.
    """
    p = profile(con, code, level=level)
    own_source = _own_source(con, p)
    region, communes = _region_and_communes(con, p)
    strengths = strengths_of(con, p.level, p.code)
    poles = poles_of(con, region, communes)
    schools = lycees(con, p.level, p.code, limit=LYCEES_SHOWN)
    officials, notes = _officials(p)
    drawing, crs = _map(con, p)
    economic = (
        _economy_sources(con)
        if poles or any(s.kind == "specialisation" or s.synthetic for s in strengths)
        else []
    )
    sources = _sources(p, economic)
    series = tuple(
        SeriesPoint(x.year, x.value, _source_label(x.source, x.version))
        for x in p.population_series
    )
    return Portrait(
        code=p.code,
        level=p.level,
        level_label=p.level_label or p.level,
        name=p.name,
        parents=tuple(
            f"{x.name} ({x.code})"
            for x in p.parents
            if x.level in ("commune", "epci", "departement", "region")
        ),
        generated=generated or dt.date.today(),
        figures=_figures(p, own_source),
        population=series,
        population_svg=line_chart_svg(
            [s.year for s in series], [s.value for s in series], unit="habitants"
        ),
        map_svg=drawing,
        map_crs=crs,
        neighbours=tuple(n.name or n.code for n in p.neighbours_detail),
        charts=_charts(p),
        strengths=tuple(strengths),
        assets=tuple(assets_of(con, p.level, p.code)),
        poles=None if poles is None else tuple(poles),
        officials=officials,
        official_notes=notes,
        lycees=tuple(f"{x.name} ({x.commune_name})" for x in schools.items),
        lycees_total=schools.total,
        lycees_source=schools.source,
        sources=sources,
        synthetic=any(s.synthetic for s in sources),
    )


def portrait_html(result: Portrait) -> str:
    """The portrait as a self-contained HTML page (what the PDF prints)."""
    return render_html("portrait_report.html", {"p": result})


def portrait_body_html(result: Portrait) -> str:
    """The portrait's content without page and styles (what the web page embeds)."""
    return render_html("portrait_body.html", {"p": result})


def portrait_pdf(result: Portrait) -> bytes:
    """The portrait as PDF.

    Raises
    ------
    ReportUnavailable
        WeasyPrint or pango is missing.
    """
    return render_pdf(portrait_html(result))


def export_portrait(result: Portrait, fmt: str) -> bytes:
    """The portrait in ``fmt`` (``pdf`` or ``html``) as bytes.

    Raises
    ------
    InvalidQuery
        An unknown format.
    """
    if fmt == "pdf":
        return portrait_pdf(result)
    if fmt == "html":
        return portrait_html(result).encode("utf-8")
    msg = f"unknown portrait format {fmt!r}: use {' or '.join(FORMATS)}"
    raise InvalidQuery(msg)
