"""Inside a body of the decision map: its executive, deputies, delegations and council.

Internals of :mod:`territoria.influence.decision`. :func:`insiders` reads them for many bodies
at once (a région's communes): each query filters the mandates first and the persons' names
come last, for the few persons found (joining the whole person table costs more than all the
rest).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import duckdb

from territoria.influence._competences import STATE_BODIES, Theme

__all__ = ["EU_NOTE", "NO_OFFICIAL_NOTE", "STATE_NOTE", "Body", "insiders"]

NO_OFFICIAL_NOTE = "aucun élu dans la source : l'institution elle-même est la cible"
STATE_NOTE = (
    "service ou agence publique : l'institution elle-même est la cible (ses responsables ne "
    "sont pas dans la base)"
)
EU_NOTE = "institution de l'Union européenne : l'institution elle-même est la cible"
Who = tuple[str, str, str]  # (name, role, body name)


@dataclass
class Body:
    """The officials of one body who can carry its weight, and how they share it."""

    id: str
    name: str
    kind: str
    officials_note: str
    executives: list[tuple[str, Who]] = field(default_factory=list)
    deputies: list[tuple[str, Who]] = field(default_factory=list)
    delegations: dict[str, set[str]] = field(default_factory=dict)  # person -> theme ids
    delegates: dict[str, Who] = field(default_factory=dict)  # person -> who
    council: list[tuple[str, float, Who]] = field(default_factory=list)

    def note_for_target(self) -> str:
        """Why the body itself is the target (it has no official in the knowledge base)."""
        if self.id.startswith("ue-"):
            return EU_NOTE
        if self.kind in STATE_BODIES or self.id.startswith("etat-"):
            return STATE_NOTE
        return NO_OFFICIAL_NOTE

    def split(self, leaf: Theme, share: dict[str, float]) -> list[tuple[str, float, Who]]:
        """``(person, relative weight, (name, role, body))`` of the body's officials."""
        out: list[tuple[str, float, Who]] = []
        ids = {leaf.id, leaf.parent}
        out += [(pid, share.get("executive", 1.0) / len(self.executives), who)
                for pid, who in self.executives]  # fmt: skip
        delegated = [pid for pid, themes_ in self.delegations.items() if themes_ & ids]
        if delegated:
            w = share.get("delegated", 1.0) / len(delegated)
            out += [(pid, w, self.delegates[pid]) for pid in delegated]
        elif self.deputies:
            w = share.get("deputies", 0.5) / len(self.deputies)
            out += [(pid, w, who) for pid, who in self.deputies]
        if self.council:
            total = sum(p for _, p, _ in self.council) or 1.0
            w = share.get("council", 0.5)
            out += [(pid, w * p / total, who) for pid, p, who in self.council]
        return out


_OFFICIALS_SQL = """
SELECT organisation_id, person_id, function_code,
       coalesce(function_label, function, role_label, role)
FROM mandate WHERE organisation_id IN (SELECT unnest(?::VARCHAR[])) AND end_date IS NULL
  AND function_code IN ('MAI', 'PRE', 'ADJ', 'VPE')
ORDER BY organisation_id, person_id
"""
_MEMBERS_SQL = """
SELECT m.parent_code, m.code, coalesce(t.population, 0), t.name
FROM membership m JOIN territory t ON t.level = 'commune' AND t.code = m.code
WHERE m.level = 'commune' AND m.parent_level = 'epci'
  AND m.parent_code IN (SELECT unnest(?::VARCHAR[]))
"""
# a conseiller communautaire's commune: the one of their municipal mandate
_SEATS_SQL = """
WITH cc AS (
    SELECT organisation_id, person_id, coalesce(role_label, role) AS role FROM mandate
    WHERE organisation_id IN (SELECT unnest(?::VARCHAR[])) AND end_date IS NULL
)
SELECT DISTINCT cc.organisation_id, mu.code, cc.person_id, cc.role
FROM cc JOIN mandate mu ON mu.person_id = cc.person_id AND mu.level = 'commune'
     AND mu.end_date IS NULL
"""
_MAYORS_SQL = """
SELECT organisation_id, person_id, coalesce(function_label, 'maire') FROM mandate
WHERE organisation_id IN (SELECT unnest(?::VARCHAR[])) AND function_code = 'MAI'
  AND end_date IS NULL
"""


