"""Establishments of a territory: the lycées imported by ``territoria import lycees``.

Each lycée is an organisation (id ``uai-<UAI>``, kind ``lycee``) of its commune; a territory
above the commune (EPCI, département, région) holds the lycées of its communes.
"""

from __future__ import annotations

from typing import Any, Final

import duckdb
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Establishment", "EstablishmentList", "lycees"]

#: Levels made of communes (through the membership table).
_ABOVE: Final = ("epci", "departement", "region", "canton", "circonscription")


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-able data."""
        return self.model_dump(mode="json")


class Establishment(_Result):
    """One establishment, in its commune."""

    id: str = Field(description="Organisation id, e.g. 'uai-0350710G'.")
    uai: str = Field(description="Unité administrative immatriculée (Éducation nationale).")
    name: str = Field(description="As the source writes it.")
    commune_code: str
    commune_name: str


class EstablishmentList(_Result):
    """The establishments of a territory (the first ``limit``), with how many there are."""

    total: int
    items: list[Establishment]
    source: str | None = Field(default=None, description="Name and version of the source.")


def lycees(
    con: duckdb.DuckDBPyConnection, level: str, code: str, *, limit: int = 100
) -> EstablishmentList:
    """Return the lycées of a territory, by commune then name.

    Parameters
    ----------
    con
        Open knowledge base.
    level, code
        The territory: a commune, or a level made of communes (EPCI, département, région,
        canton, circonscription); any other level has none.
    limit
        How many to list (``total`` counts them all).
    """
    if level == "commune":
        where, params = "o.code = ?", [code]
    elif level in _ABOVE:
        where = (
            "o.code IN (SELECT code FROM membership WHERE level = 'commune' "
            "AND parent_level = ? AND parent_code = ?)"
        )
        params = [level, code]
    else:
        return EstablishmentList(total=0, items=[])
    rows = con.execute(
        f"""
        SELECT o.id, o.name, o.code, t.name, count(*) OVER () AS total,
               s.name || coalesce(' ' || s.version, '')
        FROM organisation o
        JOIN territory t ON t.level = 'commune' AND t.code = o.code
        LEFT JOIN source s ON s.id = o.source_id
        WHERE o.kind = 'lycee' AND o.level = 'commune' AND {where}
        ORDER BY t.name, o.code, o.name, o.id
        LIMIT ?
        """,
        [*params, limit],
    ).fetchall()
    return EstablishmentList(
        total=int(rows[0][4]) if rows else 0,
        items=[
            Establishment(
                id=r[0],
                uai=str(r[0]).removeprefix("uai-"),
                name=r[1],
                commune_code=r[2],
                commune_name=r[3],
            )
            for r in rows
        ],
        source=rows[0][5] if rows else None,
    )
