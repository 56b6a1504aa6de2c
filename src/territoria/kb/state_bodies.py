"""The State's services of a territory: préfecture, rectorat, ARS, agence de l'eau, DREAL …

The France import loads them (see :mod:`territoria.sources._state_bodies`); each is an
organisation whose scope is in ``body_territory`` (competence = the service key), whose seat is
in ``contact`` and whose offices are in ``body_office``.

>>> [b.id for b in state_bodies(con, "commune", "35238").bodies][:2]   # Rennes
['etat-pref-35', 'etat-prefreg-53']
"""

from __future__ import annotations

from typing import Any, Final

import duckdb
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BASIS_SECONDARY",
    "PROFILE_SERVICES",
    "SERVICES",
    "StateBody",
    "StateBodyList",
    "StateOffice",
    "state_bodies",
]

#: How ``body_territory.basis`` marks a water basin covering only part of a département.
BASIS_SECONDARY: Final = "partie du département seulement"
#: Service keys, in the order a territory lists them, with their French label.
SERVICES: Final = {
    "prefecture": "préfecture",
    "prefecture_police": "préfecture de police",
    "prefecture_region": "préfecture de région",
    "rectorat": "rectorat",
    "ars": "agence régionale de santé",
    "agence_eau": "agence ou office de l'eau",
    "dreal": "environnement, aménagement, logement (DREAL, DEAL)",
    "ademe": "ADEME, direction régionale",
    "bpifrance": "Bpifrance, direction régionale",
    "idfm": "autorité organisatrice des mobilités",
    "anct": "cohésion des territoires",
    "sncf_reseau": "réseau ferré national",
    "commission_europeenne": "Union européenne",
    "ademe_national": "ADEME, siège",
    "bpifrance_national": "Bpifrance, siège",
}
#: The services a territory's profile shows.
PROFILE_SERVICES: Final = (
    "prefecture",
    "prefecture_police",
    "prefecture_region",
    "rectorat",
    "ars",
    "agence_eau",
    "dreal",
    "idfm",
)

_PARENTS = (
    "SELECT parent_level, parent_code FROM membership WHERE level = ? AND code = ? "
    "AND parent_level IN ('commune', 'departement', 'region')"
)

# The bodies whose scope holds one of the places, with their seat and source.
_BODIES = """
WITH place AS (SELECT unnest($levels) AS level, unnest($codes) AS code),
bt AS MATERIALIZED (
    SELECT b.organisation_id, b.competence, min(b.basis) AS basis
    FROM body_territory b JOIN place p ON p.level = b.level AND p.code = b.code
    WHERE list_contains($services, b.competence) GROUP BY 1, 2
)
SELECT o.id, o.kind, o.name, bt.basis, c.code, t.name, c.address,
       s.name || coalesce(' ' || s.version, ''), o.source_id
FROM bt JOIN organisation o ON o.id = bt.organisation_id AND o.kind = bt.competence
LEFT JOIN contact c ON c.organisation_id = o.id
LEFT JOIN territory t ON t.level = 'commune' AND t.code = c.code
LEFT JOIN source s ON s.id = o.source_id
"""


def _places(con: duckdb.DuckDBPyConnection, level: str, code: str) -> list[tuple[str, str]]:
    """The territory, its départements and régions (a sub-communal territory's through its
    commune; a région's own départements)."""
    places = {(level, code)}
    for parent_level, parent_code in con.execute(_PARENTS, [level, code]).fetchall():
        places.add((str(parent_level), str(parent_code)))
        if parent_level == "commune":
            rows = con.execute(_PARENTS, ["commune", parent_code]).fetchall()
            places.update((str(a), str(b)) for a, b in rows)
    if level == "region":
        rows = con.execute(
            "SELECT code FROM membership WHERE level = 'departement' AND parent_level = 'region' "
            "AND parent_code = ?",
            [code],
        ).fetchall()
        places.update(("departement", str(r[0])) for r in rows)
    return sorted(places)


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-able data."""
        return self.model_dump(mode="json")


class StateOffice(_Result):
    """An office to meet in a body (the office, not its holder)."""

    office: str = Field(description="e.g. 'Secrétaire général(e) pour les affaires régionales'.")
    description: str | None = None


class StateBody(_Result):
    """One of the State's services (or an agency) competent for the territory."""

    id: str = Field(description="Organisation id, e.g. 'etat-pref-35'.")
    kind: str = Field(description="Service key: prefecture, rectorat, ars, agence_eau ...")
    service: str = Field(description="What the service is, in French.")
    name: str = Field(description="The name the service writes itself.")
    seat_code: str | None = Field(default=None, description="INSEE code of the seat commune.")
    seat_name: str | None = None
    address: str | None = Field(
        default=None, description="Street address where documented; otherwise none."
    )
    scope_note: str | None = Field(
        default=None,
        description="Legal basis of its scope, and whether it covers only part of a département.",
    )
    offices: list[StateOffice] = Field(default_factory=list)
    source_id: int | None = Field(default=None, description="The list it comes from.")


class StateBodyList(_Result):
    """The State's services of a territory, préfecture first."""

    level: str
    code: str
    bodies: list[StateBody]
    source: str | None = Field(default=None, description="Name and version of the lists.")


def state_bodies(
    con: duckdb.DuckDBPyConnection,
    level: str,
    code: str,
    *,
    services: tuple[str, ...] | None = None,
) -> StateBodyList:
    """Return the State's services competent for a territory.

    Parameters
    ----------
    con
        Open knowledge base.
    level, code
        The territory (resolved): a commune or a sub-communal territory, an EPCI, canton or
        circonscription (the services of its départements), a département (and its région's),
        a région (and its départements').
    services
        Service keys to keep (default: all of :data:`SERVICES`).
    """
    wanted = list(services or SERVICES)
    places = _places(con, level, code)
    rows = con.execute(
        _BODIES,
        {
            "levels": [p[0] for p in places],
            "codes": [p[1] for p in places],
            "services": wanted,
        },
    ).fetchall()
    order = {key: i for i, key in enumerate(SERVICES)}
    # a département's main water basin before those covering only part of it
    rows.sort(
        key=lambda r: (order.get(str(r[1]), 99), BASIS_SECONDARY in str(r[3] or ""), str(r[0]))
    )
    offices: dict[str, list[StateOffice]] = {}
    if rows:
        for body, office, description in con.execute(
            "SELECT organisation_id, office, description FROM body_office "
            "WHERE list_contains(?, organisation_id) ORDER BY organisation_id, rank",
            [[str(r[0]) for r in rows]],
        ).fetchall():
            offices.setdefault(str(body), []).append(
                StateOffice(office=office, description=description)
            )
    bodies = [
        StateBody(
            id=r[0],
            kind=r[1],
            service=SERVICES.get(str(r[1]), str(r[1])),
            name=r[2],
            scope_note=r[3],
            seat_code=r[4],
            seat_name=r[5],
            address=r[6],
            offices=offices.get(str(r[0]), []),
            source_id=r[8],
        )
        for r in rows
    ]
    return StateBodyList(level=level, code=code, bodies=bodies, source=rows[0][7] if rows else None)
