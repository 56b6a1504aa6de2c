"""Incidents: a Sahana-like record created by hand, from the web's drawing or from CAP 1.2.

An incident has a type (:data:`INCIDENT_TYPES`, each mapped to a CAP 1.2 ``category``), a zone
(polygon, line, or point with a radius; valid and inside France, overseas included), a start and
an optional end (UTC), a severity from 1 to 5 (mapped to CAP's severity, urgency and certainty by
:data:`CAP_SEVERITY`), a CAP status (``Actual``, ``Exercise``, ``System``, ``Test``, ``Draft``;
an exercise flag forces ``Exercise``), and a source row naming who entered it. On a road network
its closed edges are those its geometry cuts (:func:`territoria.networks.edges_cut_by`) plus any
listed explicitly. Deletion is soft; every write is audited (``incident.add``,
``incident.import``, ``incident.delete``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from territoria.crisis._geometry import Zone, parse_zone
from territoria.crisis._model import Incident
from territoria.errors import InvalidIncident, UnknownIncident
from territoria.kb import audit
from territoria.kb._transaction import transaction
from territoria.sources._framework import SourceRecord, record_source, utc_now

__all__ = [
    "CAP_SEVERITY",
    "CAP_STATUSES",
    "INCIDENT_TYPES",
    "TYPE_LABELS",
    "IncidentInput",
    "add_incident",
    "closed_edges",
    "closed_roads_wkt",
    "delete_incident",
    "get_incident",
    "list_incidents",
    "severity_from_cap",
]

#: Incident types: (French label, CAP 1.2 category). CAP categories: Geo, Met, Safety,
#: Security, Rescue, Fire, Health, Env, Transport, Infra, CBRNE, Other.
INCIDENT_TYPES: dict[str, tuple[str, str]] = {
    "flood": ("Inondation", "Met"),
    "storm": ("Tempête", "Met"),
    "bridge_failure": ("Rupture d'ouvrage (pont)", "Infra"),
    "road_closure": ("Coupure de route", "Transport"),
    "landslide": ("Mouvement de terrain", "Geo"),
    "earthquake": ("Séisme", "Geo"),
    "wildfire": ("Feu de forêt", "Fire"),
    "fire": ("Incendie", "Fire"),
    "industrial_accident": ("Accident industriel", "CBRNE"),
    "pollution": ("Pollution", "Env"),
    "epidemic": ("Épidémie", "Health"),
    "network_outage": ("Panne de réseau (électricité, télécoms)", "Infra"),
    "industrial_closure": ("Fermeture d'établissement", "Other"),
    "other": ("Autre", "Other"),
}
#: French labels of the types (the web's drawing form reads this).
TYPE_LABELS: dict[str, str] = {k: v[0] for k, v in INCIDENT_TYPES.items()}
CAP_STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
#: Severity 1..5 -> CAP 1.2 (severity, urgency, certainty).
CAP_SEVERITY: dict[int, tuple[str, str, str]] = {
    1: ("Minor", "Future", "Possible"),
    2: ("Minor", "Expected", "Likely"),
    3: ("Moderate", "Expected", "Likely"),
    4: ("Severe", "Immediate", "Observed"),
    5: ("Extreme", "Immediate", "Observed"),
}


def severity_from_cap(severity: str, urgency: str = "") -> int:
    """The 1..5 severity of a CAP ``severity`` (and ``urgency`` to split Minor)."""
    table = {"Extreme": 5, "Severe": 4, "Moderate": 3, "Minor": 2, "Unknown": 3}
    level = table.get(severity, 3)
    return 1 if level == 2 and urgency in ("Future", "Past") else level


@dataclass(frozen=True)
class IncidentInput:
    """What an incident is created from (CLI, API, CAP import)."""

    type: str
    severity: int
    geometry: str | dict[str, Any]
    start: dt.datetime | str
    end: dt.datetime | str | None = None
    title: str = ""
    exercise: bool = False
    status: str | None = None
    radius_m: float | None = None
    description: str = ""
    network_id: int | str | None = None  # id or name ('networks list')
    closed_edges: tuple[int, ...] = ()
    cap_identifier: str | None = None
    cap_sender: str | None = None
    source: SourceRecord | None = field(default=None)


def _utc(value: dt.datetime | str | None, name: str) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            msg = f"bad {name} date {value!r}: give ISO 8601 (2026-12-02T08:00 or with +01:00)"
            raise InvalidIncident(msg) from exc
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _check(req: IncidentInput) -> tuple[str, dt.datetime, dt.datetime | None]:
    if req.type not in INCIDENT_TYPES:
        msg = f"unknown incident type {req.type!r}: use one of {', '.join(INCIDENT_TYPES)}"
        raise InvalidIncident(msg)
    if isinstance(req.severity, bool) or req.severity not in CAP_SEVERITY:
        raise InvalidIncident(f"severity {req.severity!r} out of range: give 1 (minor) to 5")
    status = "Exercise" if req.exercise else (req.status or "Actual")
    if status not in CAP_STATUSES:
        msg = f"unknown status {req.status!r}: use one of {', '.join(CAP_STATUSES)} (CAP 1.2)"
        raise InvalidIncident(msg)
    start, end = _utc(req.start, "start"), _utc(req.end, "end")
    if start is None:
        raise InvalidIncident("an incident needs a start date: give --start (ISO 8601)")
    if end is not None and end < start:
        raise InvalidIncident(f"the end {end.isoformat()} is before the start {start.isoformat()}")
    return status, start, end


def _closed(
    con: duckdb.DuckDBPyConnection, req: IncidentInput, zone: Zone
) -> tuple[int | None, list[tuple[int, str]]]:
    """The network's id and the (edge, origin) it closes: cut by the zone, then listed."""
    if req.network_id is None:
        if req.closed_edges:
            raise InvalidIncident("closed edges listed without a network: give --network")
        return None, []
    from territoria.networks import edges_cut_by, network_info

    info = network_info(con, req.network_id)
    if info.edges == 0:
        msg = f"network {info.name!r} has no edges: import a road network ('import osm')"
        raise InvalidIncident(msg)
    bad = [e for e in req.closed_edges if not 0 <= e < info.edges]
    if bad:
        msg = f"no edge {bad[0]!r} in network {info.name!r} (edges 0 to {info.edges - 1})"
        raise InvalidIncident(msg)
    cut = [int(e) for e in edges_cut_by(con, info.id, zone.wkt)]
    seen = set(cut)
    return info.id, [(e, "cut") for e in cut] + [
        (int(e), "listed") for e in dict.fromkeys(req.closed_edges) if int(e) not in seen
    ]


