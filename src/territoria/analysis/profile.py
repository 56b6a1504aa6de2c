"""Profile of a territory: identity, figures, parents, neighbours, officials, contact, sources.

:func:`profile` gathers what a development officer wants on one page about a commune, an EPCI,
a département, a région, a canton or a circonscription, from targeted queries on the knowledge
base: each filters on a code or an organisation id, so DuckDB's zone maps skip most of the
576,000 mandates. The officials' names are joined once per profile; with no index on the
person table (the knowledge base may be read-only) that join scans its ids, the largest single
cost of a profile. A server answering many profiles reads the same rows from
:class:`ProfileLookups`, held in memory (see :mod:`territoria.analysis._profile_reads`).
Every figure comes with its provenance in ``sources``.
:func:`render_profile` turns the result into a rich renderable for the terminal.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import duckdb

from territoria.analysis._profile_model import Profile
from territoria.analysis._profile_reads import (
    EXECUTIVE_FUNCTIONS,
    MAYOR_FUNCTIONS,
    OVERLAY_LEVELS,
    PRESIDENT_FUNCTIONS,
    SPLIT_SHARE,
    SUB_COMMUNAL,
    Officials,
    ProfileLookups,
    Reads,
    reads_for,
)
from territoria.errors import EmptyKnowledgeBase, UnknownTerritory
from territoria.kb.search import resolve_level
from territoria.kb.state_bodies import BASIS_SECONDARY, PROFILE_SERVICES, state_bodies

if TYPE_CHECKING:
    from rich.console import RenderableType

__all__ = ["Profile", "ProfileLookups", "profile", "render_profile", "resolve_territory"]

#: The indicator of legal populations, shown as the profile's population series.
POPULATION = "population"
#: Levels made of communes, whose profile counts them.
AGGREGATES = ("epci", "departement", "region")
#: Order of parents, up the hierarchy, then the electoral overlays.
PARENT_ORDER = {
    "commune": 0,
    "epci": 1,
    "departement": 2,
    "region": 3,
    "canton": 4,
    "circonscription": 5,
}
#: Smallest share of a commune's area for a canton or circonscription to count as covering it
#: (below it, generalised polygons of neighbouring units merely overlap at the edges).
MIN_SHARE = 0.02
#: The polygons found must cover this share of the commune to replace the largest overlap
#: (cantons split inside a city have no polygon in the source; coasts and islands make the
#: circonscriptions of Ajaccio or Brest cover 88 to 92 % of the commune's polygon).
COVERED_SHARE = 0.8

# Indicator values first: most territories have none, and a plain filter costs least then.
_INDICATORS_SQL = """
SELECT indicator, period, value, unit, source_id FROM indicator_value
WHERE level = ? AND code = ? ORDER BY indicator, period
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


