"""The situation report of an incident: HTML and PDF in French.

:func:`situation` gathers what the report shows — the incident's impact
(:func:`territoria.crisis.impact.impact`), a static SVG map (the zone, the affected communes,
the isolated ones, the closed roads; no tiles, so it prints offline), the timeline (the
incident's audit entries and the alerts sent about it), the action checklist of its type and
the provenance of every figure. :func:`situation_html` and :func:`situation_pdf` render it
(WeasyPrint, as the dossier report). An exercise carries the « EXERCICE » banner on every
page; figures drawn from a synthetic network or synthetic establishments say so.

The checklists are package data (``territoria/data/crisis/checklists.json``): one list per
incident type, each item naming the document of French practice it comes from (the *Plan
communal de sauvegarde* guide, the ORSEC guides, the codes).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import duckdb

from territoria.reports import render_html, render_pdf

__all__ = [
    "ChecklistItem",
    "MapLayers",
    "Situation",
    "TimelineEvent",
    "checklist",
    "situation",
    "situation_context",
    "situation_from_impact",
    "situation_html",
    "situation_layers",
    "situation_map",
    "situation_pdf",
    "timeline",
]

#: Width and height of the map's drawing box (SVG user units, about pixels).
MAP_WIDTH, MAP_HEIGHT = 640.0, 420.0
_EVENT_LABELS = {
    "incident.add": "Incident créé",
    "incident.create": "Incident créé",
    "incident.update": "Incident modifié",
    "incident.import": "Incident importé (CAP)",
    "incident.cap_import": "Incident importé (CAP)",
    "incident.export": "Incident exporté (CAP)",
    "incident.delete": "Incident supprimé",
    "incident.close": "Incident clos",
    "crisis.alert": "Alerte envoyée",
}


@dataclass(frozen=True)
class ChecklistItem:
    """One action of the checklist and the document it is drawn from."""

    phase: str
    action: str
    source: str


@dataclass(frozen=True)
class TimelineEvent:
    """One dated event of the incident's history."""

    at: dt.datetime
    label: str
    detail: str = ""


@dataclass(frozen=True)
class MapLayers:
    """What the static map draws (commune codes, closed roads' WKT)."""

    affected: tuple[str, ...] = ()
    isolated: tuple[str, ...] = ()
    closed_roads: tuple[str, ...] = ()


