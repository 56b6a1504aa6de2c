"""REST routes of the economic fabric: a territory's specialisation profile, detected poles."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import Response

from territoria.analysis._economy_model import EconomicProfile, Pole
from territoria.analysis.poles import pole_feature, poles_geojson
from territoria.analysis.specialisation import economy_sources
from territoria.api import _data
from territoria.api._deps import Cursor, State, field, require
from territoria.api.routes.territories import GEOJSON, CodePath, LevelQuery, _level
from territoria.errors import InvalidQuery

router = APIRouter(prefix="/api/v1", tags=["economy"], dependencies=[Depends(require("read"))])

PoleId = Annotated[
    str,
    PathParam(
        description="Pole id as listed by GET /api/v1/poles: <sector group>-<commune code of its "
        "centre>, e.g. g03-35028.",
        min_length=7,
        max_length=200,
        pattern=r"^[^/]+-[0-9A-Za-z]{5}$",
    ),
]
RegionQuery = Annotated[
    str | None,
    Query(description="Région code (53 for Bretagne).", pattern=r"^[0-9]{2}$"),
]
DepartementQuery = Annotated[
    str | None,
    Query(description="Département code (35, 2A, 971).", pattern=r"^[0-9][0-9AB][0-9]?$"),
]


@router.get(
    "/economy/{code}",
    summary="A territory's economic profile (as the CLI's)",
    response_model=EconomicProfile,
    # the parts the library leaves out stay out (as in the CLI's JSON), not null
    response_model_exclude_unset=True,
)
def economy(
    cur: Cursor,
    state: State,
    code: CodePath,
    level: LevelQuery = None,
    sector_level: Annotated[
        Literal["section", "division", "group", "class", "subclass"],
        Query(description="NAF level of the sectors."),
    ] = "division",
    naf: Annotated[
        Literal["rev2", "2025"] | None,
        Query(
            description="Nomenclature: rev2 (NAF rév. 2) or 2025 (NAF 2025); default rev2 until "
            "2026-12-31, 2025 from 2027-01-01."
        ),
    ] = None,
    measure: Annotated[
        Literal["employment", "establishments"],
        Query(description="Estimated salaried employment or establishment counts."),
    ] = "employment",
    reference: Annotated[
        Literal["nation", "region", "departement", "epci", "canton", "circonscription"],
        Query(description="Compare with the nation or with the territory's parent at a level."),
    ] = "nation",
    since: Annotated[
        dt.date | None,
        Query(description="Start of the shift-share, YYYY-MM-DD (default: 5 years earlier)."),
    ] = None,
    top: Annotated[int, Query(ge=1, le=100, description="Sectors per ranking.")] = 10,
) -> dict[str, Any]:
    """Return the same JSON as ``territoria economy profile CODE --json``: location quotients
    (``specialised``, ``largest``), Krugman, Gini and Herfindahl indices, traded share,
    shift-share between ``since`` and the snapshot (with its past-employment caveat), the
    ``nomenclature`` used, the ``reference_scope`` actually compared with (and a warning when the
    "nation" is the one région imported), sources and the ``synthetic`` flag."""
    key = _level(state, cur, level)
    with field("reference"):
        return _data.economy(
            state.cache,
            cur,
            code,
            level=key,
            sector_level=sector_level,
            measure=measure,
            reference=reference,
            since=since,
            top=top,
            naf=naf,
        )


@router.get(
    "/poles",
    summary="Detected poles of a région, a département or France",
    response_model=list[Pole],
    response_model_exclude_unset=True,
    responses={200: {"content": {"application/json": {}, GEOJSON: {}}}},
)
def poles(
    cur: Cursor,
    state: State,
    region: RegionQuery = None,
    departement: DepartementQuery = None,
    fmt: Annotated[
        Literal["json", "geojson"],
        Query(alias="format", description="json (as 'poles detect --json') or geojson (hulls)."),
    ] = "json",
) -> Any:
    """Return the poles as ``territoria poles detect --json`` lists them (strongest first), or
    their footprints as a GeoJSON FeatureCollection for a map. Without ``region`` or
    ``departement``: all of France."""
    if region and departement:
        with field("departement"):
            raise InvalidQuery("give region or departement, not both")
    with field("region" if region else "departement"):
        found = _data.poles(state.cache, cur, region=region, departement=departement)
    if fmt == "geojson":
        collection = poles_geojson(found)
        # where the establishments come from, for the map's legend
        collection["sources"] = economy_sources(cur)["sources"]
        return Response(json.dumps(collection, ensure_ascii=False), media_type=GEOJSON)
    return found


@router.get(
    "/poles/{pole_id}",
    summary="One pole: sectors, communes, firms, actors, hull",
    response_model=Pole,
    response_model_exclude_unset=True,
)
def pole(cur: Cursor, state: State, pole_id: PoleId) -> dict[str, Any]:
    """Return one pole of ``GET /api/v1/poles`` (looked up in the région of its centre)."""
    return _data.pole(state.cache, cur, pole_id)


@router.get(
    "/poles/{pole_id}/hull",
    summary="A pole's footprint as GeoJSON",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def pole_hull(cur: Cursor, state: State, pole_id: PoleId) -> Response:
    """Return the convex hull of the pole's establishments as a GeoJSON Feature."""
    found = _data.pole(state.cache, cur, pole_id)
    feature = pole_feature(found)
    return Response(json.dumps(feature, ensure_ascii=False), media_type=GEOJSON)