class _Profile:
    """Collects the parts of one profile and the source ids they use."""

    def __init__(self, con: duckdb.DuckDBPyConnection, reads: Reads, row: dict[str, Any]) -> None:
        self.con, self.reads = con, reads
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

    def collect_hierarchy(self) -> None:
        """Parents and neighbours, and all their names in one query.

        A sub-communal unit (arrondissement, commune déléguée) also gets its commune's parents.
        """
        rows = self.reads.memberships(self.level, self.code)
        if self.level in SUB_COMMUNAL:
            for parent_level, parent_code, _, _ in list(rows):
                if parent_level == "commune":
                    rows += self.reads.memberships("commune", parent_code)
        neighbours = self.reads.neighbours(self.level, self.code)
        info = self.reads.names(sorted({r[1] for r in rows} | {r[0] for r in neighbours}))
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
        rows = self.reads.overlays(self.level, self.code, split)
        for level in split:
            covering = [r for r in rows if r[0] == level and (r[3] or 0) >= MIN_SHARE]
            if sum(r[3] or 0.0 for r in covering) < COVERED_SHARE:
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
        rows = self.reads.overlays(self.level, self.code, OVERLAY_LEVELS)
        for level, code, name, share, source_id in rows:
            if (share or 0) >= MIN_SHARE:
                kept.append({"code": code, "level": level, "name": name, "share": _round(share, 4)})
                self.sources.add(int(source_id))
        return kept

    def collect_communes_count(self) -> None:
        if self.level not in AGGREGATES:
            self.data["communes_count"] = None
            return
        self.data["communes_count"] = len(self.reads.children(self.level, self.code, "commune"))

    # ------------------------------------------------------------------ officials

    def _bodies(self, competence: str, places: list[tuple[str, str]]) -> list[str]:
        """The bodies holding a level's competences over these places (statut particulier)."""
        found: list[str] = []
        for level, code in places:
            for body in self.reads.bodies(competence, level, code):
                if body not in found:
                    found.append(body)
        return found

    def _officials_wanted(self) -> Officials:
        """Which officials this territory's page shows, by level.

        The councils come from :mod:`territoria.kb.bodies`: a commune of the Métropole de
        Lyon shows the Métropole's president where another shows its département's, Paris
        shows the Conseil de Paris, Ajaccio the Collectivité de Corse.
        """
        wanted = Officials()
        level, code = self.level, self.code
        deps = self.parent_codes("departement")
        here = [(level, code)]
        if level == "commune" or level in SUB_COMMUNAL:
            commune = code if level == "commune" else next(iter(self.parent_codes("commune")), None)
            place = [("commune", commune)] if commune else here
            for body in self._bodies("commune", place):
                wanted.executive(body, MAYOR_FUNCTIONS)
            for body in self._bodies("epci", place):
                wanted.executive(body, PRESIDENT_FUNCTIONS)
            for competence in ("departement", "region"):
                for body in self._bodies(competence, place):
                    wanted.executive(body, PRESIDENT_FUNCTIONS)
            wanted.circonscriptions = self.parent_codes("circonscription")
            wanted.senator_departements = deps
        elif level == "epci":
            for body in self._bodies("epci", here):
                wanted.executive(body, EXECUTIVE_FUNCTIONS)
            for competence in ("departement", "region"):
                for body in self._bodies(competence, here):
                    wanted.executive(body, PRESIDENT_FUNCTIONS)
            wanted.circonscriptions = self.reads.circonscriptions_of_communes("epci", code)
            wanted.senator_departements = deps
        elif level == "departement":
            for body in self._bodies("departement", here):
                # The Ville de Paris is its Conseil de Paris, presided by the mayor.
                wanted.executive(
                    body, MAYOR_FUNCTIONS if body.startswith("cm-") else EXECUTIVE_FUNCTIONS
                )
            wanted.deputy_departements = wanted.senator_departements = [code]
        elif level == "region":
            for body in self._bodies("region", here):
                wanted.executive(body, EXECUTIVE_FUNCTIONS)
            wanted.deputy_departements = wanted.senator_departements = self.reads.children(
                "region", code, "departement"
            )
        elif level == "canton":
            for body in self._bodies("departement", [("departement", d) for d in deps]):
                wanted.canton_body, wanted.canton = body, code
                wanted.executive(body, PRESIDENT_FUNCTIONS)
        elif level == "circonscription":
            wanted.circonscriptions = [code]
            wanted.senator_departements = deps
        return wanted

    def collect_officials(self) -> None:
        wanted = self._officials_wanted()
        self.data["officials"] = officials = []
        if wanted.empty():
            return
        rows = self.reads.officials(wanted)
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
                item[1]["id"],
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
                    "date_flag": row["date_flag"],
                    "since_source": row["since_source"],
                }
            )
            self.sources.add(int(row["source_id"]))
        # What the source lacks for these councils: any official (Lyon, Corse), or its
        # president (the Charente's), or a single president (the Morbihan's).
        notes = self.reads.body_notes(list(wanted.executives))
        # a body another source filled (territoria import officials) lacks officials no more
        shown = {row["organisation_id"] for _, row in ranked}
        notes = {
            k: v
            for k, v in notes.items()
            if not (k in shown and (v[1] or "").startswith("aucun élu"))
        }
        empty = {k for k, (_, note) in notes.items() if note and note.startswith("aucun élu")}
        self.data["bodies_without_officials"] = [
            {"id": body, "name": name, "note": note}
            for body, (name, note) in notes.items()
            if body in empty and note
        ]
        self.data["council_notes"] = [
            {"id": body, "name": name, "note": note}
            for body, (name, note) in notes.items()
            if body not in empty and note
        ]

    # ------------------------------------------------------------------ contact, figures

    def collect_contact(self) -> None:
        self.data["contact"] = None
        if self.level != "commune":
            return
        row = self.reads.contact(self.level, self.code)
        if row is None:
            return
        self.data["contact"] = {
            "kind": "mairie",
            "address": row["address"],
            "email": row["email"],
            "phone": row["phone"],
            "website": row["website"],
            "opening_hours": row["opening_hours"],
        }
        self.sources.add(int(row["source_id"]))

    def collect_state_bodies(self) -> None:
        found = state_bodies(self.con, self.level, self.code, services=PROFILE_SERVICES)
        self.data["state_bodies"] = found.bodies
        self.sources.update(b.source_id for b in found.bodies if b.source_id is not None)

    def collect_indicators(self) -> None:
        self.data["indicators"] = indicators = []
        rows = self.con.execute(_INDICATORS_SQL, [self.level, self.code]).fetchall()
        if not rows:
            return
        definitions = {
            indicator: (label, label_en, unit)
            for indicator, label, label_en, unit in self.con.execute(
                "SELECT d.indicator, d.label, (SELECT any_value(l.label) FROM indicator_label l "
                "WHERE l.indicator = d.indicator AND l.lang = 'en'), d.unit "
                "FROM indicator_definition d WHERE list_contains(?, d.indicator)",
                [sorted({r[0] for r in rows})],
            ).fetchall()
        }
        sources = {s["id"]: s for s in self.reads.sources(sorted({int(r[4]) for r in rows}))}
        for indicator, period, value, unit, source_id in rows:
            label, label_en, default_unit = definitions.get(indicator, (None, None, None))
            source = sources.get(source_id, {})
            indicators.append(
                {
                    "indicator": indicator,
                    "label": label,
                    "label_en": label_en,
                    "period": period,
                    "value": value,
                    "unit": default_unit if unit is None else unit,
                    "source": source.get("name"),
                    "source_version": source.get("version"),
                    "source_date": source.get("reference_date")
                    or _json(source.get("retrieved_at")),
                    "source_id": source_id,
                    "synthetic": bool(source.get("synthetic")),
                }
            )
            self.sources.add(int(source_id))

    def collect_population_series(self, own_source: int) -> None:
        """Population by year: the imported ``population`` values (see
        :mod:`territoria.sources.populations`), and the territory's own figure for a year
        they do not give, each with its source."""
        points: dict[int, tuple[float, int]] = {}
        for item in self.data["indicators"]:
            period = str(item["period"])
            if item["indicator"] == POPULATION and item["value"] is not None and period.isdigit():
                points.setdefault(int(period), (item["value"], int(item["source_id"])))
        year, value = self.data["population_year"], self.data["population"]
        if year is not None and value is not None:
            points.setdefault(int(year), (value, own_source))
        sources = {s["id"]: s for s in self.reads.sources(sorted({p[1] for p in points.values()}))}
        self.data["population_series"] = [
            {
                "year": year,
                "value": int(value),
                "source": sources.get(source_id, {}).get("name") or "?",
                "version": sources.get(source_id, {}).get("version"),
                "source_id": source_id,
            }
            for year, (value, source_id) in sorted(points.items())
        ]

    def collect_sources(self) -> None:
        rows = self.reads.sources(sorted(self.sources))
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
    return _resolve(con, reads_for(con), code, level=level)


