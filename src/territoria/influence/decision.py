"""Decision map: from a project's sub-theme and territory to the weighted decision-makers.

The law ships in ``competences.toml`` (themes, sub-themes, and for each sub-theme the
competent bodies with their conditions, weight, legal basis and dates in force; see
:mod:`territoria.influence._competences`). A project on a commune weighs each competent body
fully; a larger area gets every competent body inside it, its weight shared in proportion to
the population of the communes it covers. Statut-particulier collectivities and the State's
services come from ``body_territory`` (:func:`territoria.kb.bodies.bodies_for_communes`).

Inside a body the executive carries ``executive``; the vice-presidents / adjoints whose
delegation names the sub-theme (or its theme) share ``delegated`` and the others get nothing;
without such a delegation all of them share ``deputies``. An EPCI council adds ``council``,
shared between its member communes by population (seats follow population, CGCT L5211-6-1),
inside a commune equally between its conseillers communautaires, or its mayor when the
source names none. A body with no official in the knowledge base (the Métropole de Lyon, the
Collectivité de Corse, the CTM, the CTG, the State's services) is itself the target, with a
note saying so: it is never replaced by another body.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from territoria.errors import UnknownTerritory
from territoria.influence._competences import (
    LOCAL_BODIES,
    STATE_BODIES,
    BodyRule,
    Theme,
    defaults,
    get_theme,
    themes,
)
from territoria.kb.bodies import bodies_for_communes

__all__ = ["Target", "Theme", "decision_map", "get_theme", "resolve_territory", "themes"]

#: The Métropole du Grand Paris: a métropole whose competences are its own list (L5219-1).
GRAND_PARIS = "200054781"
NO_OFFICIAL_NOTE = "aucun élu dans la source : l'institution elle-même est la cible"
STATE_NOTE = (
    "service ou agence publique : l'institution elle-même est la cible (ses responsables ne "
    "sont pas dans la base)"
)
EU_NOTE = "institution de l'Union européenne : l'institution elle-même est la cible"


@dataclass
class Target:
    """A decision-maker targeted by a project: a person, or a body with no official known.

    ``kind`` is ``'person'`` or ``'body'`` (then ``id`` is the organisation id); ``note``
    says why a body is its own target (or a condition of the rule: "seulement si …");
    ``body_id``, ``body``, ``role`` and ``basis`` are those of the largest part of the weight.
    """

    id: str
    weight: float
    name: str = ""
    role: str = ""
    body: str = ""
    reasons: list[str] = field(default_factory=list)
    kind: str = "person"
    note: str = ""
    basis: str = ""
    body_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "id": self.id,
            "weight": self.weight,
            "name": self.name,
            "role": self.role,
            "body": self.body,
            "kind": self.kind,
            "note": self.note,
            "basis": self.basis,
            "body_id": self.body_id,
        }


@dataclass(frozen=True)
class _Commune:
    code: str
    population: float
    epci: str
    epci_kind: str
    epci_population: float
    departement: str
    region: str
    circonscription: str


def resolve_territory(
    con: duckdb.DuckDBPyConnection, code: str, level: str | None = None
) -> tuple[str, str, str]:
    """Return ``(level, code, name)`` of a territory, ambiguous codes resolved by level rank."""
    row = con.execute(
        "SELECT t.level, t.code, t.name FROM territory t JOIN level l USING (level) "
        "WHERE t.code = ? AND (? IS NULL OR t.level = ?) ORDER BY l.rank LIMIT 1",
        [code, level, level],
    ).fetchone()
    if row is None:
        where = f" at level {level!r}" if level else ""
        msg = f"unknown territory code {code!r}{where}: run 'territoria search' to find the code"
        raise UnknownTerritory(msg)
    return str(row[0]), str(row[1]), str(row[2])


_AREA_SQL = """
WITH area(code) AS (
    SELECT ?::VARCHAR WHERE ?::VARCHAR = 'commune'
    UNION SELECT code FROM membership WHERE level = 'commune' AND parent_level = ?
      AND parent_code = ?
    UNION SELECT parent_code FROM membership WHERE level = ? AND code = ?
      AND parent_level = 'commune'
)
SELECT c.code, coalesce(any_value(c.population), 0),
       any_value(m.parent_code) FILTER (WHERE m.parent_level = 'epci'),
       any_value(e.kind), coalesce(any_value(e.population), 0),
       any_value(m.parent_code) FILTER (WHERE m.parent_level = 'departement'),
       any_value(m.parent_code) FILTER (WHERE m.parent_level = 'region'),
       any_value(m.parent_code) FILTER (WHERE m.parent_level = 'circonscription')
