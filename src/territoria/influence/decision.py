"""Decision map: from a project's theme and territory to the weighted decision-makers.

The competences of each level by theme follow French law and ship in ``competences.toml``
(each theme cites its legal basis). Inside each competent body, the executive (mayor,
president) and the vice-presidents / deputy mayors become targets; the State level is
represented by the territory's deputies and senators.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import duckdb

from territoria.errors import UnknownTerritory, UnknownTheme
from territoria.kb.bodies import bodies_for

__all__ = ["Target", "Theme", "decision_map", "resolve_territory", "themes"]

LEVELS_UP = ("commune", "epci", "departement", "region")


@dataclass(frozen=True)
class Theme:
    """A policy theme with its competent levels and legal basis."""

    id: str
    label_fr: str
    label_en: str
    law: str
    bodies: tuple[tuple[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: the competent levels as ``{"level", "weight"}`` objects."""
        return {
            "id": self.id,
            "label_fr": self.label_fr,
            "label_en": self.label_en,
            "law": self.law,
            "bodies": [{"level": level, "weight": weight} for level, weight in self.bodies],
        }


@dataclass
class Target:
    """A decision-maker targeted by a project."""

    id: str
    weight: float
    name: str = ""
    role: str = ""
    body: str = ""
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "id": self.id,
            "weight": self.weight,
            "name": self.name,
            "role": self.role,
            "body": self.body,
        }


def _data() -> dict[str, Any]:
    text = (resources.files("territoria.influence") / "competences.toml").read_text("utf-8")
    return tomllib.loads(text)


def themes() -> list[Theme]:
    """Every theme of the decision map, with stable ids."""
    out = []
    for key, value in _data()["themes"].items():
        out.append(
            Theme(
                id=key,
                label_fr=value["label_fr"],
                label_en=value["label_en"],
                law=value["law"],
                bodies=tuple((b["level"], float(b["weight"])) for b in value["bodies"]),
            )
        )
    return out


def get_theme(theme_id: str) -> Theme:
    """The theme ``theme_id``; raises :class:`UnknownTheme` with the known ids."""
    for theme in themes():
        if theme.id == theme_id:
            return theme
    known = ", ".join(t.id for t in themes())
    msg = f"unknown theme {theme_id!r}: choose one of {known} ('territoria influence themes')"
    raise UnknownTheme(msg)


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


def _bodies_for(
    con: duckdb.DuckDBPyConnection, level: str, code: str, body_level: str
) -> list[str]:
    """Territory codes at ``body_level`` whose body is competent for the project's area."""
    if body_level == level:
        return [code]
    rank = {lv: i for i, lv in enumerate(LEVELS_UP)}
    if level in rank and body_level in rank and rank[body_level] > rank[level]:
        rows = con.execute(
            "SELECT parent_code FROM membership WHERE level = ? AND code = ? AND parent_level = ?",
            [level, code, body_level],
        ).fetchall()
        if not rows and level != "commune":
            # e.g. an EPCI spanning two départements: go through its communes
            rows = con.execute(
                "SELECT DISTINCT p.parent_code FROM membership c JOIN membership p "
                "ON p.level = 'commune' AND p.code = c.code AND p.parent_level = ? "
                "WHERE c.level = 'commune' AND c.parent_level = ? AND c.parent_code = ?",
                [body_level, level, code],
            ).fetchall()
        return [str(r[0]) for r in rows]
    # A project covering a larger area than the body: every such body inside it.
    if body_level == "commune":
        rows = con.execute(
            "SELECT code FROM membership WHERE level = 'commune' AND parent_level = ? "
            "AND parent_code = ?",
            [level, code],
        ).fetchall()
    else:
        rows = con.execute(
            "SELECT DISTINCT c.parent_code FROM membership m JOIN membership c "
            "ON c.level = 'commune' AND c.code = m.code AND c.parent_level = ? "
            "WHERE m.level = 'commune' AND m.parent_level = ? AND m.parent_code = ?",
            [body_level, level, code],
        ).fetchall()
    return [str(r[0]) for r in rows]


def _competent_bodies(
    con: duckdb.DuckDBPyConnection, level: str, code: str, body_level: str
) -> list[str]:
    """The bodies holding ``body_level``'s competences over the project's territory.

    Statut-particulier collectivities come from :mod:`territoria.kb.bodies`: the Métropole de
    Lyon for a commune of Lyon, the CeA for Strasbourg, the Collectivité de Corse for Ajaccio.
    A territory containing several (a région's départements) gets each of them.
    """
    found = bodies_for(con, body_level, level, code)
    if found:
        return found
    codes = _bodies_for(con, level, code, body_level)
    return sorted({b for c in codes for b in bodies_for(con, body_level, body_level, c)})


