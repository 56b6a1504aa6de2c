"""Which body exercises which level's competences where: statut-particulier collectivities.

By ordinary law a commune's council holds the communal competences, its département's council
the departmental ones, and so on. The collectivités à statut particulier replace some of them:
the Métropole de Lyon holds the departmental competences on its 59 communes (the Conseil
départemental du Rhône keeps them on the rest of the Rhône), the Ville de Paris is commune and
département, the Collectivité européenne d'Alsace replaces the Bas-Rhin and the Haut-Rhin, the
Collectivité de Corse, the CTM, the CTG and the Département de Mayotte are région and
département at once. The import writes this in ``body_territory`` (one row per body,
competence and territory); the most specific row whose territory contains a place decides.

>>> bodies_for(con, "departement", "commune", "69123")   # Lyon
['cd-69M']
>>> bodies_for(con, "departement", "commune", "69264")   # Villefranche-sur-Saône
['cd-69']
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

__all__ = ["COMPETENCES", "SPECIFICITY", "bodies_for", "bodies_for_communes", "most_specific"]

#: Levels whose competences a body may hold, from the most local.
COMPETENCES = ("commune", "epci", "departement", "region")
#: How specific a territory of each level is (lower: more specific).
SPECIFICITY = {"commune": 1, "epci": 2, "departement": 3, "region": 4}

_SQL = """
WITH place(level, code) AS (
    SELECT ?::VARCHAR, ?::VARCHAR
    UNION ALL
    SELECT parent_level, parent_code FROM membership
    WHERE level = ? AND code = ? AND parent_level IN ('commune', 'epci', 'departement', 'region')
)
SELECT DISTINCT b.level, b.organisation_id
FROM body_territory b JOIN place p ON p.level = b.level AND p.code = b.code
WHERE b.competence = ?
"""


def most_specific(candidates: Iterable[tuple[str, str]]) -> list[str]:
    """Of ``(territory level, body)`` pairs covering a place, the bodies of the most specific.

    Several bodies remain when the place straddles territories of the same level (an EPCI
    over two départements has two departmental councils).
    """
    found = list(candidates)
    if not found:
        return []
    best = min(SPECIFICITY.get(level, 9) for level, _ in found)
    return sorted({body for level, body in found if SPECIFICITY.get(level, 9) == best})


def bodies_for(con: duckdb.DuckDBPyConnection, competence: str, level: str, code: str) -> list[str]:
    """The bodies holding ``competence``'s competences for the territory ``(level, code)``.

    Parameters
    ----------
    competence
        ``'commune'``, ``'epci'``, ``'departement'`` or ``'region'``.
    level, code
        The territory (a commune, an EPCI, a département …).

    Returns
    -------
    list of str
        Organisation ids (``'cd-69M'``), empty when no body is known there (a commune of no
        EPCI has no communautary council).
    """
    rows = con.execute(_SQL, [level, code, level, code, competence]).fetchall()
    return most_specific((str(r[0]), str(r[1])) for r in rows)


_MANY_SQL = """
WITH area(code) AS (SELECT DISTINCT unnest(?::VARCHAR[])),
place(commune, level, code) AS (
    SELECT code, 'commune', code FROM area
    UNION ALL
    SELECT m.code, m.parent_level, m.parent_code FROM membership m JOIN area a ON a.code = m.code
    WHERE m.level = 'commune' AND m.parent_level IN ('epci', 'departement', 'region')
)
SELECT DISTINCT p.commune, b.competence, b.level, b.organisation_id
FROM body_territory b JOIN place p ON p.level = b.level AND p.code = b.code
WHERE b.competence IN (SELECT unnest(?::VARCHAR[]))
"""


def bodies_for_communes(
    con: duckdb.DuckDBPyConnection, competences: Iterable[str], communes: Iterable[str]
) -> dict[tuple[str, str], list[str]]:
    """:func:`bodies_for` of many communes at once: ``{(commune, competence): bodies}``.

    One query for a whole région's communes (the decision map of a regional project);
    a pair with no body is absent.
    """
    rows = con.execute(_MANY_SQL, [list(communes), list(competences)]).fetchall()
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for commune, competence, level, body in rows:
        found.setdefault((str(commune), str(competence)), []).append((str(level), str(body)))
    return {key: most_specific(pairs) for key, pairs in found.items()}
