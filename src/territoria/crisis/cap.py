"""CAP 1.2 (OASIS Common Alerting Protocol, urn:oasis:names:tc:emergency:cap:1.2) in and out.

Every file read or written is validated against the official schema, vendored as package data
(``territoria/data/cap/CAP-v1.2.xsd``, see its ``SOURCE.txt``). An incident becomes one
``<alert>`` with one ``<info>`` (``fr-FR``): its type's CAP category, its severity as CAP
severity, urgency and certainty (:data:`territoria.crisis.incidents.CAP_SEVERITY`), its start as
``onset``, its end as ``expires``, its zone as ``<polygon>`` rings (``lat,lon`` pairs; holes
are not representable in CAP and are dropped) or a ``<circle>`` for a point with a radius; a
line incident is sent as the polygon of a 25 m buffer around it. Territoria's own type and
1..5 severity travel as ``<parameter>`` (``territoria:type``, ``territoria:severity``) so a
round trip keeps them exactly; a CAP file from elsewhere gets them from its category, event
and severity.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import shapely
import xmlschema
from lxml import etree
from shapely.geometry import Point, Polygon, shape

from territoria.crisis._geometry import buffer_m
from territoria.crisis._model import Incident
from territoria.crisis.incidents import (
    CAP_SEVERITY,
    INCIDENT_TYPES,
    TYPE_LABELS,
    IncidentInput,
    add_incident,
    get_incident,
    severity_from_cap,
)
from territoria.errors import InvalidCapFile, InvalidIncident
from territoria.sources._framework import SourceRecord, utc_now

__all__ = [
    "CAP_NS",
    "export_cap",
    "import_cap",
    "parse_cap",
    "read_cap_file",
    "schema",
    "validate_cap",
]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
_N = f"{{{CAP_NS}}}"
#: metres around a line incident sent as a CAP polygon
LINE_BUFFER_M = 25.0


@cache
def schema() -> xmlschema.XMLSchema:
    """The official CAP 1.2 schema (OASIS), from the package data."""
    path = resources.files("territoria.data").joinpath("cap/CAP-v1.2.xsd")
    return xmlschema.XMLSchema(path.read_text(encoding="utf-8"))


def _parse(data: bytes, where: str) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        msg = f"{where}: not well-formed XML (line {exc.lineno}): {exc.msg}"
        raise InvalidCapFile(msg) from exc


def validate_cap(data: bytes, *, where: str = "CAP file") -> Any:
    """Parse and validate CAP 1.2 XML; return the root element.

    Raises
    ------
    InvalidCapFile
        Not XML, not in the CAP 1.2 namespace, or failing the schema: the message names the
        line and the element.
    """
    root = _parse(data, where)
    if root.tag != f"{_N}alert":
        msg = (f"{where}: root element {root.tag!r} is not a CAP 1.2 <alert> "
               f"(namespace {CAP_NS})")  # fmt: skip
        raise InvalidCapFile(msg)
    for err in schema().iter_errors(root):
        line = getattr(err.elem, "sourceline", None) if err.elem is not None else None
        msg = f"{where}, line {line}, element {err.path}: {err.reason} (CAP 1.2 schema)"
        raise InvalidCapFile(msg)
    return root


# ------------------------------------------------------------------ export


def _cap_time(value: dt.datetime) -> str:
    return value.replace(microsecond=0, tzinfo=None).isoformat() + "+00:00"


def _sub(parent: Any, name: str, text: str | None = None) -> Any:
    el = etree.SubElement(parent, f"{_N}{name}")
    if text is not None:
        el.text = text
    return el


def _ring(coords: Any) -> str:
    return " ".join(f"{y:.6f},{x:.6f}" for x, y in coords)


def _area(parent: Any, inc: Incident) -> None:
    area = _sub(parent, "area")
    _sub(area, "areaDesc", inc.title)
    geom = shape(inc.geometry)
    if inc.geometry_kind == "point" and inc.radius_m:
        c = geom.centroid
        _sub(area, "circle", f"{c.y:.6f},{c.x:.6f} {inc.radius_m / 1000:.3f}")
        return
    if inc.geometry_kind == "line":
        geom = buffer_m(geom, LINE_BUFFER_M)
    polygons = getattr(geom, "geoms", [geom])
    for poly in polygons:
        _sub(area, "polygon", _ring(poly.exterior.coords))


def _parameter(info: Any, name: str, value: str) -> None:
    p = _sub(info, "parameter")
    _sub(p, "valueName", name)
    _sub(p, "value", value)


def _info(alert: Any, inc: Incident) -> None:
    severity, urgency, certainty = CAP_SEVERITY[inc.severity]
    info = _sub(alert, "info")
    _sub(info, "language", "fr-FR")
    _sub(info, "category", INCIDENT_TYPES[inc.type][1])
    _sub(info, "event", TYPE_LABELS[inc.type])
    for name, value in (("urgency", urgency), ("severity", severity), ("certainty", certainty)):
        _sub(info, name, value)
    _sub(info, "onset", _cap_time(inc.start))
    if inc.end is not None:
        _sub(info, "expires", _cap_time(inc.end))
    _sub(info, "senderName", inc.created_by or "Territoria")
    _sub(info, "headline", inc.title)
    if inc.description:
        _sub(info, "description", inc.description)
    _parameter(info, "territoria:type", inc.type)
    _parameter(info, "territoria:severity", str(inc.severity))
    _area(info, inc)


def export_cap(
    con: duckdb.DuckDBPyConnection, incident_id: int, *, sender: str = "territoria"
) -> bytes:
    """Incident ``incident_id`` as CAP 1.2 XML (UTF-8), validated against the schema."""
    inc = get_incident(con, incident_id)
    alert = etree.Element(f"{_N}alert", nsmap={None: CAP_NS})
    _sub(alert, "identifier", inc.cap_identifier or f"territoria-incident-{inc.id}")
    _sub(alert, "sender", sender)
    _sub(alert, "sent", _cap_time(utc_now()))
    _sub(alert, "status", inc.status)
    _sub(alert, "msgType", "Alert")
    _sub(alert, "source", inc.source or None)
    _sub(alert, "scope", "Public")
    _info(alert, inc)
    data: bytes = etree.tostring(alert, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate_cap(data, where=f"CAP export of incident {inc.id}")
    return data


# ------------------------------------------------------------------ import


def _text(el: Any, path: str) -> str | None:
    found = el.find(path.replace("cap:", _N))
    return None if found is None or found.text is None else found.text.strip()


def _cap_dt(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _latlon(text: str, where: str) -> tuple[float, float]:
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise InvalidCapFile(f"{where}: bad coordinate pair {text!r}: give 'lat,lon'") from exc
    return lon, lat


def _zone(info: Any, where: str) -> shapely.Geometry:
    parts: list[shapely.Geometry] = []
    for el in info.iter(f"{_N}polygon"):
        line = f"{where}, line {el.sourceline}"
        ring = [_latlon(p, line) for p in (el.text or "").split()]
        if len(ring) < 4 or ring[0] != ring[-1]:
            msg = f"{line}: a CAP polygon needs 4 or more pairs, the first repeated last"
            raise InvalidCapFile(msg)
        parts.append(Polygon(ring))
    for el in info.iter(f"{_N}circle"):
        line = f"{where}, line {el.sourceline}"
        centre, _, radius = (el.text or "").strip().partition(" ")
        try:
            km = float(radius)
        except ValueError as exc:
            raise InvalidCapFile(f"{line}: bad circle {el.text!r}: 'lat,lon radius_km'") from exc
        parts.append(buffer_m(Point(_latlon(centre, line)), km * 1000))
    if not parts:
        msg = f"{where}: no <polygon> or <circle> in any <area>: the zone cannot be located"
        raise InvalidCapFile(msg)
    return shapely.union_all(parts)


def _params(info: Any) -> dict[str, str]:
    out = {}
    for p in info.iter(f"{_N}parameter"):
        name, value = _text(p, "cap:valueName"), _text(p, "cap:value")
        if name and value is not None:
            out[name] = value
    return out


def _type(info: Any, params: dict[str, str]) -> str:
    if params.get("territoria:type") in INCIDENT_TYPES:
        return params["territoria:type"]
    event = (_text(info, "cap:event") or "").lower()
    for key, label in TYPE_LABELS.items():
        if label.lower() == event:
            return key
    category = _text(info, "cap:category")
    return next((k for k, (_, c) in INCIDENT_TYPES.items() if c == category), "other")


def parse_cap(data: bytes, *, where: str = "CAP file") -> IncidentInput:
    """The incident a CAP 1.2 alert describes (validated; nothing written)."""
    root = validate_cap(data, where=where)
    msg_type = _text(root, "cap:msgType")
    if msg_type not in ("Alert", "Update"):
        raise InvalidCapFile(f"{where}: msgType {msg_type!r}: only Alert and Update make incidents")
    infos = root.findall(f"{_N}info")
    if not infos:
        raise InvalidCapFile(f"{where}: the alert has no <info> block: nothing to record")
    info = next((i for i in infos if (_text(i, "cap:language") or "").startswith("fr")), infos[0])
    params = _params(info)
    severity = params.get("territoria:severity", "")
    level = int(severity) if severity.isdigit() else severity_from_cap(
        _text(info, "cap:severity") or "", _text(info, "cap:urgency") or "")  # fmt: skip
    sender = _text(root, "cap:sender") or "?"
    start = _cap_dt(_text(info, "cap:onset") or _text(info, "cap:effective")) or _cap_dt(
        _text(root, "cap:sent"))  # fmt: skip
    assert start is not None  # <sent> is required by the schema
    identifier = _text(root, "cap:identifier")
    return IncidentInput(
        type=_type(info, params), severity=level, geometry=_zone(info, where).wkt, start=start,
        end=_cap_dt(_text(info, "cap:expires")),
        title=_text(info, "cap:headline") or _text(info, "cap:event") or "",
        status=_text(root, "cap:status"), exercise=_text(root, "cap:status") == "Exercise",
        description=_text(info, "cap:description") or "", cap_identifier=identifier,
        cap_sender=sender,
        source=SourceRecord(name=f"CAP:{sender}", dataset=f"CAP 1.2 {identifier}",
                            publisher=sender, licence="message d'alerte CAP 1.2 reçu",
                            retrieved_at=utc_now(), address=where, version="1.2"),
    )  # fmt: skip


def import_cap(
    con: duckdb.DuckDBPyConnection,
    data: bytes,
    *,
    where: str = "CAP file",
    network_id: int | str | None = None,
) -> Incident:
    """Validate a CAP 1.2 alert and record it as an incident (all or nothing).

    Raises
    ------
    InvalidCapFile
        The file fails the schema (line and element named) or locates no zone.
    InvalidIncident
        Its zone is invalid or outside France.
    """
    req = parse_cap(data, where=where)
    if network_id is not None:
        req = IncidentInput(**{**req.__dict__, "network_id": network_id})
    try:
        return add_incident(con, req, event="incident.import")
    except InvalidIncident as exc:
        raise InvalidCapFile(f"{where}: {exc}") from exc


def read_cap_file(path: Path) -> bytes:
    """A CAP file's bytes, or :class:`InvalidCapFile` naming it."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidCapFile(f"cannot read CAP file {str(path)!r}: {exc.strerror}") from exc