def insiders(con: duckdb.DuckDBPyConnection, orgs: list[str]) -> dict[str, Body]:
    """The executives, deputies, delegations and council of each body of ``orgs``."""
    if not orgs:
        return {}
    out: dict[str, Body] = {}
    for oid, name, kind, note in con.execute(
        "SELECT id, name, kind, officials_note FROM organisation "
        "WHERE id IN (SELECT unnest(?::VARCHAR[]))",
        [orgs],
    ).fetchall():
        out[str(oid)] = Body(str(oid), str(name), str(kind or ""), str(note or ""))
    officials = con.execute(_OFFICIALS_SQL, [orgs]).fetchall()
    delegated = _delegations(con, orgs)
    council = _council(con, out)
    names = _names(
        con, [r[1] for r in officials] + [r[1] for r in delegated] + [r[2] for r in council]
    )
    labels = {(str(oid), str(pid)): str(label) for oid, pid, _, label in officials}
    for oid, pid, fcode, label in officials:
        body = out[str(oid)]
        exec_code = "MAI" if body.id.startswith("cm-") else "PRE"
        who = (names.get(str(pid), ""), str(label), body.name)
        if fcode == exec_code:
            body.executives.append((str(pid), who))
        elif fcode in ("ADJ", "VPE"):
            body.deputies.append((str(pid), who))
    for oid, pid, text, themes_ in delegated:
        body = out[oid]
        body.delegations.setdefault(pid, set()).update(themes_)
        title = labels.get((oid, pid))
        role = f"{title}, délégation : {text}" if title else f"délégation : {text}"
        body.delegates[pid] = (names.get(pid, ""), role, body.name)
    for oid, seat, pid, role, commune in council:
        body = out[oid]
        body.council.append((pid, seat, (names.get(pid, ""), f"{role} ({commune})", body.name)))
    return out


def _council(
    con: duckdb.DuckDBPyConnection, bodies: dict[str, Body]
) -> list[tuple[str, float, str, str, str]]:
    """``(body, seat weight, person, role, commune name)`` of each EPCI council's members.

    A commune's share is its population; its conseillers communautaires split it equally, or
    its mayor takes it when the source names none.
    """
    epcis = {
        b.id.removeprefix("cc-"): b.id for b in bodies.values() if b.kind == "conseil_communautaire"
    }
    if not epcis:
        return []
    members = con.execute(_MEMBERS_SQL, [list(epcis)]).fetchall()
    seats: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for oid, commune, pid, role in con.execute(_SEATS_SQL, [list(epcis.values())]).fetchall():
        seats[(str(oid), str(commune))].append((str(pid), str(role)))
    missing: dict[str, list[str]] = defaultdict(list)  # commune -> its EPCI bodies
    for e, c, _, _ in members:
        if (epcis[str(e)], str(c)) not in seats:
            missing[str(c)].append(epcis[str(e)])
    if missing:
        mayors = con.execute(_MAYORS_SQL, [[f"cm-{c}" for c in missing]]).fetchall()
        for cm, pid, role in mayors:
            commune = str(cm).removeprefix("cm-")
            for oid in missing[commune]:
                seats[(oid, commune)].append((str(pid), str(role)))
    out = []
    for e, c, pop, name in members:
        oid = epcis[str(e)]
        found = sorted(seats.get((oid, str(c)), []))
        out += [(oid, float(pop) / len(found), pid, role, str(name)) for pid, role in found]
    return out


def _names(con: duckdb.DuckDBPyConnection, ids: list[Any]) -> dict[str, str]:
    """Display names of the persons ``ids``."""
    rows = con.execute(
        "SELECT id, first_name || ' ' || last_name FROM person "
        "WHERE id IN (SELECT unnest(?::VARCHAR[]))",
        [sorted({str(i) for i in ids})],
    ).fetchall()
    return {str(i): str(n) for i, n in rows}


def _delegations(
    con: duckdb.DuckDBPyConnection, orgs: list[str]
) -> list[tuple[str, str, str, list[str]]]:
    """``(body, person, text, themes)`` of the delegations imported for these bodies."""
    try:
        rows = con.execute(
            "SELECT organisation_id, person_id, text, themes FROM delegation "
            "WHERE organisation_id IN (SELECT unnest(?::VARCHAR[])) "
            "ORDER BY organisation_id, person_id, line",
            [orgs],
        ).fetchall()
    except duckdb.CatalogException:  # a read-only knowledge base older than migration 0012
        return []
    return [(str(o), str(p), str(t), [str(x) for x in th]) for o, p, t, th in rows]
