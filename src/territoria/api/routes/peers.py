"""Peers and comparison: REST routes, the comparison page (/comparer) and the territory
page's "Territoires comparables" section (see :mod:`territoria.analysis.peers` and
:mod:`territoria.analysis.compare`)."""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from territoria.accounts import User
from territoria.analysis.compare import Comparison, compare, comparison_csv, comparison_xlsx
from territoria.analysis.peers import (
    PeerInputs,
    PeerOptions,
    PeersResult,
    find_peers,
    peer_inputs,
    rank_peers,
)
from territoria.api._deps import Cursor, field, require
from territoria.api._render import render
from territoria.api._sections import territory_section
from territoria.api.routes.territories import CodePath, LevelQuery
from territoria.errors import TerritoriaError
from territoria.kb import territories as kt

__all__ = ["routers"]

router = APIRouter(prefix="/api/v1", tags=["peers"], dependencies=[Depends(require("read"))])
pages = APIRouter(include_in_schema=False)
routers = (router, pages)
Reader = Annotated[User, Depends(require("read"))]

#: Peers the territory page shows.
SECTION_PEERS = 8
_CODES = r"^[0-9A-Za-z, -]*$"
CodesQuery = Annotated[
    str | None,
    Query(description="Comma-separated codes.", max_length=400, pattern=_CODES),
]
IndicatorsQuery = Annotated[
    str | None,
    Query(
        description="Comma-separated indicator codes (default: population, density, age and "
        "housing shares).",
        max_length=400,
        pattern=r"^[0-9A-Za-z_, -]*$",
    ),
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()] or None


def _level(cur: Any, level: str | None) -> str | None:
    if level is None:
        return None
    with field("level"):
        return kt.check_level(cur, level)