def _source(req: IncidentInput) -> SourceRecord:
    if req.source is not None:
        return req.source
    actor = audit.current_actor()
    return SourceRecord(name=f"saisie:{actor}", dataset="incident", publisher=actor,
                        licence="saisie par un utilisateur", retrieved_at=utc_now())  # fmt: skip


_INSERT = """
INSERT INTO incident (title, type, severity, status, exercise, start_at, end_at, geom, geom_kind,
  radius_m, xmin, ymin, xmax, ymax, description, cap_identifier, cap_sender, network_id,
  source_id, created_at, created_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ST_GeomFromText(?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id
"""


def add_incident(
    con: duckdb.DuckDBPyConnection, req: IncidentInput, *, event: str = "incident.add"
) -> Incident:
    """Check and write an incident (one transaction: the incident, its source, its closed
    edges and the audit row, or nothing).

    Raises
    ------
    InvalidIncident
        Bad type, severity, status or dates; geometry unreadable, invalid or outside France;
        a network with no edges or an edge it does not have.
    UnknownNetwork
        ``network_id`` names no network.
    """
    status, start, end = _check(req)
    zone = parse_zone(con, req.geometry, radius_m=req.radius_m)
    network_id, closed = _closed(con, req, zone)
    title = req.title.strip() or f"{TYPE_LABELS[req.type]} du {start:%d/%m/%Y}"
    with transaction(con):
        sid = record_source(con, _source(req))
        row = con.execute(
            _INSERT,
            [title, req.type, req.severity, status, status == "Exercise", start, end, zone.wkt,
             zone.kind, zone.radius_m, *zone.bbox, req.description, req.cap_identifier,
             req.cap_sender, network_id, sid, utc_now(), audit.current_actor()],
        ).fetchone()  # fmt: skip
        assert row is not None
        incident_id = int(row[0])
        if closed:
            con.executemany(
                "INSERT INTO incident_closed_edge VALUES (?, ?, ?, ?)",
                [[incident_id, network_id, e, origin] for e, origin in closed],
            )
        audit.record(
            con,
            event,
            target=str(incident_id),
            detail={"title": title, "type": req.type, "closed_edges": len(closed)},
        )
    return get_incident(con, incident_id)


