"""The portrait of a territory: the PDF or HTML report (REST), its web page, and the territory
page's "Portrait" buttons (see :mod:`territoria.reports.portrait`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from territoria.accounts import User
from territoria.api._deps import AppState, Cursor, State, field, require
from territoria.api._render import render
from territoria.api._sections import territory_button
from territoria.api.routes.territories import CodePath, LevelQuery
from territoria.kb import territories as kt
from territoria.reports.portrait import (
    FORMATS,
    Portrait,
    export_portrait,
    portrait,
    portrait_body_html,
)

router = APIRouter(prefix="/api/v1", tags=["portrait"], dependencies=[Depends(require("read"))])
pages = APIRouter(include_in_schema=False)
routers = (router, pages)
Reader = Annotated[User, Depends(require("read"))]


def _gathered(state: AppState, cur: Any, code: str, level: str | None) -> Portrait:
    """The portrait, gathered once a day per territory while the knowledge base stays the same
    (the page and its PDF button share it; a write empties the cache)."""
    if level is not None:
        with field("level"):
            level = kt.check_level(cur, level)
    key = ("portrait", level, code, dt.date.today())
    found: Portrait = state.cache.get(key, lambda: portrait(cur, code, level=level))
    return found


@router.get(
    "/territories/{code}/portrait",
    summary="A territory's portrait (PDF or HTML report, in French)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "text/html": {}}}},
)
def portrait_report(
    cur: Cursor,
    state: State,
    code: CodePath,
    level: LevelQuery = None,
    fmt: Annotated[Literal["pdf", "html"], Query(alias="format")] = "pdf",
) -> Response:
    """Download the portrait: map, key figures with year and source, population series, age
    and housing charts, strengths, assets, poles, officials, lycées and sources."""
    found = _gathered(state, cur, code, level)
    name = f"portrait-{found.level}-{found.code}.{fmt}"
    disposition = "attachment" if fmt == "pdf" else "inline"
    return Response(
        export_portrait(found, fmt),
        media_type=FORMATS[fmt],
        headers={"Content-Disposition": f'{disposition}; filename="{name}"'},
    )


@pages.get("/territoires/{level}/{code}/portrait", response_class=HTMLResponse)
def portrait_page(
    request: Request,
    cur: Cursor,
    state: State,
    user: Reader,
    level: Annotated[str, PathParam(max_length=40)],
    code: Annotated[str, PathParam(max_length=20)],
) -> Response:
    """The portrait as a web page, with a link to its PDF."""
    found = _gathered(state, cur, code, level)
    context = {"p": found, "body": portrait_body_html(found)}
    return render(request, "portrait.html", context)


@territory_button("portrait", order=40)
def _portrait_button(territory: Any) -> tuple[str, str]:
    return "Portrait", f"/territoires/{territory.level}/{territory.code}/portrait"


@territory_button("portrait-pdf", order=41)
def _portrait_pdf_button(territory: Any) -> tuple[str, str]:
    return "Portrait (PDF)", (
        f"/api/v1/territories/{territory.code}/portrait?level={territory.level}&format=pdf"
    )