FROM area a JOIN territory c ON c.level = 'commune' AND c.code = a.code
LEFT JOIN membership m ON m.level = 'commune' AND m.code = a.code
     AND m.parent_level IN ('epci', 'departement', 'region', 'circonscription')
LEFT JOIN territory e ON e.level = 'epci' AND m.parent_level = 'epci' AND e.code = m.parent_code
GROUP BY c.code ORDER BY c.code
"""


def _area(con: duckdb.DuckDBPyConnection, level: str, code: str) -> list[_Commune]:
    """The communes a project covers, with what the rules' conditions look at."""
    rows = con.execute(_AREA_SQL, [code, level, level, code, level, code]).fetchall()
    out = []
    for c, pop, epci, kind, epop, dep, reg, circo in rows:
        if epci is None:
            kind = "NONE"
        elif str(epci) == GRAND_PARIS:
            kind = "MGP"
        out.append(
            _Commune(
                str(c), float(pop), str(epci or ""), str(kind or "NONE"), float(epop),
                str(dep or ""), str(reg or ""), str(circo or ""),
            )
        )  # fmt: skip
    return out


def _applies(rule: BodyRule, c: _Commune) -> bool:
    """Whether ``rule``'s conditions hold for commune ``c``."""
    if rule.epci_kinds and c.epci_kind not in rule.epci_kinds:
        return False
    if rule.regions and c.region not in rule.regions:
        return False
    if c.region in rule.not_regions:
        return False
    if rule.departements and c.departement not in rule.departements:
        return False
    if c.departement in rule.not_departements:
        return False
    if rule.min_population is not None:
        own = c.epci_population if rule.body == "epci" else c.population
        if own < rule.min_population:
            return False
    return True


@dataclass
class _Share:
    """Weight gathered by one body (or one parliamentarian) for one sub-theme."""

    weight: float = 0.0
    by_rule: dict[BodyRule, float] = field(default_factory=dict)

    def add(self, rule: BodyRule, weight: float) -> None:
        self.weight += weight
        self.by_rule[rule] = self.by_rule.get(rule, 0.0) + weight

    @property
    def rule(self) -> BodyRule:
        """The rule that brought the largest part of the weight."""
        return max(self.by_rule.items(), key=lambda kv: kv[1])[0]


def decision_map(
    con: duckdb.DuckDBPyConnection,
    *,
    theme: str,
    code: str,
    level: str | None = None,
    as_of: date | None = None,
) -> list[Target]:
    """Weighted decision-makers for a project of ``theme`` on territory ``code``.

    Parameters
    ----------
    theme
        A sub-theme id (``colleges``) or a theme id (``secondary-schools``: its sub-themes
        combined, each entering once with its own weights).
    code, level
        The project's territory (a commune, an EPCI, a département, a région …).
    as_of
        The date whose law applies (default: today; see ``competences.toml``).

    Returns
    -------
    list of Target
        Persons and bodies, heaviest first.

    Raises
    ------
    UnknownTheme, UnknownTerritory
        An unknown theme or territory, or no competent body at all there.
    """
    spec = get_theme(theme)
    on = as_of or date.today()
    t_level, t_code, _ = resolve_territory(con, code, level)
    area = _area(con, t_level, t_code)
    leaves = [(leaf, [r for r in leaf.rules if r.in_force(on)]) for leaf in spec.leaves()]
    keys = {
        r.body for _, rules in leaves for r in rules if r.body in (*LOCAL_BODIES, *STATE_BODIES)
    }
    bodies = bodies_for_communes(con, keys, [c.code for c in area]) if keys else {}
    total = sum(c.population for c in area)
    shares: dict[tuple[str, str], _Share] = defaultdict(_Share)  # (leaf id, body or person)
    parl = _parliamentarians(con, area, {r.body for _, rules in leaves for r in rules})
    for leaf, rules in leaves:
        for rule in rules:
            for c in area:
                if not _applies(rule, c):
                    continue
                part = rule.weight * (c.population / total if total else 1.0 / len(area))
                for member in _members(rule.body, c, bodies, parl):
                    shares[(leaf.id, member[0])].add(rule, part / member[1])
    targets = _targets(con, leaves, shares, parl)
    if not targets:
        msg = (
            f"no decision-maker found for theme {theme!r} on {t_level} {t_code!r}: no body is "
            "competent there in the decision map (territoria influence themes); give --target"
        )
        raise UnknownTerritory(msg)
    return sorted(targets.values(), key=lambda t: (-t.weight, t.id))