_SELECT = """
SELECT i.id, i.title, i.type, i.severity, i.status, i.exercise, i.start_at, i.end_at,
       ST_AsGeoJSON(i.geom), i.geom_kind, i.radius_m, i.description, i.network_id,
       coalesce((SELECT list(c.edge ORDER BY c.edge) FROM incident_closed_edge c
                 WHERE c.incident_id = i.id), []),
       i.cap_identifier, s.publisher || ' — ' || s.dataset || ' (' ||
         strftime(coalesce(s.retrieved_at, s.imported_at), '%Y-%m-%d') || ')',
       i.created_by, i.created_at, i.deleted_at IS NOT NULL
FROM incident i JOIN source s ON s.id = i.source_id
"""


def _incident(row: tuple[Any, ...]) -> Incident:
    (i, title, kind, severity, status, exercise, start, end, geojson, gkind, radius, desc,
     network, edges, cap_id, source, by, at, deleted) = row  # fmt: skip
    return Incident(
        id=int(i), title=str(title), type=str(kind), severity=int(severity), status=str(status),
        exercise=bool(exercise), start=start, end=end, geometry=json.loads(geojson),
        geometry_kind=str(gkind), radius_m=radius, description=str(desc or ""),
        network_id=network, closed_edges=tuple(int(e) for e in edges), cap_identifier=cap_id,
        source=str(source or ""), created_by=by, created_at=at, deleted=bool(deleted),
    )  # fmt: skip


def get_incident(
    con: duckdb.DuckDBPyConnection, incident_id: int, *, deleted: bool = False
) -> Incident:
    """The incident ``incident_id``; :class:`UnknownIncident` if none (or deleted)."""
    row = con.execute(
        f"{_SELECT} WHERE i.id = ? AND (? OR i.deleted_at IS NULL)", [int(incident_id), deleted]
    ).fetchone()
    if row is None:
        msg = f"no incident {incident_id!r}: run 'territoria incidents list' to see the incidents"
        raise UnknownIncident(msg)
    return _incident(row)


def list_incidents(
    con: duckdb.DuckDBPyConnection, *, deleted: bool = False, limit: int = 1000
) -> list[Incident]:
    """Incidents, newest start first (deleted ones only with ``deleted``)."""
    rows = con.execute(
        f"{_SELECT} WHERE ? OR i.deleted_at IS NULL ORDER BY i.start_at DESC, i.id DESC LIMIT ?",
        [deleted, int(limit)],
    ).fetchall()
    return [_incident(r) for r in rows]


def delete_incident(con: duckdb.DuckDBPyConnection, incident_id: int) -> Incident:
    """Soft-delete an incident (kept with who deleted it and when; audited)."""
    found = get_incident(con, incident_id)
    with transaction(con):
        con.execute(
            "UPDATE incident SET deleted_at = ?, deleted_by = ? WHERE id = ?",
            [utc_now(), audit.current_actor(), found.id],
        )
        audit.record(con, "incident.delete", target=str(found.id), detail={"title": found.title})
    return found


def closed_roads_wkt(con: duckdb.DuckDBPyConnection, incident_id: int) -> list[str]:
    """WKT of the network edges the incident closes (the situation map draws them)."""
    rows = con.execute(
        "SELECT ST_AsText(e.geom) FROM incident_closed_edge c JOIN network_edge e "
        "ON e.network_id = c.network_id AND e.edge = c.edge WHERE c.incident_id = ? "
        "ORDER BY c.edge",
        [int(incident_id)],
    ).fetchall()
    return [str(r[0]) for r in rows]


def closed_edges(con: duckdb.DuckDBPyConnection, incident_id: int, network_id: int) -> list[int]:
    """The incident's closed edges on ``network_id`` (stored, or cut by its zone now)."""
    rows = con.execute(
        "SELECT edge FROM incident_closed_edge WHERE incident_id = ? AND network_id = ?",
        [int(incident_id), int(network_id)],
    ).fetchall()
    if rows:
        return sorted(int(r[0]) for r in rows)
    from territoria.networks import edges_cut_by

    wkt = con.execute("SELECT ST_AsText(geom) FROM incident WHERE id = ?", [int(incident_id)])
    row = wkt.fetchone()
    return [] if row is None else [int(e) for e in edges_cut_by(con, network_id, str(row[0]))]