def _resolve(
    con: duckdb.DuckDBPyConnection, reads: Reads, code: str, *, level: str | None
) -> dict[str, Any]:
    key = resolve_level(con, level) if level is not None else None
    wanted = code.strip()
    rows: list[dict[str, Any]] = []
    # Official codes are upper case ("2A004"); a user-defined zone may not be.
    for candidate in dict.fromkeys((wanted.upper(), wanted)):
        rows = reads.territories(candidate, key)
        if rows:
            break
    if rows:
        row = rows[0]
        row["same_code"] = [
            {"level": r["level"], "code": r["code"], "name": r["name"]} for r in rows[1:]
        ]
        return row
    if not reads.has_territories():
        msg = (
            "the knowledge base holds no territories yet: run 'territoria import france' "
            "(or pass --db PATH to another knowledge base)"
        )
        raise EmptyKnowledgeBase(msg)
    where = f"no {key} has" if key else "no territory has"
    msg = f"{where} the code {wanted!r}: run 'territoria search {wanted}' to find the code"
    raise UnknownTerritory(msg)


def profile(con: duckdb.DuckDBPyConnection, code: str, *, level: str | None = None) -> Profile:
    """Return the profile of the territory with this code.

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
    Profile
        ``code``, ``level``, ``name``, ``population``, ``population_year``, ``area_km2``,
        ``density``, ``parents`` (``code``, ``level``, ``name``, ``share``: EPCI, département,
        région, then cantons and circonscriptions), ``neighbours`` (codes) and
        ``neighbours_detail``, ``communes_count`` (EPCI, département, région), ``officials``
        (``name``, ``role``, ``body``, ``function``, ``person_id``, ``since`` ...),
        ``contact`` (town hall), ``indicators`` and ``sources`` (the provenance of every part),
        plus ``same_code`` (other territories with this code); ``to_dict()`` gives its JSON.

    Raises
    ------
    UnknownTerritory
        When no territory has this code (at this level).
    UnknownLevel
        When ``level`` is not a level of the knowledge base.
    EmptyKnowledgeBase
        When nothing has been imported yet.

    Notes
    -----
    Each part comes from a targeted query (some 20 ms in all for a commune of the knowledge
    base of all of France). A server answering many profiles attaches
    :class:`ProfileLookups` to its connections: the same rows from memory, in well under a
    millisecond.
    """
    reads = reads_for(con)
    row = _resolve(con, reads, code, level=level)
    parts = _Profile(con, reads, row)
    parts.data["same_code"] = row["same_code"]
    parts.collect_hierarchy()
    parts.collect_communes_count()
    parts.collect_officials()
    parts.collect_contact()
    parts.collect_state_bodies()
    parts.collect_indicators()
    parts.collect_population_series(int(row["source_id"]))
    parts.collect_sources()
    return Profile.model_validate(parts.data)


