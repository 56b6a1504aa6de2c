"""Poles in influence plans: a pole's firms and knowledge actors as candidates or co-signers.

:func:`register_pole_actors` writes the actors of a detected pole
(:func:`territoria.analysis.poles.detect_poles`) into the influence graph, in one transaction:

- one ``actor`` row per legal unit (SIREN) among the pole's listed firms and knowledge actors,
  id ``siren-<SIREN>``, named after the legal unit, located in the commune of its largest
  establishment in the pole; kind ``research_centre`` (NAF 72), ``university`` (NAF 85.4),
  ``association`` (legal form 92xx) or ``company``;
- ``partner`` relations from each actor to the executive of its commune's council (the mayor)
  and of its EPCI's council (the president), or ``member_of`` the council itself when it has no
  known executive. Strengths (multiplied by the probability of the relation type, see
  ``defaults.toml``) grow with the actor's estimated employment ``e`` — a large employer or
  university gets the ear of its mayor more easily than a small firm:

  ========================  =====================================================
  towards                   strength
  ========================  =====================================================
  mayor of the commune      ``min(1, 0.25 + 0.15 · log10(1 + e))`` (0.40 for 10
                            jobs, 0.55 for 100, 0.70 for 1,000)
  president of the EPCI     0.7 × the above (one actor among many of the EPCI)
  ========================  =====================================================

  (a mayor who also presides the EPCI gets one relation, the stronger);

- a ``source`` row (name ``pole-actors``, dataset the pole id) flagged ``synthetic`` when the
  SIRENE data the pole was detected on is synthetic. Registering a pole again replaces its
  relations (an actor shared with another pole or your own imports is kept); registering it
  unchanged writes nothing, so the cached influence graph stays valid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from territoria.analysis.poles import find_pole
from territoria.errors import InvalidPlanRequest
from territoria.sources._framework import SourceRecord, record_source, swap

__all__ = [
    "SOURCE_NAME",
    "PoleActors",
    "pole_actor_rows",
    "pole_actors_registered",
    "pole_candidates",
    "register_pole_actors",
]

SOURCE_NAME = "pole-actors"
#: Share of the mayor's strength an actor has with its EPCI's president.
EPCI_FACTOR = 0.7
#: Firms and knowledge actors of a pole taken into a plan (the largest).
DEFAULT_TOP = 20


@dataclass
class PoleActors:
    """What :func:`register_pole_actors` wrote for a pole."""

    pole: str
    actors: list[str]
    relations: int
    created: int
    synthetic: bool
    changed: bool
    kinds: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "pole": self.pole,
            "actors": self.actors,
            "kinds": self.kinds,
            "relations": self.relations,
            "created": self.created,
            "synthetic": self.synthetic,
            "changed": self.changed,
        }


def strength(employment: float) -> float:
    """Strength of an actor's relation with its mayor, from its estimated employment."""
    return round(min(1.0, 0.25 + 0.15 * math.log10(1.0 + max(employment, 0.0))), 4)


def _kind(sector: str, legal_form: str | None) -> str:
    if sector.startswith("72"):
        return "research_centre"
    if sector.startswith("85.4"):
        return "university"
    if legal_form and legal_form.startswith("92"):
        return "association"
    return "company"


