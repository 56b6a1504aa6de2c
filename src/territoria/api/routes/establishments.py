"""REST route of a territory's establishments (the lycées of ``territoria import lycees``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from territoria.api import _data
from territoria.api._deps import Cursor, State, require
from territoria.api.routes.territories import CodePath, LevelQuery, _level
from territoria.kb.establishments import EstablishmentList, lycees

router = APIRouter(prefix="/api/v1", tags=["territories"], dependencies=[Depends(require("read"))])


@router.get(
    "/territories/{code}/lycees",
    summary="The lycées of a territory (a commune, or the communes of an EPCI, département, "
    "région ...)",
    response_model=EstablishmentList,
)
def territory_lycees(
    cur: Cursor,
    state: State,
    code: CodePath,
    level: LevelQuery = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> EstablishmentList:
    """Return the lycées of the territory by commune and name, with their UAI and how many
    there are."""
    found = _data.territory(state.cache, cur, code, level=_level(state, cur, level))
    return lycees(cur, found.level, found.code, limit=limit)
