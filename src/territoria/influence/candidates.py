"""Who a plan may engage: the actors of one's own network, or the officials of a territory.

``territoria influence plan --candidates all|network|officials|pole:ID`` restricts the
optimiser's seeds to these actors (:func:`candidates_for`; ``pole:ID`` is
:func:`territoria.influence.poles.pole_candidates`). A plan whose candidates are all its own
decision-makers says so (:func:`no_candidate_left`) instead of failing on an empty set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import duckdb

from territoria.errors import InvalidPlanRequest
from territoria.influence.decision import resolve_territory

__all__ = [
    "CANDIDATE_MODES",
    "Candidates",
    "candidates_for",
    "network_candidates",
    "no_candidate_left",
    "official_candidates",
]

#: Modes of ``--candidates`` besides ``pole:ID``.
CANDIDATE_MODES = ("all", "network", "officials")

# The councils of a territory: for each of its communes, the bodies holding the communal,
# communautary, departmental and regional competences there (the most specific
# body_territory row, so the Métropole de Lyon for Lyon's departmental ones, the Conseil de
# Paris for Paris's), plus the deputies of its circonscriptions and the senators of its
# départements.
_OFFICIALS_SQL = """
WITH area AS (
    SELECT code FROM membership WHERE level = 'commune' AND parent_level = $level
      AND parent_code = $code
    UNION SELECT $code WHERE $level = 'commune'
), place AS (
    SELECT code AS commune, 'commune' AS level, code FROM area
    UNION ALL
    SELECT m.code, m.parent_level, m.parent_code FROM membership m JOIN area USING (code)
    WHERE m.level = 'commune' AND m.parent_level IN ('epci', 'departement', 'region')
), cover AS (
    SELECT p.commune, b.competence, b.organisation_id,
           CASE p.level WHEN 'commune' THEN 1 WHEN 'epci' THEN 2
                WHEN 'departement' THEN 3 ELSE 4 END AS specificity
    FROM place p JOIN body_territory b ON b.level = p.level AND b.code = p.code
    WHERE b.competence IN ('commune', 'epci', 'departement', 'region')
), councils AS (
    SELECT DISTINCT organisation_id FROM cover
    QUALIFY specificity = min(specificity) OVER (PARTITION BY commune, competence)
), parliament AS (
    SELECT DISTINCT parent_level AS level, parent_code AS code FROM place p
    JOIN membership m ON m.level = 'commune' AND m.code = p.commune
    WHERE m.parent_level IN ('circonscription', 'departement')
)
SELECT DISTINCT m.person_id FROM mandate m
WHERE m.end_date IS NULL AND (
    m.organisation_id IN (SELECT organisation_id FROM councils)
    OR (m.role = 'député' AND m.level = 'circonscription'
        AND m.code IN (SELECT code FROM parliament WHERE level = 'circonscription'))
    OR (m.role = 'sénateur' AND m.level = 'departement'
        AND m.code IN (SELECT code FROM parliament WHERE level = 'departement')))
ORDER BY m.person_id
"""


@dataclass(frozen=True)
class Candidates(Sequence[str]):
    """The actor ids a plan may engage, and how they were chosen (``mode``).

    A sequence of ids: give it as ``plan_project(candidates=...)``.
    """

    ids: tuple[str, ...]
    mode: str
    territory: str | None = None

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...

    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        return self.ids[i]

    def __len__(self) -> int:
        return len(self.ids)


def network_candidates(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Return the actors one's own network reaches (relations from ``self``).

    Raises
    ------
    InvalidPlanRequest
        When the network is empty (no logged action, no imported relation from ``self``).
    """
    rows = con.execute(
        "SELECT DISTINCT target_actor FROM relation WHERE source_actor = 'self'"
    ).fetchall()
    if not rows:
        msg = "your network is empty: log actions ('territoria actions add') or import relations"
        raise InvalidPlanRequest(msg)
    return [str(r[0]) for r in rows]


def official_candidates(
    con: duckdb.DuckDBPyConnection, code: str, level: str | None = None
) -> list[str]:
    """Return every serving official of a territory's councils and its parliamentarians.

    The councils are, for each commune of the territory, the bodies holding the communal,
    communautary, departmental and regional competences there (the Conseil de Paris, the
    Métropole de Lyon, the CeA, Corse, the CTM, the CTG or Mayotte where they replace the
    ordinary ones, see :mod:`territoria.kb.bodies`); the parliamentarians are the deputies
    of its circonscriptions and the senators of its départements.

    Raises
    ------
    UnknownTerritory
        When no territory has this code (at this level).
    """
    t_level, t_code, _ = resolve_territory(con, code, level)
    rows = con.execute(_OFFICIALS_SQL, {"level": t_level, "code": t_code}).fetchall()
    return [str(r[0]) for r in rows]


def candidates_for(
    con: duckdb.DuckDBPyConnection, mode: str, *, code: str | None = None, level: str | None = None
) -> Candidates | None:
    """Resolve a ``--candidates`` mode: ``None`` for ``all`` (every actor but the targets).

    Raises
    ------
    InvalidPlanRequest
        An unknown mode, ``officials`` without a territory, or an empty network.
    UnknownPole
        ``pole:ID`` names no detected pole.
    """
    if mode == "all":
        return None
    if mode == "network":
        return Candidates(tuple(network_candidates(con)), "network")
    if mode == "officials":
        if code is None:
            msg = "--candidates officials needs --territory CODE (whose officials to engage)"
            raise InvalidPlanRequest(msg)
        return Candidates(tuple(official_candidates(con, code, level)), "officials", code)
    if mode.startswith("pole:") and mode.removeprefix("pole:").strip():
        from territoria.influence.poles import pole_candidates

        pole = pole_candidates(con, mode.removeprefix("pole:").strip())
        return Candidates(tuple(pole.actors), "pole")
    msg = f"--candidates {mode!r}: use all, network, officials or pole:ID (e.g. pole:g03-35028)"
    raise InvalidPlanRequest(msg)


def no_candidate_left(candidates: Sequence[str]) -> str:
    """The message of a plan whose allowed candidates are all decision-makers (targets)."""
    mode = candidates.mode if isinstance(candidates, Candidates) else None
    if mode == "officials":
        return (
            "tous les élus du territoire sont des décideurs du projet : choisissez "
            "--candidates all ou network"
        )
    return (
        f"each of the {len(candidates)} allowed candidates is a decision-maker of the project "
        "(a target) or cannot be engaged: allow other actors (--candidates all), or let the "
        "decision-makers be chosen (--include-targets)"
    )