# --------------------------------------------------------------------------- rendering

_THIN = "\u202f"  # narrow no-break space, the French thousands separator


def _number(value: float | int | None, digits: int = 0) -> str:
    """French typography: thin-space thousands, decimal comma."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}".replace(",", _THIN).replace(".", ",")
    return text


def _state_table(bodies: list[dict[str, Any]]) -> RenderableType:
    """The State's services of the profile: service, name, seat or address, offices."""
    from rich.table import Table

    table = Table(title="Services de l'État", title_justify="left")
    for column in ("service", "nom", "siège", "fonctions à rencontrer"):
        table.add_column(column)
    for body in bodies:
        name = body["name"]
        if BASIS_SECONDARY in (body.get("scope_note") or ""):
            name += f" ({BASIS_SECONDARY})"
        seat = (body.get("address") or "").replace("\n", ", ") or body.get("seat_name") or "—"
        offices = ", ".join(o["office"] for o in body.get("offices", []))
        table.add_row(body["service"], name, seat, offices)
    return table


def render_profile(result: Profile) -> RenderableType:
    """Return a rich renderable of a :func:`profile` for the terminal."""
    data = result.to_dict()
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
    series = data.get("population_series") or []
    if series:
        last = series[-1]
        source = f"{last['source']} {last.get('version') or ''}".rstrip()
        facts.add_row("population", f"{_number(last['value'])} ({last['year']}) · {source}")
        if len(series) > 1:
            facts.add_row(
                "évolution", " · ".join(f"{p['year']} {_number(p['value'])}" for p in series)
            )
    else:
        year = data.get("population_year")
        facts.add_row(
            "population", _number(data.get("population")) + (f" ({year})" if year else "")
        )
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
            since = person.get("since") or ""
            if person.get("date_flag") == "day_month_swapped" and person.get("since_source"):
                since += f" (corrigée : {person['since_source']} dans la source)"
            elif person.get("date_flag") == "implausible":
                since += " (douteuse dans la source)"
            table.add_row(person["name"], function, person.get("body") or "", since)
        parts.append(table)
    for note in [*data.get("bodies_without_officials", []), *data.get("council_notes", [])]:
        parts.append(Text(f"{note['name']} : {note['note']}", style="yellow"))
    if data.get("state_bodies"):
        parts.append(_state_table(data["state_bodies"]))
    # the population series is shown above, with its sources
    indicators = [i for i in data.get("indicators", []) if i["indicator"] != POPULATION]
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
