"""Profile of a territory: identity, figures, parents, neighbours, officials, contact, sources.

:func:`profile` gathers what a development officer wants on one page about a commune, an EPCI,
a département, a région, a canton or a circonscription, from targeted queries on the knowledge
base: each filters on a code or an organisation id, so DuckDB's zone maps skip most of the
576,000 mandates. The officials' names are joined once per profile; with no index on the
person table (the knowledge base may be read-only) that join scans its ids, the largest single
cost of a profile. Every figure comes with its provenance in ``sources``.
:func:`render_profile` turns the result into a rich renderable for the terminal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

from territoria.errors import EmptyKnowledgeBase, UnknownTerritory
from territoria.kb.search import resolve_level

if TYPE_CHECKING:
    from rich.console import RenderableType

__all__ = ["profile", "render_profile", "resolve_territory"]

#: Levels made of communes, whose profile counts them.
AGGREGATES = ("epci", "departement", "region")
#: Levels inside a commune: their officials and parents are the commune's.
SUB_COMMUNAL = (
    "arrondissement_municipal",
    "commune_deleguee",
    "commune_associee",
    "secteur_municipal",
)
#: Order of parents, up the hierarchy, then the electoral overlays.
PARENT_ORDER = {
    "commune": 0,
    "epci": 1,
    "departement": 2,
    "region": 3,
    "canton": 4,
    "circonscription": 5,
}
#: A commune whose largest canton or circonscription holds less than this share of its area is
#: split: its other cantons or circonscriptions are found by intersecting the polygons.
SPLIT_SHARE = 0.99
#: Smallest share of a commune's area for a canton or circonscription to count as covering it
#: (below it, generalised polygons of neighbouring units merely overlap at the edges).
MIN_SHARE = 0.02
#: The polygons found must cover this share of the commune to replace the largest overlap
#: (cantons split inside a city have no polygon in the source; coasts and islands make the
#: circonscriptions of Ajaccio or Brest cover 88 to 92 % of the commune's polygon).
COVERED_SHARE = 0.8

_TERRITORY_SQL = """
SELECT t.level, l.label_fr AS level_label, t.code, t.name, t.kind, t.population,
       t.population_year, t.area_km2, t.density, ST_X(t.point) AS lon, ST_Y(t.point) AS lat,
       t.xmin, t.ymin, t.xmax, t.ymax, t.source_id, t.geom_source
FROM territory t JOIN level l ON l.level = t.level
WHERE t.code = ? {level}
ORDER BY l.rank
"""

_OVERLAYS_SQL = """
SELECT c.level, c.code, c.name,
       ST_Area(ST_Intersection(c.geom, t.geom)) / nullif(ST_Area(t.geom), 0) AS share,
       c.source_id
FROM territory t
JOIN territory c ON list_contains($levels, c.level) AND coalesce(c.kind, '') <> 'V'
     AND c.xmin <= t.xmax AND c.xmax >= t.xmin AND c.ymin <= t.ymax AND c.ymax >= t.ymin
     AND ST_Intersects(c.geom, t.geom)
WHERE t.level = $level AND t.code = $code
"""

# The mandates a profile shows, from one filter per organisation (``_Officials.query``) so that
# DuckDB's zone maps skip the row groups of other organisations; person names joined once, and
# the names of the few bodies from a filtered organisation table (a join with all 36,000 would
# cost more than the mandates).
_OFFICIALS_SQL = """
WITH picked AS ({filters}),
bodies AS (SELECT id, name FROM organisation WHERE list_contains(?, id))
SELECT DISTINCT ON (m.id)  -- a canton's councillor may also be its council's president
       m.person_id, p.first_name, p.last_name, m.role, m.organisation_id,
       coalesce(b.name, m.organisation_id) AS body, m.function_code, m.function,
       m.function_rank, coalesce(m.function_start_date, m.start_date) AS since, m.end_date,
       m.level, m.code, m.group_name, m.party, m.source_id
FROM picked m
JOIN person p ON p.id = m.person_id
LEFT JOIN bodies b ON b.id = m.organisation_id
"""

_CONTACT_SQL = """
SELECT address, email, phone, website, opening_hours, source_id
FROM contact WHERE level = ? AND code = ? AND kind = 'mairie'
"""

_INDICATORS_SQL = """
SELECT v.indicator, d.label, v.period, v.value, coalesce(v.unit, d.unit) AS unit,
       s.name AS source, s.reference_date, s.retrieved_at, v.source_id, s.synthetic
