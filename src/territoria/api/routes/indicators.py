"""The indicator catalogue page: every indicator with its source, year and coverage by level."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from territoria.accounts import User
from territoria.api import _data
from territoria.api._deps import Cursor, State, field, require
from territoria.api._render import render
from territoria.kb import territories as kt

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(require("read"))]

#: Levels the map draws, in the order a "see it on the map" link prefers them.
MAP_LEVELS: Final = ("departement", "region", "epci", "commune", "canton", "circonscription")


def map_level(indicator: kt.IndicatorInfo) -> str | None:
    """The level to open the map at for an indicator (``None``: it has none the map draws)."""
    return next((lv for lv in MAP_LEVELS if lv in indicator.levels), None)


@router.get("/indicateurs", response_class=HTMLResponse)
def indicators_page(
    request: Request,
    state: State,
    cur: Cursor,
    user: Reader,
    level: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The indicator catalogue: code, label, unit, source, year and coverage of each
    indicator, with a link to colour the map with it."""
    key = None
    if level:
        with field("level"):
            key = kt.check_level(cur, level)
    everything = _data.indicators(state.cache, cur)
    shown = _data.indicators(state.cache, cur, level=key) if key else everything
    levels: dict[str, kt.Label] = {}
    for item in everything:
        for c in item.coverage:
            levels.setdefault(c.level, c.label)
    return render(
        request,
        "indicators.html",
        {
            "indicators": [(i, map_level(i)) for i in shown],
            "levels": levels,
            "level": key,
            "total": len(everything),
        },
    )