def _members(
    key: str,
    c: _Commune,
    bodies: dict[tuple[str, str], list[str]],
    parl: dict[str, Any],
) -> list[tuple[str, int]]:
    """``(id, n)`` pairs receiving ``1/n`` of a commune's part of a rule's weight."""
    if key in ("deputies", "senators"):
        seat = c.circonscription if key == "deputies" else c.departement
        people = parl[key].get(seat, [])
        return [(f"person:{p[0]}", len(people)) for p in people]
    if key == "meps":
        return [(f"person:{p[0]}", len(parl["meps"])) for p in parl["meps"]]
    found = bodies.get((c.code, key), [])
    return [(f"body:{b}", len(found)) for b in found]


def _parliamentarians(
    con: duckdb.DuckDBPyConnection, area: Sequence[_Commune], keys: Iterable[str]
) -> dict[str, Any]:
    """Serving deputies by circonscription, senators by département, and the MEPs."""
    out: dict[str, Any] = {"deputies": {}, "senators": {}, "meps": [], "info": {}}
    wanted = set(keys)
    roles = {"deputies": "député", "senators": "sénateur", "meps": "député européen"}
    seats = {
        "deputies": sorted({c.circonscription for c in area}),
        "senators": sorted({c.departement for c in area}),
        "meps": [],
    }
    for key, role in roles.items():
        if key not in wanted:
            continue
        rows = con.execute(
            """
            SELECT m.code, m.person_id, p.first_name || ' ' || p.last_name,
                   coalesce(m.role_label, m.role), o.name, m.organisation_id
            FROM mandate m JOIN person p ON p.id = m.person_id
            LEFT JOIN organisation o ON o.id = m.organisation_id
            WHERE m.role = ? AND m.end_date IS NULL
              AND (? OR m.code IN (SELECT unnest(?::VARCHAR[])))
            ORDER BY m.person_id
            """,
            [role, key == "meps", seats[key]],
        ).fetchall()
        for seat, pid, name, label, body, org in rows:
            out["info"][str(pid)] = (str(name), str(label), str(body or ""), str(org or ""))
            if key == "meps":
                out["meps"].append((str(pid),))
            else:
                out[key].setdefault(str(seat), []).append((str(pid),))
    return out


class _Collector:
    """Targets under construction: weights, reasons, and what brought the most weight."""

    def __init__(self) -> None:
        self.targets: dict[str, Target] = {}
        self.rules: dict[str, dict[BodyRule, float]] = defaultdict(dict)
        self.bodies: dict[str, dict[tuple[str, str, str], float]] = defaultdict(dict)

    def add(
        self,
        pid: str,
        weight: float,
        who: tuple[str, str, str],
        rule: BodyRule,
        leaf: Theme,
        *,
        body_id: str,
        kind: str = "person",
        note: str = "",
    ) -> None:
        if weight <= 0:
            return
        name, role, body = who
        reason = f"{role} — {body} : {leaf.label_fr}" if role else f"{body} : {leaf.label_fr}"
        t = self.targets.get(pid)
        if t is None:
            t = self.targets[pid] = Target(pid, 0.0, name, kind=kind, note=note)
        t.weight += weight
        t.reasons.append(reason)
        rules, bodies = self.rules[pid], self.bodies[pid]
        rules[rule] = rules.get(rule, 0.0) + weight
        bodies[(body_id, role, body)] = bodies.get((body_id, role, body), 0.0) + weight

    def done(self) -> dict[str, Target]:
        """The targets, each with the body, role, basis (and note) bringing most weight."""
        for pid, t in self.targets.items():
            rule = max(self.rules[pid].items(), key=lambda kv: kv[1])[0]
            t.basis = rule.legal_basis
            if t.kind == "person":
                t.note = rule.note
            t.body_id, t.role, t.body = max(self.bodies[pid].items(), key=lambda kv: kv[1])[0]
        return self.targets