_BODY_LABEL = {
    "region": "conseil régional",
    "departement": "conseil départemental",
    "epci": "conseil communautaire",
    "commune": "conseil municipal",
}


def decision_map(
    con: duckdb.DuckDBPyConnection,
    *,
    theme: str,
    code: str,
    level: str | None = None,
) -> list[Target]:
    """Weighted decision-makers for a project of ``theme`` on territory ``code``.

    A competent level's weight is split evenly between the bodies of that level concerned by
    the project, then inside each body between the executive (share ``executive``) and the
    vice-presidents or deputy mayors (who share ``deputies``). The State level goes to the
    deputies of the circonscriptions and the senators of the départements covering the area.
    """
    spec = get_theme(theme)
    defaults = _data().get("defaults", {})
    exec_share = float(defaults.get("executive", 1.0))
    deputy_share = float(defaults.get("deputies", 0.5))
    t_level, t_code, _ = resolve_territory(con, code, level)
    targets: dict[str, Target] = {}

    def add(pid: str, weight: float, name: str, role: str, body: str) -> None:
        if weight <= 0:
            return
        if pid in targets:
            targets[pid].weight += weight
            targets[pid].reasons.append(f"{role} — {body}")
        else:
            targets[pid] = Target(pid, weight, name, role, body, [f"{role} — {body}"])

    for body_level, weight in spec.bodies:
        if body_level == "state":
            _state_targets(con, t_level, t_code, weight, add)
            continue
        orgs = _competent_bodies(con, t_level, t_code, body_level)
        if not orgs:
            continue
        per_body = weight / len(orgs)
        rows = con.execute(
            """
            SELECT m.person_id, p.first_name || ' ' || p.last_name, m.function_code,
                   coalesce(m.function_label, m.function), o.name, o.id
            FROM mandate m JOIN person p ON p.id = m.person_id
            JOIN organisation o ON o.id = m.organisation_id
            WHERE m.organisation_id IN (SELECT unnest(?::VARCHAR[]))
              AND m.end_date IS NULL AND m.function_code IS NOT NULL
            """,
            [orgs],
        ).fetchall()
        by_org: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            by_org.setdefault(str(row[5]), []).append(row)
        for org, org_rows in by_org.items():
            # A commune's council (the Conseil de Paris as département too) has a mayor.
            exec_code = "MAI" if org.startswith("cm-") else "PRE"
            execs = [r for r in org_rows if r[2] == exec_code]
            deps = [r for r in org_rows if r[2] in ("ADJ", "VPE")]
            total = exec_share + (deputy_share if deps else 0.0)
            for r in execs:
                add(str(r[0]), per_body * exec_share / total, str(r[1]), str(r[3]), str(r[4]))
            for r in deps:
                share = per_body * deputy_share / total / len(deps)
                add(str(r[0]), share, str(r[1]), str(r[3]), str(r[4]))
    if not targets:
        msg = (
            f"no decision-maker found for theme {theme!r} on {t_level} {t_code!r}: the "
            "knowledge base holds no officials for the competent bodies; give --target"
        )
        raise UnknownTerritory(msg)
    return sorted(targets.values(), key=lambda t: (-t.weight, t.id))


def _state_targets(
    con: duckdb.DuckDBPyConnection,
    level: str,
    code: str,
    weight: float,
    add: Any,
) -> None:
    rows = con.execute(
        """
        WITH area AS (
            SELECT code FROM membership WHERE level = 'commune' AND parent_level = ?
              AND parent_code = ?
            UNION SELECT ? WHERE ? = 'commune'
        ),
        circos AS (
            SELECT DISTINCT parent_code AS c FROM membership WHERE level = 'commune'
              AND parent_level = 'circonscription' AND code IN (SELECT code FROM area)
            UNION SELECT ? WHERE ? = 'circonscription'
        ),
        deps AS (
            SELECT DISTINCT parent_code AS d FROM membership WHERE level = 'commune'
              AND parent_level = 'departement' AND code IN (SELECT code FROM area)
            UNION SELECT ? WHERE ? = 'departement'
        )
        SELECT m.person_id, p.first_name || ' ' || p.last_name, coalesce(m.role_label, m.role),
               CASE WHEN m.role = 'député' THEN 'Assemblée nationale' ELSE 'Sénat' END
        FROM mandate m JOIN person p ON p.id = m.person_id
        WHERE m.end_date IS NULL AND (
            (m.role = 'député' AND m.code IN (SELECT c FROM circos))
            OR (m.role = 'sénateur' AND m.code IN (SELECT d FROM deps)))
        """,
        [level, code, code, level, code, level, code, level],
    ).fetchall()
    if not rows:
        return
    per = weight / len(rows)
    for pid, name, role, body in rows:
        add(str(pid), per, str(name), str(role), str(body))
