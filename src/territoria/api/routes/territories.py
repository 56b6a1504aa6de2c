"""REST routes of the knowledge base: territories, profiles, geometry, maps, indicators, exports."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

import territoria
from territoria import export as exports
from territoria.analysis.profile import Profile
from territoria.api import _data
from territoria.api import _queries as q
from territoria.api._deps import AppState, CurrentUser, Cursor, State, field, require
from territoria.api._geo import resolution_for_zoom
from territoria.api._models import Me, SearchItem, SearchPage, ServerStatus
from territoria.kb import territories as kt
from territoria.kb.search import search
from territoria.roster import Roster, roster, roster_bytes

router = APIRouter(prefix="/api/v1", tags=["territories"], dependencies=[Depends(require("read"))])

GEOJSON = "application/geo+json"
CodePath = Annotated[
    str,
    PathParam(
        description="Official code: INSEE (commune 35238, département 35, région 53), SIREN "
        "(EPCI 243500139), canton 3598, circonscription 35-08.",
        min_length=1,
        max_length=20,
        pattern=r"^[0-9A-Za-z-]+$",
    ),
]
LevelQuery = Annotated[
    str | None,
    Query(
        description="Level: commune, departement, region, epci, canton, circonscription ... "
        "(French labels accepted). Needed only when a code exists at several levels.",
        max_length=40,
    ),
]
ExportFormat = Literal["csv", "geojson"]


def _level(state: AppState, cur: Any, level: str | None) -> str | None:
    if level is None:
        return None
    with field("level"):
        return state.cache.get(("level", level), lambda: kt.check_level(cur, level))


@router.get("/me", summary="The signed-in user", response_model=Me)
def me(user: CurrentUser) -> Me:
    """Return the name and role of the user making the request."""
    return Me.model_validate(user.to_dict())


@router.get("/territories", summary="Search or list territories", response_model=SearchPage)
def territories(
    cur: Cursor,
    state: State,
    text: Annotated[
        str | None,
        Query(
            alias="q",
            description="Name or code, as typed (accents, typos tolerated).",
            max_length=200,
        ),
    ] = None,
    level: LevelQuery = None,
    parent: Annotated[
        str | None, Query(description="Only territories inside this one (code).", max_length=20)
    ] = None,
    parent_level: LevelQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> SearchPage:
    """Search territories by name or code (``q``), or list those of a level or a parent."""
    key = _level(state, cur, level)
    if text is not None and text.strip():
        with state.db.shared() as shared, field("q"):
            hits = search(shared, text, level=key, limit=limit)
        return SearchPage(total=len(hits), items=[SearchItem.of(h) for h in hits])
    within = None
    if parent:
        with field("parent"):
            found = kt.resolve_parent(cur, parent, parent_level)
        within = (found.level, found.code)
    page = kt.list_territories(cur, level=key, parent=within, limit=limit, offset=offset)
    return SearchPage(total=page.total, items=list(page.items))


@router.get(
    "/territories/{code}",
    summary="One territory: identity, key figures and source",
    response_model=kt.TerritoryCard,
)
def territory(
    cur: Cursor, state: State, code: CodePath, level: LevelQuery = None
) -> kt.TerritoryCard:
    """Return a territory's name, level, population, area, density, parents and source."""
    return _data.territory(state.cache, cur, code, level=_level(state, cur, level))


@router.get(
    "/territories/{code}/profile",
    summary="The territory's profile (as the CLI's)",
    response_model=Profile,
)
def territory_profile(
    cur: Cursor, state: State, code: CodePath, level: LevelQuery = None
) -> dict[str, Any]:
    """Return the same JSON as ``territoria profile CODE --json``."""
    return _data.profile(state.cache, cur, code, level=_level(state, cur, level))