def _targets(
    con: duckdb.DuckDBPyConnection,
    leaves: Sequence[tuple[Theme, Sequence[BodyRule]]],
    shares: dict[tuple[str, str], _Share],
    parl: dict[str, Any],
) -> dict[str, Target]:
    """Turn each body's share into its officials' (or its own) weights."""
    share_of = defaults()
    orgs = sorted({k.removeprefix("body:") for _, k in shares if k.startswith("body:")})
    inside = _insiders(con, orgs)
    out = _Collector()
    for leaf, _ in leaves:
        for (leaf_id, key), share in sorted(shares.items()):
            if leaf_id != leaf.id:
                continue
            if key.startswith("person:"):
                pid = key.removeprefix("person:")
                *who, org = parl["info"][pid]
                out.add(pid, share.weight, tuple(who), share.rule, leaf, body_id=org)
                continue
            org = key.removeprefix("body:")
            body = inside.get(org) or _Body(org, org, "", "")
            parts = body.split(leaf, share_of)
            if not parts:
                note = body.note_for_target()
                who = (body.name, "", body.name)
                out.add(org, share.weight, who, share.rule, leaf, body_id=org, kind="body",
                        note=note)  # fmt: skip
                continue
            whole = sum(w for _, w, _ in parts)
            for pid, w, who in parts:
                out.add(pid, share.weight * w / whole, who, share.rule, leaf, body_id=org)
    return out.done()


@dataclass
class _Body:
    """The officials of one body who can carry its weight."""

    id: str
    name: str
    kind: str
    officials_note: str
    executives: list[tuple[str, tuple[str, str, str]]] = field(default_factory=list)
    deputies: list[tuple[str, tuple[str, str, str]]] = field(default_factory=list)
    delegations: dict[str, set[str]] = field(default_factory=dict)  # person -> theme ids
    delegates: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # person -> who
    council: list[tuple[str, float, tuple[str, str, str]]] = field(default_factory=list)

    def note_for_target(self) -> str:
        if self.id.startswith("ue-"):
            return EU_NOTE
        if self.kind in STATE_BODIES or self.id.startswith("etat-"):
            return STATE_NOTE
        return NO_OFFICIAL_NOTE

    def split(
        self, leaf: Theme, share: dict[str, float]
    ) -> list[tuple[str, float, tuple[str, str, str]]]:
        """``(person, relative weight, (name, role, body))`` of the body's officials."""
        out: list[tuple[str, float, tuple[str, str, str]]] = []
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
SELECT o.id, m.person_id, p.first_name || ' ' || p.last_name, m.function_code,
       coalesce(m.function_label, m.function, m.role_label, m.role)