def pole_actor_rows(
    con: duckdb.DuckDBPyConnection, pole: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The actors of a pole: its listed firms and knowledge actors, one per legal unit.

    Returns
    -------
    list of dict
        ``id`` (``siren-…``), ``siren``, ``name``, ``kind``, ``commune``, ``sector``,
        ``employment`` (of its establishments listed in the pole), largest first.
    """
    merged: dict[str, dict[str, Any]] = {}
    listed = [*pole.get("firms", []), *pole.get("knowledge_actors", [])]
    for entry in listed:
        siren = str(entry["siret"])[:9]
        found = merged.get(siren)
        jobs = float(entry.get("employment") or 0.0)
        if found is None:
            merged[siren] = {
                "siren": siren,
                "name": entry.get("legal_unit") or entry.get("name"),
                "commune": entry["commune"],
                "sector": entry["sector"],
                "employment": jobs,
                "largest": jobs,
            }
            continue
        found["employment"] += jobs
        if jobs > found["largest"]:  # located where its largest establishment is
            found.update(commune=entry["commune"], sector=entry["sector"], largest=jobs)
    if not merged:
        return []
    rows = con.execute(
        "SELECT siren, name, legal_form FROM legal_unit WHERE siren IN (SELECT unnest(?))",
        [sorted(merged)],
    ).fetchall()
    units = {str(r[0]): (r[1], r[2]) for r in rows}
    out: list[dict[str, Any]] = []
    for siren, entry in merged.items():
        name, legal_form = units.get(siren, (None, None))
        out.append(
            {
                "id": f"siren-{siren}",
                "siren": siren,
                "name": str(name or entry["name"] or f"SIREN {siren}"),
                "kind": _kind(str(entry["sector"]), legal_form),
                "commune": str(entry["commune"]),
                "sector": str(entry["sector"]),
                "employment": float(entry["employment"]),
            }
        )
    out.sort(key=lambda r: (-r["employment"], r["id"]))
    return out


_EXECUTIVES_SQL = """
WITH place AS (
    SELECT DISTINCT unnest(?) AS commune
), body AS (
    SELECT commune, 'commune' AS level, 'cm-' || commune AS organisation, 'MAI' AS function_code
    FROM place
    UNION ALL
    SELECT p.commune, 'epci', 'cc-' || m.parent_code, 'PRE'
    FROM place p JOIN membership m ON m.level = 'commune' AND m.code = p.commune
         AND m.parent_level = 'epci'
)
SELECT b.commune, b.level, b.organisation,
       (SELECT min(person_id) FROM mandate x WHERE x.organisation_id = b.organisation
          AND x.function_code = b.function_code AND x.end_date IS NULL) AS executive
FROM body b WHERE b.organisation IN (SELECT id FROM organisation)
"""


def _relations(
    con: duckdb.DuckDBPyConnection, actors: list[dict[str, Any]]
) -> list[tuple[str, str, str, float]]:
    """(actor, executive or council, type, strength) of every actor."""
    bodies: dict[str, list[tuple[str, str, str | None]]] = {}
    for commune, level, organisation, executive in con.execute(
        _EXECUTIVES_SQL, [sorted({a["commune"] for a in actors})]
    ).fetchall():
        bodies.setdefault(str(commune), []).append((str(level), str(organisation), executive))
    out: dict[tuple[str, str], tuple[str, str, str, float]] = {}
    for actor in actors:
        base = strength(actor["employment"])
        for level, organisation, executive in sorted(bodies.get(actor["commune"], [])):
            value = round(base * (EPCI_FACTOR if level == "epci" else 1.0), 4)
            found = (
                (actor["id"], str(executive), "partner", value)
                if executive is not None
                else (actor["id"], organisation, "member_of", value)
            )
            # a mayor who also presides the EPCI is one relation, the stronger
            key = (found[0], found[1])
            if key not in out or out[key][3] < value:
                out[key] = found
    return list(out.values())


def _current(con: duckdb.DuckDBPyConnection, pole_id: str) -> set[tuple[str, str, str, float]]:
    """Relations of the pole's current registration."""
    old = "SELECT id FROM source WHERE name = ? AND dataset = ?"
    return {
        (str(r[0]), str(r[1]), str(r[2]), round(float(r[3]), 4))
        for r in con.execute(
            f"SELECT source_actor, target_actor, type, strength FROM relation "
            f"WHERE source_id IN ({old})",
            [SOURCE_NAME, pole_id],
        ).fetchall()
    }


def _up_to_date(
    con: duckdb.DuckDBPyConnection,
    pole_id: str,
    ids: list[str],
    relations: list[tuple[str, str, str, float]],
) -> bool:
    known = con.execute(
        "SELECT count(*) FROM actor WHERE id IN (SELECT unnest(?))", [ids]
    ).fetchone()
    return bool(known and known[0] == len(ids)) and _current(con, pole_id) == set(relations)


def pole_actors_registered(con: duckdb.DuckDBPyConnection, pole: Mapping[str, Any]) -> bool:
    """Whether the pole's actors and relations are registered as they are now (no write
    needed): lets a caller holding only a read connection skip :func:`register_pole_actors`."""
    actors = pole_actor_rows(con, pole)
    if not actors:
        return False
    ids = [a["id"] for a in actors]
    return _up_to_date(con, str(pole["id"]), ids, _relations(con, actors))


def register_pole_actors(con: duckdb.DuckDBPyConnection, pole: Mapping[str, Any]) -> PoleActors:
    """Write a pole's firms and knowledge actors and their relations into the knowledge base.

    Parameters
    ----------
    con
        Writable knowledge base (the one the pole was detected on).
    pole
        A pole of :func:`~territoria.analysis.poles.detect_poles` (its listed ``firms`` and
        ``knowledge_actors`` are registered: detect with a larger ``top`` for more).

    Returns
    -------
    PoleActors
        The actor ids (largest first), their kinds, the number of relations, how many actors
        were created, and whether anything changed.
    """
    pole_id = str(pole["id"])
    actors = pole_actor_rows(con, pole)
    if not actors:
        msg = f"pole {pole_id!r} lists no firm or knowledge actor to engage"
        raise InvalidPlanRequest(msg)
    relations = _relations(con, actors)
    ids = [a["id"] for a in actors]
    kinds = {a["id"]: a["kind"] for a in actors}
    synthetic = bool(pole.get("synthetic"))
    if _up_to_date(con, pole_id, ids, relations):
        return PoleActors(pole_id, ids, len(relations), 0, synthetic, False, kinds)
    sirene = con.execute(
        "SELECT licence, reference_date FROM source WHERE name = 'sirene' "
        "AND dataset = 'StockEtablissement' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    licence, snapshot = sirene if sirene else ("unknown", None)
    now = datetime.now(tz=UTC).replace(tzinfo=None)
    provenance = SourceRecord(
        name=SOURCE_NAME,
        dataset=pole_id,
        publisher="Territoria pole detection (territoria poles detect) on SIRENE",
        licence=f"derived from SIRENE: {licence}",
        retrieved_at=now,
        reference_date=snapshot,
        synthetic=synthetic,
        note=f"firms and knowledge actors of pole {pole_id}: {pole.get('name', '')}"
        + (" — SYNTHETIC DATA" if synthetic else ""),
    )
    # the swap deletes the previous registration's relations, and its source row last
    with swap(con, names=[SOURCE_NAME], dataset=pole_id, tables=["relation"]) as swapped:
        old = swapped.previous
        sid = record_source(con, provenance, imported_at=now)
        created = con.execute(
            "INSERT INTO actor (id, kind, name, siren, level, code, source_id) "
            "SELECT * FROM (SELECT unnest(?) AS id, unnest(?), unnest(?), unnest(?), "
            "'commune', unnest(?), ?) WHERE id NOT IN (SELECT id FROM actor) RETURNING id",
            [
                ids,
                [a["kind"] for a in actors],
                [a["name"] for a in actors],
                [a["siren"] for a in actors],
                [a["commune"] for a in actors],
                sid,
            ],
        ).fetchall()
        con.executemany(
            "INSERT INTO relation (source_actor, target_actor, type, strength, origin, "
            "source_id) VALUES (?, ?, ?, ?, ?, ?)",
            [[*r, f"pole {pole_id}", sid] for r in relations],
        )
        if old:
            # actors of the previous registration: ours again, kept for another pole or an
            # imported relation, or no longer used
            con.execute(
                "UPDATE actor SET source_id = ? WHERE source_id IN (SELECT unnest(?)) "
                "AND id IN (SELECT unnest(?))",
                [sid, old, ids],
            )
            con.execute(
                "DELETE FROM actor WHERE source_id IN (SELECT unnest(?)) AND id NOT IN "
                "(SELECT source_actor FROM relation UNION SELECT target_actor FROM relation)",
                [old],
            )
            con.execute(
                "UPDATE actor SET source_id = (SELECT min(r.source_id) FROM relation r "
                "WHERE r.source_actor = actor.id OR r.target_actor = actor.id) "
                "WHERE source_id IN (SELECT unnest(?))",
                [old],
            )
    return PoleActors(pole_id, ids, len(relations), len(created), synthetic, True, kinds)


def pole_candidates(
    con: duckdb.DuckDBPyConnection,
    pole_id: str,
    *,
    pole: Mapping[str, Any] | None = None,
    top: int = DEFAULT_TOP,
    **options: Any,
) -> PoleActors:
    """Register the actors of pole ``pole_id`` (when needed) and return them for a plan.

    Use the ids as ``candidates`` (the plan engages only the pole's actors) or ``co_signers``
    of :func:`territoria.influence.planner.plan_project`.

    Parameters
    ----------
    con
        Writable knowledge base.
    pole_id
        A pole id (``g03-35028``), as ``territoria poles detect`` lists them.
    pole
        The pole itself, when already detected (skips the detection).
    top
        How many of its largest firms and knowledge actors to take.
    **options
        Detection options passed to :func:`~territoria.analysis.poles.find_pole`.

    Raises
    ------
    UnknownPole, NoEstablishments
    """
    found = pole if pole is not None else find_pole(con, pole_id, top=top, **options)
    return register_pole_actors(con, found)
