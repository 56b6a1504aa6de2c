"""REST route of the State's services of a territory (préfecture, rectorat, ARS …)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from territoria.api import _data
from territoria.api._deps import Cursor, State, require
from territoria.api.routes.territories import LevelQuery, _level
from territoria.kb.state_bodies import StateBodyList, state_bodies

router = APIRouter(prefix="/api/v1", tags=["territories"], dependencies=[Depends(require("read"))])

CodeQuery = Annotated[
    str,
    Query(
        description="Official code of the territory: 35238 (commune), 243500139 (EPCI), 35, 53.",
        min_length=1,
        max_length=40,
    ),
]


@router.get(
    "/state-bodies",
    summary="The State's services of a territory: préfecture, rectorat, ARS, agence de l'eau, "
    "DREAL, ADEME, Bpifrance, ANCT, SNCF Réseau, IDFM, European Commission",
    response_model=StateBodyList,
)
def list_state_bodies(
    cur: Cursor, state: State, code: CodeQuery, level: LevelQuery = None
) -> StateBodyList:
    """Return the State's services competent for the territory, préfecture first, each with
    its seat, its address where documented, the basis of its scope and the offices to meet."""
    found = _data.territory(state.cache, cur, code, level=_level(state, cur, level))
    return state_bodies(cur, found.level, found.code)
