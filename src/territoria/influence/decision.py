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

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import duckdb

from territoria.errors import InvalidPlanRequest, UnknownTerritory
from territoria.influence._competences import (
    LOCAL_BODIES,
    STATE_BODIES,
    BodyRule,
    Theme,
    defaults,
    get_theme,
    themes,
)
from territoria.influence._decision_bodies import Body, insiders
from territoria.kb.bodies import bodies_for_communes

__all__ = ["Target", "Theme", "decision_map", "get_theme", "resolve_territory", "themes"]

#: The Métropole du Grand Paris: a métropole whose competences are its own list (L5219-1).
GRAND_PARIS = "200054781"


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


#: Decision maps already computed in this process, keyed by the knowledge base's file and
#: generation (any write bumps it: a delegations import, a new France import) and the request.
_MEMO: OrderedDict[tuple[Any, ...], list[Target]] = OrderedDict()
_MEMO_SIZE = 64
_MEMO_LOCK = threading.Lock()


def decision_map(
    con: duckdb.DuckDBPyConnection,
    *,
    theme: str,
    code: str,
    level: str | None = None,
    as_of: date | None = None,
) -> list[Target]:
    """Weighted decision-makers for a project of ``theme`` on territory ``code``.

    A serving process plans the same projects again and again: the answer is kept in memory
    for the knowledge base's current generation (a regional map takes 0.3–1 s to compute), and
    every caller gets its own copy.

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
    on = as_of or date.today()
    identity = _kb_identity(con)
    if identity is None:  # an in-memory knowledge base has no stable identity
        return _decision_map(con, theme=theme, code=code, level=level, on=on)
    key = (identity, theme, code, level, on)
    with _MEMO_LOCK:
        kept = _MEMO.get(key)
        if kept is not None:
            _MEMO.move_to_end(key)
            return _copies(kept)
    found = _decision_map(con, theme=theme, code=code, level=level, on=on)
    with _MEMO_LOCK:
        _MEMO[key] = _copies(found)
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return found


def _copies(targets: list[Target]) -> list[Target]:
    """Copies of ``targets`` a caller may change (their reasons list included)."""
    return [replace(t, reasons=list(t.reasons)) for t in targets]


def _kb_identity(con: duckdb.DuckDBPyConnection) -> tuple[str, int] | None:
    """The knowledge base's file and write generation (None for an in-memory KB)."""
    row = con.execute(
        "SELECT (SELECT file FROM pragma_database_list WHERE name = current_database()), "
        "(SELECT generation FROM kb_state)"
    ).fetchone()
    if row is None or not row[0]:
        return None
    return (str(row[0]), int(row[1] or 0))


def _decision_map(
    con: duckdb.DuckDBPyConnection,
    *,
    theme: str,
    code: str,
    level: str | None,
    on: date,
) -> list[Target]:
    """:func:`decision_map` without the memo."""
    spec = get_theme(theme)
    t_level, t_code, _ = resolve_territory(con, code, level)
    area = _area(con, t_level, t_code)
    alone = spec.is_subtheme
    eligible = [
        leaf for leaf in spec.leaves() if _eligible(con, leaf, t_level, t_code, alone=alone)
    ]
    leaves = [(leaf, [r for r in leaf.rules if r.in_force(on)]) for leaf in eligible]
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
    _special_bases(con, list(targets.values()))
    return sorted(targets.values(), key=lambda t: (-t.weight, t.id))


def _eligible(
    con: duckdb.DuckDBPyConnection, leaf: Theme, level: str, code: str, *, alone: bool
) -> bool:
    """Whether the territory may benefit from the sub-theme (its ``eligibility`` rule).

    Raises
    ------
    InvalidPlanRequest
        When the project is about this sub-theme ``alone`` and the territory is not eligible
        (a theme drops the sub-theme instead and keeps the others).
    """
    rule = leaf.eligibility
    if not rule or level not in rule.get("levels", ()):
        return True
    row = con.execute(
        "SELECT name, population, population_year FROM territory WHERE level = ? AND code = ?",
        [level, code],
    ).fetchone()
    if row is None or row[1] is None or int(row[1]) <= int(rule["max_population"]):
        return True
    if not alone:
        return False
    people = f"{int(row[1]):,}".replace(",", "\u202f")
    msg = (
        f"{row[0]} ({people} habitants en {row[2]}) n'est pas éligible à la {leaf.label_fr} : "
        f"{rule['basis']} ; voyez plutôt {rule['instead']}"
    )
    raise InvalidPlanRequest(msg)


def _special_bases(con: duckdb.DuckDBPyConnection, targets: list[Target]) -> None:
    """Add to the basis of a target whose body is a collectivité à statut particulier the law
    that makes that body hold the competence (the Métropole de Lyon holds the département's
    by CGCT L3611-1): the ordinary article alone would name another council."""
    ids = sorted({t.body_id for t in targets if t.body_id})
    if not ids:
        return
    rows = con.execute(
        "SELECT o.id, o.name, string_agg(DISTINCT b.basis, ' ; ') FROM organisation o "
        "JOIN body_territory b ON b.organisation_id = o.id "
        "WHERE o.id IN (SELECT unnest(?::VARCHAR[])) AND o.status = 'statut_particulier' "
        "AND b.basis IS NOT NULL GROUP BY o.id, o.name",
        [ids],
    ).fetchall()
    special = {str(r[0]): f"compétence exercée ici par {r[1]} : {r[2]}" for r in rows}
    for t in targets:
        extra = special.get(t.body_id)
        if extra and extra not in t.basis:
            t.basis = f"{t.basis} ; {extra}" if t.basis else extra


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
    wanted = set(keys) & {"deputies", "senators", "meps"}
    if not wanted:
        return out
    circos = sorted({c.circonscription for c in area}) if "deputies" in wanted else []
    deps = sorted({c.departement for c in area}) if "senators" in wanted else []
    rows = con.execute(
        """
        SELECT m.role, m.code, m.person_id, p.first_name || ' ' || p.last_name,
               coalesce(m.role_label, m.role), o.name, m.organisation_id
        FROM mandate m JOIN person p ON p.id = m.person_id
        LEFT JOIN organisation o ON o.id = m.organisation_id
        WHERE m.end_date IS NULL AND (
            (m.role = 'député' AND m.code IN (SELECT unnest(?::VARCHAR[])))
            OR (m.role = 'sénateur' AND m.code IN (SELECT unnest(?::VARCHAR[])))
            OR (m.role = 'député européen' AND ?))
        ORDER BY m.person_id
        """,
        [circos, deps, "meps" in wanted],
    ).fetchall()
    key_of = {"député": "deputies", "sénateur": "senators", "député européen": "meps"}
    for role, seat, pid, name, label, body, org in rows:
        out["info"][str(pid)] = (str(name), str(label), str(body or ""), str(org or ""))
        if key_of[str(role)] == "meps":
            out["meps"].append((str(pid),))
        else:
            out[key_of[str(role)]].setdefault(str(seat), []).append((str(pid),))
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
    inside = insiders(con, orgs)
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
            body = inside.get(org) or Body(org, org, "", "")
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