FROM indicator_value v
LEFT JOIN indicator_definition d ON d.indicator = v.indicator
LEFT JOIN source s ON s.id = v.source_id
WHERE v.level = ? AND v.code = ?
ORDER BY v.indicator, v.period
"""

_SOURCES_SQL = """
SELECT id, name, dataset, publisher, licence, version, retrieved_at, reference_date, address,
       synthetic
FROM source WHERE list_contains(?, id) ORDER BY id
"""


def _json(value: Any) -> Any:
    """Dates as ISO strings, everything else unchanged."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[dict[str, Any]]:
    """Rows of a query as dictionaries keyed by column name."""
    cursor = con.execute(sql, [] if params is None else params)
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@dataclass
class _Officials:
    """The mandates a profile shows: executives of bodies, councillors, parliamentarians.

    ``part`` orders them on the page: the canton's councillors, then the executives in the
    order they were added, then deputies, then senators.
    """

    executives: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    canton_body: str | None = None
    canton: str | None = None
    circonscriptions: list[str] = field(default_factory=list)
    deputy_departements: list[str] = field(default_factory=list)
    senator_departements: list[str] = field(default_factory=list)

    def executive(self, organisation: str, functions: tuple[str, ...]) -> None:
        self.executives.setdefault(organisation, (len(self.executives) + 1, functions))

    def empty(self) -> bool:
        return not (
            self.executives
            or self.canton
            or self.circonscriptions
            or self.deputy_departements
            or self.senator_departements
        )

    def query(self) -> tuple[str, list[Any]]:
        """SQL and parameters selecting the candidate mandates."""
        filters: list[tuple[str, list[Any]]] = [
            ("organisation_id = ? AND list_contains(?, function_code)", [org, list(functions)])
            for org, (_, functions) in self.executives.items()
        ]
        if self.canton_body:
            filters.append(
                (
                    "organisation_id = ? AND level = 'canton' AND code = ?",
                    [self.canton_body, self.canton],
                )
            )
        if self.circonscriptions or self.deputy_departements:
            # Circonscription codes start with their département's: "35-08".
            filters.append(
                (
                    "organisation_id = 'an' AND (list_contains(?, code) "
                    "OR list_contains(?, split_part(code, '-', 1)))",
                    [self.circonscriptions, self.deputy_departements],
                )
            )
        if self.senator_departements:
            filters.append(
                (
                    "organisation_id = 'senat' AND level = 'departement' "
                    "AND list_contains(?, code)",
                    [self.senator_departements],
                )
            )
        union = " UNION ALL ".join(f"SELECT * FROM mandate WHERE {where}" for where, _ in filters)
        bodies = [*self.executives, "an", "senat"] + (
            [self.canton_body] if self.canton_body else []
        )
        params = [v for _, values in filters for v in values]
        return _OFFICIALS_SQL.format(filters=union), [*params, bodies]

    def part(self, row: dict[str, Any]) -> int | None:
        """Rank of the group a mandate belongs to, or ``None`` when not shown."""
        organisation = row["organisation_id"]
        if organisation == "an":
            return len(self.executives) + 1
        if organisation == "senat":
            return len(self.executives) + 2
        if (
            organisation == self.canton_body
            and row["level"] == "canton"
            and row["code"] == self.canton
        ):
            return 0
        found = self.executives.get(organisation)
        if found is None or row["function_code"] not in found[1]:
            return None
        return found[0]