@router.get(
    "/territories/{code}/peers",
    summary="The most similar territories of the same level",
    response_model=PeersResult,
)
def peers(
    cur: Cursor,
    code: CodePath,
    level: LevelQuery = None,
    k: Annotated[int, Query(ge=1, le=100, description="Number of peers.")] = 10,
    indicators: IndicatorsQuery = None,
    method: Literal["euclidean", "mahalanobis"] = "euclidean",
    region: Annotated[
        Literal["any", "same", "other"], Query(description="Same région, other régions, any.")
    ] = "any",
    band_low: Annotated[
        float | None, Query(gt=0, le=1000, description="Least population ratio (e.g. 0.5).")
    ] = None,
    band_high: Annotated[
        float | None, Query(gt=0, le=1000, description="Greatest population ratio (e.g. 2).")
    ] = None,
    bootstrap: Annotated[int, Query(ge=0, le=2000)] = 200,
    seed: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> PeersResult:
    """Return the peers with each one's distance, each indicator's share of it and its
    stability under bootstrap resampling of the indicators, and how they were chosen."""
    band = None
    if band_low is not None or band_high is not None:
        band = (band_low or 1e-9, band_high or 1e9)
    with field("indicators"):
        return find_peers(
            cur,
            code,
            level=_level(cur, level),
            k=k,
            indicators=_split(indicators),
            method=method,
            region=region,
            population_band=band,
            bootstrap=bootstrap,
            seed=seed,
        )


def _comparison(
    cur: Any, code: str, others: str | None, level: str | None, indicators: str | None
) -> Comparison:
    with field("with"):
        return compare(
            cur,
            code,
            _split(others) or [],
            level=_level(cur, level),
            indicators=_split(indicators),
        )


@router.get(
    "/territories/{code}/compare",
    summary="A territory and up to 10 others side by side",
    response_model=Comparison,
    responses={200: {"content": {"text/csv": {}, XLSX: {}}}},
)
def compare_route(
    cur: Cursor,
    code: CodePath,
    with_: Annotated[
        str,
        Query(
            alias="with",
            max_length=400,
            pattern=_CODES,
            description="Comma-separated codes (at most 10).",
        ),
    ],
    level: LevelQuery = None,
    indicators: IndicatorsQuery = None,
    fmt: Annotated[Literal["json", "csv", "xlsx"], Query(alias="format")] = "json",
) -> Any:
    """Values, percentile ranks at the level, national and regional medians, series and
    flags; ``format=csv`` or ``xlsx`` downloads the table."""
    result = _comparison(cur, code, with_, level, indicators)
    name = f"comparaison-{result.level}-{result.code}"
    if fmt == "csv":
        return Response(
            comparison_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if fmt == "xlsx":
        out = io.BytesIO()
        comparison_xlsx(result, out)
        return Response(
            out.getvalue(),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return result


_FLAG_LABELS = {
    "missing": "valeur manquante",
    "small_population": "petite population (moins de 2 000 habitants)",
    "small_count": "petit effectif (moins de 20)",
}


@pages.get("/comparer", response_class=HTMLResponse)
def compare_page(
    request: Request,
    cur: Cursor,
    user: Reader,
    code: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9A-Za-z-]*$")] = None,
    level: Annotated[str | None, Query(max_length=40)] = None,
    with_: Annotated[str | None, Query(alias="with", max_length=400, pattern=_CODES)] = None,
    indicators: IndicatorsQuery = None,
) -> Response:
    """A territory and others side by side: values with percentile ranks and flags, the
    national and regional medians, the series chart and the exports."""
    context: dict[str, Any] = {
        "code": code or "",
        "level": level or "",
        "others": with_ or "",
        "indicators": indicators or "",
        "error": None,
        "c": None,
        "flag_labels": _FLAG_LABELS,
    }
    status = 200
    context["chart"] = None
    if code:
        try:
            context["c"] = _comparison(cur, code, with_, level, indicators)
        except TerritoriaError as exc:
            context["error"], status = str(exc), exc.http_status
        else:
            context["chart"] = _chart(context["c"])
    return render(request, "comparer.html", context, status_code=status)


def _chart(result: Comparison) -> dict[str, Any] | None:
    """The series the chart draws: the population's if held, else the first one."""
    held = [p.indicator for p in result.series]
    if not held:
        return None
    chosen = "population" if "population" in held else held[0]
    names = {t.code: t.name for t in result.territories}
    label = next((r.label for r in result.references if r.indicator == chosen), chosen)
    points = [
        {"name": names.get(p.code, p.code), "period": p.period, "value": p.value}
        for p in result.series
        if p.indicator == chosen
    ]
    return {"label": label, "points": points}


def _cached_inputs(cur: Any, cache: Any, level: str) -> PeerInputs:
    return cache.get(("peer-inputs", level), lambda: peer_inputs(cur, level))  # type: ignore[no-any-return]


def _section_value(cur: Any, cache: Any, territory: Any) -> dict[str, Any] | None:
    try:
        inputs = _cached_inputs(cur, cache, territory.level)
        found = rank_peers(
            inputs.matrix,
            territory.code,
            inputs.regions,
            inputs.indicators,
            PeerOptions(k=SECTION_PEERS, bootstrap=100),
        )
    except (TerritoriaError, LookupError):  # too few data at this level, or none for it
        return None
    if not found.peers:
        return None
    labels = {i.code: i.label for i in found.indicators}
    rows = []
    for peer in found.peers:
        top = sorted(peer.contributions.items(), key=lambda kv: -kv[1])[:2]
        rows.append(
            {
                "code": peer.code,
                "name": peer.name,
                "distance": peer.distance,
                "stability": peer.stability,
                "top": [{"label": labels[c], "share": s} for c, s in top],
            }
        )
    others = ",".join(p.code for p in found.peers[:5])
    return {
        "peers": rows,
        "indicators": [i.model_dump() for i in found.indicators],
        "candidates": found.candidates,
        "compare": f"/comparer?code={territory.code}&level={territory.level}&with={others}",
    }


@territory_section("peers", order=10, template="_territory_peers.html")
def _peers_section(cur: Any, cache: Any, territory: Any, lang: str) -> Any:
    if territory.level not in (
        "commune",
        "epci",
        "departement",
        "region",
        "arrondissement_municipal",
    ):
        return None
    return cache.get(
        ("peers-section", territory.level, territory.code),
        lambda: _section_value(cur, cache, territory),
    )