FROM organisation o JOIN mandate m ON m.organisation_id = o.id AND m.end_date IS NULL
JOIN person p ON p.id = m.person_id
WHERE o.id IN (SELECT unnest(?::VARCHAR[])) AND m.function_code IN ('MAI', 'PRE', 'ADJ', 'VPE')
ORDER BY o.id, m.person_id
"""

# The council of an EPCI: each member commune's conseillers communautaires (a current mandate
# in the cc- body and a municipal one in the commune), with the commune's population.
_COUNCIL_SQL = """
WITH orgs AS (
    SELECT id, code FROM organisation WHERE id IN (SELECT unnest(?::VARCHAR[]))
      AND kind = 'conseil_communautaire'
),
members AS (
    SELECT o.id AS org, m.code AS commune, coalesce(t.population, 0) AS population
    FROM orgs o JOIN membership m ON m.level = 'commune' AND m.parent_level = 'epci'
         AND m.parent_code = o.code
    JOIN territory t ON t.level = 'commune' AND t.code = m.code
),
seats AS (
    SELECT cc.organisation_id AS org, mu.code AS commune, cc.person_id,
           coalesce(cc.role_label, cc.role) AS role
    FROM mandate cc JOIN mandate mu ON mu.person_id = cc.person_id AND mu.level = 'commune'
         AND mu.end_date IS NULL
    WHERE cc.organisation_id IN (SELECT id FROM orgs) AND cc.end_date IS NULL
),
mayors AS (
    SELECT mb.org, mb.commune, mu.person_id, coalesce(mu.function_label, 'maire') AS role
    FROM members mb JOIN mandate mu ON mu.organisation_id = 'cm-' || mb.commune
         AND mu.function_code = 'MAI' AND mu.end_date IS NULL
    WHERE NOT EXISTS (SELECT 1 FROM seats s WHERE s.org = mb.org AND s.commune = mb.commune)
),
chosen AS (
    SELECT org, commune, person_id, role FROM seats
    UNION ALL SELECT org, commune, person_id, role FROM mayors
)
SELECT c.org, c.person_id, p.first_name || ' ' || p.last_name, c.role, mb.population,
       count(*) OVER (PARTITION BY c.org, c.commune) AS n, t.name
FROM chosen c JOIN members mb ON mb.org = c.org AND mb.commune = c.commune
JOIN person p ON p.id = c.person_id
JOIN territory t ON t.level = 'commune' AND t.code = c.commune
ORDER BY c.org, c.commune, c.person_id
"""


def _insiders(con: duckdb.DuckDBPyConnection, orgs: list[str]) -> dict[str, _Body]:
    """The executives, deputies, delegations and council of each body."""
    if not orgs:
        return {}
    out: dict[str, _Body] = {}
    for oid, name, kind, note in con.execute(
        "SELECT id, name, kind, officials_note FROM organisation "
        "WHERE id IN (SELECT unnest(?::VARCHAR[]))",
        [orgs],
    ).fetchall():
        out[str(oid)] = _Body(str(oid), str(name), str(kind or ""), str(note or ""))
    for oid, pid, pname, fcode, label in con.execute(_OFFICIALS_SQL, [orgs]).fetchall():
        body = out[str(oid)]
        exec_code = "MAI" if body.id.startswith("cm-") else "PRE"
        who = (str(pname), str(label), body.name)
        if fcode == exec_code:
            body.executives.append((str(pid), who))
        elif fcode in ("ADJ", "VPE"):
            body.deputies.append((str(pid), who))
    for oid, pid, pname, text, themes_ in _delegations(con, orgs):
        body = out[oid]
        body.delegations.setdefault(pid, set()).update(themes_)
        body.delegates[pid] = (pname, f"délégation : {text}", body.name)
    for oid, pid, pname, role, pop, n, commune in con.execute(_COUNCIL_SQL, [orgs]).fetchall():
        body = out[str(oid)]
        who = (str(pname), f"{role} ({commune})", body.name)
        body.council.append((str(pid), float(pop) / int(n), who))
    return out


def _delegations(
    con: duckdb.DuckDBPyConnection, orgs: list[str]
) -> list[tuple[str, str, str, str, list[str]]]:
    """``(body, person, name, text, themes)`` of the delegations imported for these bodies."""
    try:
        rows = con.execute(
            "SELECT d.organisation_id, d.person_id, p.first_name || ' ' || p.last_name, "
            "d.text, d.themes FROM delegation d JOIN person p ON p.id = d.person_id "
            "WHERE d.organisation_id IN (SELECT unnest(?::VARCHAR[])) "
            "ORDER BY d.organisation_id, d.person_id, d.line",
            [orgs],
        ).fetchall()
    except duckdb.CatalogException:  # a read-only knowledge base older than migration 0012
        return []
    return [(str(o), str(p), str(n), str(t), [str(x) for x in th]) for o, p, n, t, th in rows]