@router.get(
    "/territories/{code}/geometry",
    summary="GeoJSON of the territory and its neighbours",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def territory_geometry(
    cur: Cursor,
    state: State,
    code: CodePath,
    level: LevelQuery = None,
    neighbours: Annotated[bool, Query(description="Add the neighbouring territories.")] = True,
    zoom: Annotated[int | None, Query(ge=0, le=22)] = None,
) -> Response:
    """Return a FeatureCollection: the territory (``role: self``) and its neighbours."""
    found = _data.territory(state.cache, cur, code, level=_level(state, cur, level))
    body = q.territory_collection(
        cur,
        state.geometry,
        found,
        with_neighbours=neighbours,
        resolution=resolution_for_zoom(zoom) if zoom is not None else "full",
    )
    return Response(body, media_type=GEOJSON)


@router.get(
    "/territories/{code}/export",
    summary="Download one territory (CSV of its figures, or GeoJSON)",
    response_class=Response,
)
def territory_export(
    cur: Cursor,
    state: State,
    code: CodePath,
    level: LevelQuery = None,
    fmt: Annotated[ExportFormat, Query(alias="format")] = "csv",
) -> Response:
    """Return the territory's key figures and indicators as CSV, or its GeoJSON feature."""
    found = _data.territory(state.cache, cur, code, level=_level(state, cur, level))
    name = f"territoria-{found.level}-{found.code}"
    if fmt == "geojson":
        body = q.territory_collection(cur, state.geometry, found, with_neighbours=False)
        return Response(
            body,
            media_type=GEOJSON,
            headers={"Content-Disposition": f'attachment; filename="{name}.geojson"'},
        )
    profile = _data.profile(state.cache, cur, found.code, level=found.level)
    return Response(
        q.territory_csv(found.to_dict(), profile),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get(
    "/map/{level}",
    summary="GeoJSON of a level for a map, simplified for the zoom, coloured by an indicator",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def map_level(
    cur: Cursor,
    state: State,
    level: Annotated[str, PathParam(max_length=40)],
    indicator: Annotated[str | None, Query(max_length=100)] = None,
    period: Annotated[str | None, Query(max_length=20)] = None,
    bbox: Annotated[
        str | None,
        Query(
            description="xmin,ymin,xmax,ymax in degrees (WGS84).",
            pattern=r"^-?[0-9.]+,-?[0-9.]+,-?[0-9.]+,-?[0-9.]+$",
            max_length=100,
        ),
    ] = None,
    parent: Annotated[
        str | None,
        Query(
            description="Only territories inside this one: e.g. 35 for the communes of "
            "Ille-et-Vilaine.",
            max_length=20,
        ),
    ] = None,
    parent_level: LevelQuery = None,
    zoom: Annotated[
        int | None, Query(ge=0, le=22, description="Web-map zoom; sets the simplification.")
    ] = None,
    method: Annotated[Literal["quantiles", "jenks", "equal"], Query()] = "quantiles",
    classes: Annotated[int, Query(ge=2, le=9)] = 5,
) -> Response:
    """Return the territories of ``level`` as a GeoJSON FeatureCollection for a web map.

    With ``indicator``, each feature carries ``value`` and ``class`` and the collection a
    ``classification`` (breaks, colours, counts) for the legend.
    """
    key = _level(state, cur, level) or level
    with field("bbox"):
        box = q.parse_bbox(bbox) if bbox else None
    within = None
    if parent:
        with field("parent"):
            found = state.cache.get(
                ("parent", parent, parent_level),
                lambda: kt.resolve_parent(cur, parent, parent_level),
            )
        within = (found.level, found.code)
    resolution = resolution_for_zoom(zoom)
    view = (key, resolution, indicator, period, bbox, within, method, classes)
    with field("indicator"):
        # the same view (a bookmarked département, say) is served from memory next time
        body = state.maps.get(
            view,
            lambda: q.map_collection(
                cur,
                state.geometry,
                key,
                resolution=resolution,
                indicator=indicator,
                period=period,
                bbox=box,
                parent=within,
                method=method,
                classes=classes,
                cache=state.cache,
            ),
        )
    return Response(body, media_type=GEOJSON)


@router.get(
    "/indicators",
    summary="The indicator catalogue: every indicator that can colour a map",
    response_model=list[kt.IndicatorInfo],
)
def indicators(
    state: State,
    cur: Cursor,
    level: Annotated[
        str | None,
        Query(max_length=40, description="Only the indicators with values at this level."),
    ] = None,
) -> list[kt.IndicatorInfo]:
    """Return the built-in figures and the imported indicators: labels, unit, levels,
    periods, the source of the latest values and the coverage of each level."""
    key = None
    if level:
        with field("level"):
            key = kt.check_level(cur, level)
    return _data.indicators(state.cache, cur, level=key)


@router.get("/status", summary="State of the server's caches", response_model=ServerStatus)
def server_status(state: State) -> ServerStatus:
    """Return which simplified map geometries are ready (``level/resolution``)."""
    return ServerStatus(geometry_ready=state.geometry.ready(), version=territoria.__version__)


@router.get(
    "/overview", summary="Headline figures of the knowledge base", response_model=kt.Overview
)
def overview(cur: Cursor) -> kt.Overview:
    """Return the number of territories per level and the population of France."""
    return kt.overview(cur)


@router.get(
    "/territories/{code}/officials",
    summary="Every current official of the territory's councils, then its deputies and senators",
    response_model=Roster,
    responses={
        200: {
            "content": {
                exports.MEDIA_TYPES["csv"]: {},
                exports.MEDIA_TYPES["xlsx"]: {},
            }
        }
    },
)
def territory_officials(
    cur: Cursor,
    state: State,
    code: CodePath,
    level: LevelQuery = None,
    fmt: Annotated[Literal["json", "csv", "xlsx"], Query(alias="format")] = "json",
    lang: Annotated[Literal["fr", "en"], Query(description="Column headers.")] = "fr",
) -> Any:
    """Return the roster of :func:`territoria.roster.roster` as JSON, or download it as CSV
    or XLSX (titles in the person's gender, flagged source dates, source and its date)."""
    found = _data.territory(state.cache, cur, code, level=_level(state, cur, level))
    result = roster(cur, found.code, level=found.level)
    if fmt == "json":
        return result
    name = f"territoria-elus-{found.level}-{found.code}.{fmt}"
    return Response(
        roster_bytes(result, fmt=fmt, lang=lang),
        media_type=exports.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


LevelFormat = Literal["csv", "xlsx", "geojson", "gpkg", "parquet"]


@router.get(
    "/export/{level}",
    summary="Download every territory of a level (CSV, XLSX, GeoJSON, GeoPackage, GeoParquet)",
    response_class=FileResponse,
)
def export_level(
    cur: Cursor,
    state: State,
    level: Annotated[str, PathParam(max_length=40)],
    fmt: Annotated[LevelFormat, Query(alias="format")] = "csv",
    indicators: Annotated[
        str | None,
        Query(
            description="Comma-separated indicator codes to add, or 'all' for every indicator "
            "with values at this level.",
            max_length=2000,
        ),
    ] = None,
) -> FileResponse:
    """Write the level with :func:`territoria.export.export_level` and send the file."""
    key = _level(state, cur, level) or level
    folder = Path(tempfile.mkdtemp(prefix="territoria-export-"))
    wanted: list[str] | Literal["all"] | None = None
    if indicators and indicators.strip() == "all":
        wanted = "all"
    elif indicators:
        wanted = [i.strip() for i in indicators.split(",") if i.strip()] or None
    try:
        with field("indicators"):
            path = exports.export_level(
                cur, key, fmt=fmt, out=folder / f"{key}{exports.FORMATS[fmt]}", indicators=wanted
            )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=exports.MEDIA_TYPES[fmt],
        filename=f"territoria-{key}{exports.FORMATS[fmt]}",
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