class _Profile:
    """Collects the parts of one profile and the source ids they use."""

    def __init__(self, con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> None:
        self.con = con
        self.level, self.code = row["level"], row["code"]
        self.sources: set[int] = {int(row["source_id"])}
        lon, xmin = row["lon"], row["xmin"]
        self.data: dict[str, Any] = {
            "code": self.code,
            "level": self.level,
            "level_label": row["level_label"],
            "name": row["name"],
            "kind": row["kind"],
            "population": _int(row["population"]),
            "population_year": row["population_year"],
            "area_km2": _round(row["area_km2"], 3),
            "density": _round(row["density"], 1),
            "point": None if lon is None else {"lon": round(lon, 6), "lat": round(row["lat"], 6)},
            "bbox": None if xmin is None else [xmin, row["ymin"], row["xmax"], row["ymax"]],
            "geometry_source": row["geom_source"],
        }
        self.parents: list[dict[str, Any]] = []

    def parent_codes(self, level: str) -> list[str]:
        return [p["code"] for p in self.parents if p["level"] == level]

    # ------------------------------------------------------------------ hierarchy

    def _memberships(self, level: str, code: str) -> list[tuple[Any, ...]]:
        return self.con.execute(
            "SELECT parent_level, parent_code, share, source_id FROM membership "
            "WHERE level = ? AND code = ?",
            [level, code],
        ).fetchall()

    def collect_hierarchy(self) -> None:
        """Parents and neighbours, and all their names in one query.

        A sub-communal unit (arrondissement, commune déléguée) also gets its commune's parents.
        """
        rows = self._memberships(self.level, self.code)
        if self.level in SUB_COMMUNAL:
            for parent_level, parent_code, _, _ in list(rows):
                if parent_level == "commune":
                    rows += self._memberships("commune", parent_code)
        neighbours = self.con.execute(
            "SELECT neighbour, source_id FROM adjacency WHERE level = ? AND code = ? "
            "ORDER BY neighbour",
            [self.level, self.code],
        ).fetchall()
        codes = sorted({r[1] for r in rows} | {r[0] for r in neighbours})
        info = {
            (level, code): (name, kind, population)
            for level, code, name, kind, population in self.con.execute(
                "SELECT level, code, name, kind, population FROM territory "
                "WHERE list_contains(?, code)",
                [codes],
            ).fetchall()
        }
        found: dict[tuple[str, str], dict[str, Any]] = {}
        kinds: dict[tuple[str, str], str | None] = {}
        for parent_level, parent_code, share, source_id in rows:
            key = (parent_level, parent_code)
            if key == (self.level, self.code) or key in found:
                continue
            name, kind, _ = info.get(key, (None, None, None))
            found[key] = {
                "code": parent_code,
                "level": parent_level,
                "name": name,
                "share": _round(share, 4),
            }
            kinds[key] = kind
            self.sources.add(int(source_id))
        parents = list(found.values())
        if self.level == "commune":
            parents = self._split_overlays(parents, kinds)
        elif self.level in SUB_COMMUNAL:
            parents = self._own_overlays(parents)
        parents.sort(key=lambda p: (PARENT_ORDER.get(p["level"], 9), p["code"]))
        self.parents = self.data["parents"] = parents
        self.data["neighbours"] = [code for code, _ in neighbours]
        self.data["neighbours_detail"] = []
        for code, source_id in neighbours:
            name, _, population = info.get((self.level, code), (None, None, None))
            self.data["neighbours_detail"].append(
                {"code": code, "level": self.level, "name": name, "population": _int(population)}
            )
            self.sources.add(int(source_id))

    def _split_overlays(
        self, parents: list[dict[str, Any]], kinds: dict[tuple[str, str], str | None]
    ) -> list[dict[str, Any]]:
        """All the cantons or circonscriptions of a commune split between several.

        The knowledge base links each commune to the canton and circonscription covering most
        of it (or to a pseudo-canton grouping a city's cantons); a split commune gets every
        one covering at least ``MIN_SHARE`` of it, when their polygons cover it.
        """
        # A pseudo-canton ("V": a city's cantons grouped) stays: the cantons splitting a city
        # have no polygon of their own in the source.
        split = [
            p["level"]
            for p in parents
            if p["level"] in ("canton", "circonscription")
            and (p["share"] or 0) < SPLIT_SHARE
            and kinds[(p["level"], p["code"])] != "V"
        ]
        if not split:
            return parents
        rows = self.con.execute(
            _OVERLAYS_SQL, {"levels": split, "level": self.level, "code": self.code}
        ).fetchall()
        for level in split:
            covering = [r for r in rows if r[0] == level and (r[3] or 0) >= MIN_SHARE]
            if sum(r[3] for r in covering) < COVERED_SHARE:
                continue
            parents = [p for p in parents if p["level"] != level]
            for _, code, name, share, source_id in covering:
                parents.append(
                    {"code": code, "level": level, "name": name, "share": _round(share, 4)}
                )
                self.sources.add(int(source_id))
        return parents

    def _own_overlays(self, parents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Cantons and circonscriptions of a sub-communal unit, from its own polygon.

        Those of its commune (a city split between several) would mislead.
        """
        kept = [p for p in parents if p["level"] not in ("canton", "circonscription")]
        rows = self.con.execute(
            _OVERLAYS_SQL,
            {"levels": ["canton", "circonscription"], "level": self.level, "code": self.code},
        ).fetchall()
        for level, code, name, share, source_id in rows:
            if (share or 0) >= MIN_SHARE:
                kept.append({"code": code, "level": level, "name": name, "share": _round(share, 4)})
                self.sources.add(int(source_id))
        return kept

    def collect_communes_count(self) -> None:
        if self.level not in AGGREGATES:
            self.data["communes_count"] = None
            return
        row = self.con.execute(
            "SELECT count(*) FROM membership WHERE parent_level = ? AND parent_code = ? "
            "AND level = 'commune'",
            [self.level, self.code],
        ).fetchone()
        self.data["communes_count"] = int(row[0]) if row else 0

    # ------------------------------------------------------------------ officials

    def _officials_wanted(self) -> _Officials:
        """Which officials this territory's page shows, by level."""
        wanted = _Officials()
        level, code = self.level, self.code
        deps, regions = self.parent_codes("departement"), self.parent_codes("region")
        if level == "commune" or level in SUB_COMMUNAL:
            commune = code if level == "commune" else next(iter(self.parent_codes("commune")), None)
            if commune:
                wanted.executive(f"cm-{commune}", ("MAI", "ADJ"))
            for epci in self.parent_codes("epci"):
                wanted.executive(f"cc-{epci}", ("PRE",))
            for dep in deps:
                wanted.executive(f"cd-{dep}", ("PRE",))
            for region in regions:
                wanted.executive(f"cr-{region}", ("PRE",))
            wanted.circonscriptions = self.parent_codes("circonscription")
            wanted.senator_departements = deps
        elif level == "epci":
            wanted.executive(f"cc-{code}", ("PRE", "VPE"))
            for dep in deps:
                wanted.executive(f"cd-{dep}", ("PRE",))
            for region in regions:
                wanted.executive(f"cr-{region}", ("PRE",))
            wanted.circonscriptions = [
                r[0]
                for r in self.con.execute(
                    "SELECT DISTINCT c.parent_code FROM membership c "
                    "SEMI JOIN (SELECT code FROM membership WHERE level = 'commune' "
                    "AND parent_level = 'epci' AND parent_code = ?) e ON e.code = c.code "
                    "WHERE c.level = 'commune' AND c.parent_level = 'circonscription'",
                    [code],
                ).fetchall()
            ]
            wanted.senator_departements = deps
        elif level == "departement":
            wanted.executive(f"cd-{code}", ("PRE", "VPE"))
            wanted.deputy_departements = wanted.senator_departements = [code]
        elif level == "region":
            wanted.executive(f"cr-{code}", ("PRE", "VPE"))
            wanted.deputy_departements = wanted.senator_departements = [
                r[0]
                for r in self.con.execute(
                    "SELECT code FROM membership WHERE level = 'departement' "
                    "AND parent_level = 'region' AND parent_code = ?",
                    [code],
                ).fetchall()
            ]
        elif level == "canton":
            for dep in deps:
                wanted.canton_body, wanted.canton = f"cd-{dep}", code
                wanted.executive(f"cd-{dep}", ("PRE",))
        elif level == "circonscription":
            wanted.circonscriptions = [code]
            wanted.senator_departements = deps
        return wanted

    def collect_officials(self) -> None:
        wanted = self._officials_wanted()
        self.data["officials"] = officials = []
        if wanted.empty():
            return
        rows = _records(self.con, *wanted.query())
        ranked = []
        for row in rows:
            part = wanted.part(row)
            if part is not None:
                ranked.append((part, row))
        ranked.sort(
            key=lambda item: (
                item[0],
                0 if item[1]["function_code"] in ("MAI", "PRE") else 1,
                item[1]["function_rank"] if item[1]["function_rank"] is not None else 1 << 30,
                item[1]["code"] or "",
                item[1]["last_name"],
                item[1]["first_name"],
            )
        )
        for _, row in ranked:
            officials.append(
                {
                    "name": f"{row['first_name']} {row['last_name']}".strip(),
                    "role": row["role"],
                    "body": row["body"],
                    "function": row["function"],
                    "function_code": row["function_code"],
                    "rank": row["function_rank"],
                    "person_id": row["person_id"],
                    "since": _json(row["since"]),
                    "until": _json(row["end_date"]),
                    "territory": {"level": row["level"], "code": row["code"]},
                    "group": row["group_name"],
                    "party": row["party"],
                }
            )
            self.sources.add(int(row["source_id"]))

    # ------------------------------------------------------------------ contact, figures

    def collect_contact(self) -> None:
        self.data["contact"] = None
        if self.level != "commune":
            return
        row = self.con.execute(_CONTACT_SQL, [self.level, self.code]).fetchone()
        if row is None:
            return
        address, email, phone, website, hours, source_id = row
        self.data["contact"] = {
            "kind": "mairie",
            "address": address,
            "email": email,
            "phone": phone,
            "website": website,
            "opening_hours": hours,
        }
        self.sources.add(int(source_id))

    def collect_indicators(self) -> None:
        self.data["indicators"] = indicators = []
        for row in _records(self.con, _INDICATORS_SQL, [self.level, self.code]):
            indicators.append(
                {
                    "indicator": row["indicator"],
                    "label": row["label"],
                    "period": row["period"],
                    "value": row["value"],
                    "unit": row["unit"],
                    "source": row["source"],
                    "source_date": row["reference_date"] or _json(row["retrieved_at"]),
                    "source_id": row["source_id"],
                    "synthetic": bool(row["synthetic"]),
                }
            )
            self.sources.add(int(row["source_id"]))

    def collect_sources(self) -> None:
        rows = _records(self.con, _SOURCES_SQL, [sorted(self.sources)])
        self.data["sources"] = [{key: _json(value) for key, value in row.items()} for row in rows]


def resolve_territory(
    con: duckdb.DuckDBPyConnection, code: str, *, level: str | None = None
) -> dict[str, Any]:
    """Return the knowledge base's row for the territory with this code.

    Parameters
    ----------
    con
        Open knowledge base.
    code
        Official code (case-insensitive: ``"2a004"`` is Ajaccio).
    level
        Level of the territory; by default the first with this code in ``level.rank`` order.

    Returns
    -------
    dict
        ``level``, ``level_label``, ``code``, ``name``, ``kind``, ``population``,
        ``population_year``, ``area_km2``, ``density``, ``lon``/``lat`` (a point inside it),
        bounding box, ``source_id``, ``geom_source`` and ``same_code`` (other territories with
        this code, at other levels).

    Raises
    ------
    UnknownTerritory
        When no territory has this code (at this level).
    UnknownLevel
        When ``level`` is not a level of the knowledge base.
    EmptyKnowledgeBase
        When nothing has been imported yet.
    """
    key = resolve_level(con, level) if level is not None else None
    wanted = code.strip()
    sql = _TERRITORY_SQL.format(level="AND t.level = ?" if key else "")
    rows: list[dict[str, Any]] = []
    # Official codes are upper case ("2A004"); a user-defined zone may not be.
    for candidate in dict.fromkeys((wanted.upper(), wanted)):
        rows = _records(con, sql, [candidate, key] if key else [candidate])
        if rows:
            break
    if rows:
        row = rows[0]
        row["same_code"] = [
            {"level": r["level"], "code": r["code"], "name": r["name"]} for r in rows[1:]
        ]
        return row
    count = con.execute("SELECT count(*) FROM territory").fetchone()
    if not count or not count[0]:
        msg = (
            "the knowledge base holds no territories yet: run 'territoria import france' "
            "(or pass --db PATH to another knowledge base)"
        )
        raise EmptyKnowledgeBase(msg)
    where = f"no {key} has" if key else "no territory has"
    msg = f"{where} the code {wanted!r}: run 'territoria search {wanted}' to find the code"
    raise UnknownTerritory(msg)


def profile(
    con: duckdb.DuckDBPyConnection, code: str, *, level: str | None = None
) -> dict[str, Any]:
    """Return the profile of the territory with this code, as JSON-able data.

    Parameters
    ----------
    con
        Open knowledge base (read-only is enough).
    code
        Official code: INSEE code of a commune (``"35238"``), SIREN of an EPCI
        (``"243500139"``), département (``"35"``, ``"2A"``), région (``"53"``), canton
        (``"3518"``) or circonscription (``"35-08"``).
    level
        The level of the territory when the code is ambiguous (``"53"`` is the département
        Mayenne and the région Bretagne); by default the first level in the ``level`` table's
        ``rank`` order (commune, département, région, EPCI ...).

    Returns
    -------
    dict
        ``code``, ``level``, ``name``, ``population``, ``population_year``, ``area_km2``,
        ``density``, ``parents`` (``code``, ``level``, ``name``, ``share``: EPCI, département,
        région, then cantons and circonscriptions), ``neighbours`` (codes) and
        ``neighbours_detail``, ``communes_count`` (EPCI, département, région), ``officials``
        (``name``, ``role``, ``body``, ``function``, ``person_id``, ``since`` ...),
        ``contact`` (town hall), ``indicators`` and ``sources`` (the provenance of every part),
        plus ``same_code`` (other territories with this code).

    Raises
    ------
    UnknownTerritory
        When no territory has this code (at this level).
    UnknownLevel
        When ``level`` is not a level of the knowledge base.
    EmptyKnowledgeBase
        When nothing has been imported yet.
    """
    row = resolve_territory(con, code, level=level)
    parts = _Profile(con, row)
    parts.data["same_code"] = row["same_code"]
    parts.collect_hierarchy()
    parts.collect_communes_count()
    parts.collect_officials()
    parts.collect_contact()
    parts.collect_indicators()
    parts.collect_sources()
    return parts.data


# --------------------------------------------------------------------------- rendering

_THIN = "\u202f"  # narrow no-break space, the French thousands separator


def _number(value: float | int | None, digits: int = 0) -> str:
    """French typography: thin-space thousands, decimal comma."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}".replace(",", _THIN).replace(".", ",")
    return text


def render_profile(data: dict[str, Any]) -> RenderableType:
    """Return a rich renderable of a :func:`profile` for the terminal.

    Parameters
    ----------
    data
        The dictionary returned by :func:`profile`.
    """
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    title = Text.assemble(
        (data["name"], "bold"), f"  {data.get('level_label') or data['level']} {data['code']}"
    )
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    year = data.get("population_year")
    facts.add_row("population", _number(data.get("population")) + (f" ({year})" if year else ""))
    facts.add_row("superficie", f"{_number(data.get('area_km2'), 2)} km²")
    facts.add_row("densité", f"{_number(data.get('density'), 1)} hab./km²")
    if data.get("communes_count") is not None:
        facts.add_row("communes", _number(data["communes_count"]))
    for parent in data.get("parents", []):
        share = parent.get("share")
        part = (
            f" ({_number(100 * share, 0)} %)" if share is not None and share < SPLIT_SHARE else ""
        )
        facts.add_row(parent["level"], f"{parent['name']} ({parent['code']}){part}")
    neighbours = data.get("neighbours_detail", [])
    if neighbours:
        facts.add_row("voisins", ", ".join(f"{n['name']} ({n['code']})" for n in neighbours))
    contact = data.get("contact")
    if contact:
        for label, key in (
            ("mairie", "address"),
            ("courriel", "email"),
            ("téléphone", "phone"),
            ("site", "website"),
        ):
            if contact.get(key):
                facts.add_row(label, str(contact[key]).replace("\n", ", "))
    if data.get("same_code"):
        facts.add_row(
            "même code",
            ", ".join(f"{o['name']} ({o['level']})" for o in data["same_code"])
            + " — choisir avec --level",
        )
    parts: list[RenderableType] = [Panel(facts, title=title, title_align="left")]
    officials = data.get("officials", [])
    if officials:
        table = Table(title="Élus", title_justify="left", expand=False)
        table.add_column("nom")
        table.add_column("fonction")
        table.add_column("assemblée")
        table.add_column("depuis")
        for person in officials:
            function = person.get("function") or person.get("role") or ""
            where = person.get("territory") or {}
            if where.get("level") == "circonscription" and where.get("code"):
                function = f"{function} ({where['code']})"
            table.add_row(
                person["name"], function, person.get("body") or "", person.get("since") or ""
            )
        parts.append(table)
    indicators = data.get("indicators", [])
    if indicators:
        table = Table(title="Indicateurs", title_justify="left")
        for column in ("indicateur", "période", "valeur", "source"):
            table.add_column(column, justify="right" if column == "valeur" else "left")
        for item in indicators:
            value = _number(item["value"], 0 if float(item["value"]).is_integer() else 2)
            unit = f" {item['unit']}" if item.get("unit") else ""
            table.add_row(
                item.get("label") or item["indicator"],
                item["period"],
                value + unit,
                f"{item.get('source')} ({item.get('source_date')})",
            )
        parts.append(table)
    sources = data.get("sources", [])
    if sources:
        lines = sorted(
            {
                f"{s['name']} {s.get('version') or ''}".strip()
                + (f", {s['reference_date']}" if s.get("reference_date") else "")
                + (" [synthetic]" if s.get("synthetic") else "")
                for s in sources
            }
        )
        parts.append(Text("sources: " + "; ".join(lines), style="dim"))
    return Group(*parts)