@dataclass(frozen=True)
class Situation:
    """Everything a situation report shows (the impact is G's typed result)."""

    impact: Any  # territoria.crisis.impact.Impact
    map_svg: str
    timeline: tuple[TimelineEvent, ...]
    checklist: tuple[ChecklistItem, ...]
    generated: dt.datetime
    synthetic: tuple[str, ...] = ()  # the synthetic data the figures rest on, in French
    isolated: tuple[dict[str, Any], ...] = ()  # code, name, population
    inside: tuple[dict[str, Any], ...] = ()  # the communes inside the zone (not "isolated")
    detours: tuple[dict[str, Any], ...] = ()  # code, name, before_min, after_min, detour_min
    services: tuple[dict[str, Any], ...] = ()  # kind, name, commune_code
    out_of_reach: tuple[dict[str, Any], ...] = ()
    closed_roads: tuple[str, ...] = ()  # WKT of the roads the incident closes
    sources: tuple[Mapping[str, Any], ...] = field(default=())

    @property
    def exercise(self) -> bool:
        """Whether the incident is an exercise (« EXERCICE » on every page)."""
        return bool(_get(self.impact.incident, "exercise", False))


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """An attribute of a dataclass or a key of a mapping (the impact's parts are either)."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _codes(values: Iterable[Any]) -> tuple[str, ...]:
    """The commune codes of a list of codes, tuples (code first) or records with a ``code``."""
    return tuple(str(r["code"]) for r in _records(values, ("code",)))


def _records(values: Iterable[Any] | None, fields: Sequence[str]) -> tuple[dict[str, Any], ...]:
    """Rows as mappings, whether they come as mappings, tuples in ``fields`` order (the
    networks' results), dataclasses or bare codes."""
    blank = dict.fromkeys(fields)
    out = []
    for v in values or ():
        if isinstance(v, Mapping):
            out.append(blank | dict(v))
        elif isinstance(v, tuple) and not hasattr(v, "_fields"):
            out.append(blank | dict(zip(fields, v, strict=False)))
        elif isinstance(v, str):
            out.append(blank | {fields[0]: v})
        else:
            out.append({f: getattr(v, f, None) for f in fields} | dict(getattr(v, "__dict__", {})))
    return tuple(out)


_ISOLATED = ("code", "name", "population")
_DETOUR = ("code", "name", "before_s", "after_s")
_SERVICE = ("kind", "name", "commune_code")


def _detours(values: Iterable[Any] | None) -> tuple[dict[str, Any], ...]:
    """Detours with their times in minutes (before, after, the difference), longest first."""
    rows = []
    for r in _records(values, _DETOUR):
        before, after = r.get("before_s"), r.get("after_s")
        if before is not None and after is not None:
            r |= {"before_min": before / 60, "after_min": after / 60}
            r["detour_min"] = (after - before) / 60
        rows.append(r)
    return tuple(sorted(rows, key=lambda r: -(r.get("detour_min") or 0.0)))


@cache
def _checklists() -> dict[str, Any]:
    path = resources.files("territoria.data").joinpath("crisis/checklists.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def checklist(incident_type: str) -> tuple[ChecklistItem, ...]:
    """Return the checklist of an incident type (its alias resolved; 'default' otherwise),
    each item with its source spelled out."""
    data = _checklists()
    key = str(incident_type or "").strip().lower()
    key = data["aliases"].get(key, key)
    items = data["lists"].get(key) or data["lists"]["default"]
    return tuple(ChecklistItem(p, a, data["sources"][s]) for p, a, s in items)


def timeline(
    con: duckdb.DuckDBPyConnection, incident_id: int, *, start: dt.datetime | None = None
) -> tuple[TimelineEvent, ...]:
    """Return the incident's history, oldest first: its start, its audit entries (created,
    updated, imported from CAP …) and the alerts sent about it (from the delivery log)."""
    rows = con.execute(
        "SELECT \"at\", event, actor FROM audit_log WHERE target = ? AND event LIKE 'incident.%' "
        "UNION ALL SELECT min(d.sent_at), 'crisis.alert', count(*)::VARCHAR || ' destinataire(s)' "
        "FROM alert_delivery d WHERE d.dedup_key LIKE ? AND d.sent_at IS NOT NULL "
        "GROUP BY d.dedup_key ORDER BY 1",
        [str(incident_id), f"incident:{incident_id}:%"],
    ).fetchall()
    events = [
        TimelineEvent(at, _EVENT_LABELS.get(event, event), _actor(event, who))
        for at, event, who in rows
    ]
    if start is not None:
        events.append(TimelineEvent(_naive(start), "Début de l'événement"))
    return tuple(sorted(events, key=lambda e: e.at))


def _actor(event: str, who: str) -> str:
    return who if event == "crisis.alert" else f"par {who}"


def _naive(value: dt.datetime | dt.date | str) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


_MAP_SQL = """
WITH zone AS (SELECT ST_GeomFromGeoJSON(?) AS g),
communes AS (
  SELECT t.code, ST_SimplifyPreserveTopology(t.geom, ?) AS g,
         list_contains(?, t.code) AS isolated
  FROM territory t WHERE t.level = 'commune' AND list_contains(?, t.code) AND t.geom IS NOT NULL),
roads AS (SELECT ST_GeomFromText(unnest(?::VARCHAR[])) AS g),
everything AS (SELECT g FROM zone UNION ALL SELECT g FROM communes UNION ALL SELECT g FROM roads),
box AS (SELECT min(ST_XMin(g)) AS x0, max(ST_XMax(g)) AS x1, min(ST_YMin(g)) AS y0,
               max(ST_YMax(g)) AS y1 FROM everything),
scale AS (SELECT x0, y1, cos(radians((y0 + y1) / 2)) AS c,
  least(? / greatest((x1 - x0) * cos(radians((y0 + y1) / 2)), 1e-9),
        ? / greatest(y1 - y0, 1e-9)) AS k FROM box)
SELECT layer, code, ST_AsSVG(ST_Affine(g, c * k, 0, 0, k, -x0 * c * k, -y1 * k), false, 1)
FROM (SELECT 'commune' AS layer, code, g, isolated FROM communes
      UNION ALL SELECT 'zone', NULL, g, false FROM zone
      UNION ALL SELECT 'road', NULL, g, false FROM roads), scale
ORDER BY CASE layer WHEN 'commune' THEN 0 WHEN 'zone' THEN 1 ELSE 2 END, isolated, code
"""


def situation_map(
    con: duckdb.DuckDBPyConnection, zone_geojson: Mapping[str, Any] | str, layers: MapLayers
) -> str:
    """Return the static SVG map: the affected communes (grey), the isolated ones (orange),
    the incident's zone (hatched blue) and the closed roads (red), in an equirectangular
    projection at the zone's latitude (no tiles: it prints offline)."""
    zone = zone_geojson if isinstance(zone_geojson, str) else json.dumps(zone_geojson)
    communes = sorted(set(layers.affected) | set(layers.isolated))
    tolerance = 0.0005 if len(communes) < 200 else 0.003
    rows = con.execute(
        _MAP_SQL,
        [zone, tolerance, list(layers.isolated), communes, list(layers.closed_roads),
         MAP_WIDTH, MAP_HEIGHT],
    ).fetchall()  # fmt: skip
    isolated = set(layers.isolated)
    paths = [_svg_path(layer, code, d, code in isolated) for layer, code, d in rows if d]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-4 -4 {MAP_WIDTH + 8:.0f} '
        f'{MAP_HEIGHT + 8:.0f}" class="situation-map" role="img" '
        'aria-label="Carte de la zone de l\'incident">'
        '<defs><pattern id="zone-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#1f5fa8" '
        'stroke-width="2"/></pattern></defs>' + "".join(paths) + "</svg>"
    )


_LAYERS_SQL = """
WITH communes AS (
  SELECT t.code, t.name, t.population,
         ST_AsGeoJSON(ST_SimplifyPreserveTopology(t.geom, 0.0008)) AS g,
         list_contains(?, t.code) AS isolated
  FROM territory t WHERE t.level = 'commune' AND list_contains(?, t.code) AND t.geom IS NOT NULL)
SELECT 'commune', code, name, population, isolated, g FROM communes
UNION ALL SELECT 'road', NULL, NULL, NULL, false, ST_AsGeoJSON(ST_GeomFromText(w))
FROM (SELECT unnest(?::VARCHAR[]) AS w)
"""


def situation_layers(con: duckdb.DuckDBPyConnection, sit: Situation) -> dict[str, Any]:
    """The crisis map's layers as one GeoJSON FeatureCollection: the zone, each affected
    commune (``isolated`` true for the isolated ones) and the closed roads."""
    inc = sit.impact.incident
    zone = _get(inc, "geometry")
    zone = json.loads(zone) if isinstance(zone, str) else zone
    affected = [
        str(_get(t, "code")) for t in sit.impact.territories if _get(t, "level") == "commune"
    ]
    isolated = [str(r["code"]) for r in sit.isolated]
    rows = con.execute(
        _LAYERS_SQL, [isolated, sorted(set(affected) | set(isolated)), list(sit.closed_roads)]
    ).fetchall()
    features: list[dict[str, Any]] = [
        {"type": "Feature", "geometry": zone,
         "properties": {"layer": "zone", "id": _get(inc, "id"), "title": _get(inc, "title")}}
    ]  # fmt: skip
    for layer, code, name, population, is_isolated, geometry in rows:
        props = {"layer": layer, "code": code, "name": name, "population": population}
        props["isolated"] = bool(is_isolated)
        features.append({"type": "Feature", "geometry": json.loads(geometry), "properties": props})
    return {"type": "FeatureCollection", "features": features}


def _svg_path(layer: str, code: str | None, d: str, isolated: bool) -> str:
    if layer == "zone":
        return (
            f'<path d="{d}" fill="url(#zone-hatch)" fill-opacity="0.6" stroke="#1f5fa8" '
            'stroke-width="1.5"><title>Zone de l\'incident</title></path>'
        )
    if layer == "road":
        return f'<path d="{d}" fill="none" stroke="#c0392b" stroke-width="2.5"/>'
    fill = "#f0a830" if isolated else "#d9d9d9"
    return (
        f'<path d="{d}" fill="{fill}" stroke="#ffffff" stroke-width="0.6" '
        f'data-code="{code}"><title>{code}</title></path>'
    )


def _synthetic(sources: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(
        str(_get(s, "name") or _get(s, "dataset") or "source")
        for s in sources
        if _get(s, "synthetic", False)
    )


def _closed_roads(con: duckdb.DuckDBPyConnection, incident_id: int) -> tuple[str, ...]:
    """The closed roads' WKT, from the incidents module when it gives them (none otherwise)."""
    try:
        from territoria.crisis import incidents
    except ImportError:
        return ()
    closed = getattr(incidents, "closed_roads_wkt", None)
    return tuple(closed(con, incident_id)) if callable(closed) else ()


def situation_from_impact(
    con: duckdb.DuckDBPyConnection,
    impact: Any,
    *,
    closed_roads: Sequence[str] = (),
    generated: dt.datetime | None = None,
) -> Situation:
    """Build the report's content from an impact already computed."""
    incident = impact.incident
    affected = _codes(t for t in impact.territories if _get(t, "level") == "commune")
    isolated = _records(getattr(impact, "isolated_communes", ()), _ISOLATED)
    layers = MapLayers(affected, _codes(isolated), tuple(closed_roads))
    sources = tuple(getattr(impact, "sources", ()) or ())
    return Situation(
        impact=impact,
        map_svg=situation_map(con, _get(incident, "geometry"), layers),
        timeline=timeline(con, int(_get(incident, "id")), start=_get(incident, "start")),
        checklist=checklist(str(_get(incident, "type", ""))),
        generated=generated or dt.datetime.now(dt.UTC).replace(tzinfo=None),
        synthetic=_synthetic(sources),
        sources=sources,
        isolated=isolated,
        inside=_records(getattr(impact, "inside_zone_communes", ()), _ISOLATED),
        detours=_detours(getattr(impact, "detours", ())),
        services=_records(getattr(impact, "services", ()), _SERVICE),
        out_of_reach=_records(getattr(impact, "services_out_of_reach", ()), _SERVICE),
        closed_roads=tuple(closed_roads),
    )


def situation(
    con: duckdb.DuckDBPyConnection, incident_id: int, *, network_id: int | None = None
) -> Situation:
    """Return the situation report's content for an incident (impact, map, timeline,
    checklist).

    Raises
    ------
    UnknownIncident
        No such incident (from the impact).
    """
    from territoria.crisis.impact import impact as compute_impact

    found = compute_impact(con, incident_id, network_id=network_id)
    return situation_from_impact(con, found, closed_roads=_closed_roads(con, incident_id))


def _share(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value * 100:.0f} %".replace(".", ",")


def situation_context(sit: Situation) -> dict[str, Any]:
    """What the report's templates get (the web page's too): the situation, its impact and
    incident, the affected communes, and the French labels of codes."""
    impact = sit.impact
    return {
        "s": sit,
        "i": impact,
        "inc": impact.incident,
        "communes": [t for t in impact.territories if _get(t, "level") == "commune"],
        **_territories_shown(impact.territories),
        "get": _get,
        "share": _share,
        "levels": _LEVEL_LABELS,
        "type_label": _label(_type_labels(), _get(impact.incident, "type")),
        "method_label": _label(_METHOD_LABELS, _get(impact, "population_method")),
        "figures": _FIGURE_LABELS,
        "status_label": _label(_STATUS_LABELS, _get(impact.incident, "status")),
        "phases": _PHASE_LABELS,
        "service_kinds": _SERVICE_LABELS,
    }


def situation_html(sit: Situation) -> str:
    """The situation report as a self-contained HTML page (what the PDF prints)."""
    return render_html("situation_report.html", situation_context(sit))


def situation_pdf(sit: Situation) -> bytes:
    """The situation report as PDF.

    Raises
    ------
    ReportUnavailable
        WeasyPrint or pango is missing.
    """
    return render_pdf(situation_html(sit))


#: Communes the report's table lists at most (the most populated first); the rest are summed.
COMMUNES_LISTED = 40


def _territories_shown(territories: Sequence[Any]) -> dict[str, Any]:
    """The territories the report's table lists (every level above the commune, the
    :data:`COMMUNES_LISTED` communes with most people in the zone) and the rest summed."""
    communes = sorted(
        (t for t in territories if _get(t, "level") == "commune"),
        key=lambda t: -(_get(t, "population_affected") or 0),
    )
    others = [t for t in territories if _get(t, "level") != "commune"]
    rest = communes[COMMUNES_LISTED:]
    return {
        "territories_shown": others + communes[:COMMUNES_LISTED],
        "communes_more": len(rest),
        "communes_more_population": sum(_get(t, "population_affected") or 0 for t in rest),
    }


def _type_labels() -> Mapping[str, str]:
    """The incidents module's French type labels, over this module's own."""
    try:
        from territoria.crisis.incidents import TYPE_LABELS
    except ImportError:
        return _TYPE_LABELS
    return _TYPE_LABELS | TYPE_LABELS


_METHOD_LABELS = {
    "commune_area_share": "population de chaque commune × part de sa surface dans la zone "
    "(population supposée répartie uniformément)",
    "iris": "population des IRIS dans la zone (INSEE)",
}
_FIGURE_LABELS = {
    "incident": "Incident",
    "population": "Population",
    "officials": "Élus",
    "establishments": "Établissements",
    "jobs": "Emplois",
    "services": "Services",
    "lycees": "Lycées",
    "network": "Réseau routier",
    "contacts": "Contacts des mairies",
}


def _label(labels: Mapping[str, str], code: Any) -> str:
    key = str(code or "")
    return labels.get(key.lower(), key)


_TYPE_LABELS = {
    "flood": "Inondation",
    "inondation": "Inondation",
    "bridge_failure": "Rupture d'ouvrage (pont)",
    "road_closure": "Coupure de route",
    "industrial_closure": "Fermeture d'établissement",
    "economic_shock": "Choc économique",
    "storm": "Tempête",
    "industrial_accident": "Accident industriel",
    "fire": "Incendie",
    "wildfire": "Feu de forêt",
    "other": "Autre",
}
_SERVICE_LABELS = {"mairie": "mairie", "town_hall": "mairie", "lycee": "lycée"}
_STATUS_LABELS = {
    "actual": "événement réel",
    "exercise": "exercice",
    "test": "test",
    "system": "système",
    "draft": "brouillon",
}
_LEVEL_LABELS = {
    "commune": "Commune",
    "epci": "Intercommunalité",
    "departement": "Département",
    "region": "Région",
    "arrondissement_municipal": "Arrondissement municipal",
    "circonscription": "Circonscription législative",
}
_PHASE_LABELS = {
    "alerte": "Alerte",
    "routes": "Voirie et déplacements",
    "soutien": "Soutien des populations",
    "réseaux": "Réseaux",
    "suivi": "Suivi",
    "retour": "Retour d'expérience",
    "emploi": "Emploi et économie",
}
