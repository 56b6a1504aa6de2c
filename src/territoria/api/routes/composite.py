"""Composite indices through the web: REST (build as a job, show, list, delete) and the pages
``/indices`` (list and form) and ``/indices/{name}`` (scores with rank-interval bars, Sobol'
chart, method and sources in French). See :mod:`territoria.analysis.composite`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from territoria.accounts import User
from territoria.analysis import composite as lib
from territoria.api._deps import AppState, Cursor, State, require
from territoria.api._render import render
from territoria.api._sections import territory_section
from territoria.api.routes.influence import JobOut
from territoria.errors import TerritoriaError, UnknownJob
from territoria.kb.jobs import Progress, Work

__all__ = ["JOB_KIND", "build_work", "routers"]

router = APIRouter(prefix="/api/v1", tags=["composite"], dependencies=[Depends(require("read"))])
pages = APIRouter(include_in_schema=False)
routers = (router, pages)
Reader = Annotated[User, Depends(require("read"))]
Writer = Annotated[User, Depends(require("act"))]
NamePath = Annotated[str, PathParam(min_length=1, max_length=80, description="Index name.")]
JOB_KIND = "composite-build"
SHOWN = 100  # rows of the index page


class IndicatorIn(BaseModel):
    """One indicator of a new index."""

    code: str = Field(min_length=1, max_length=80)
    polarity: Literal[1, -1] = Field(default=1, description="1: higher is better; -1: lower.")
    weight: float | None = Field(default=None, ge=0, description="User weight (all or none).")


class IndexIn(BaseModel):
    """A new index (or a new build of one): every choice of the pipeline."""

    name: str = Field(min_length=1, max_length=80)
    level: str = Field(min_length=1, max_length=40)
    indicators: list[IndicatorIn] = Field(min_length=1, max_length=40)
    weighting: Literal["equal", "user", "pca"] = "equal"
    rescale_weights: bool = False
    normalisation: Literal["minmax", "zscore", "rank"] = "minmax"
    aggregation: Literal["arithmetic", "geometric"] = "arithmetic"
    imputation: Literal["none", "mean", "median"] = "none"
    impute_by: Literal["epci", "departement", "region"] | None = None
    treat_outliers: bool = True
    runs: int = Field(default=1000, ge=0, le=20000)
    noise: float = Field(default=0.25, ge=0, lt=1)
    seed: int = Field(default=1, ge=0, le=2**31 - 1)
    period: str | None = Field(default=None, max_length=20)
    min_coverage: float = Field(default=0.5, gt=0, le=1)
    min_share: float = Field(default=0.5, gt=0, le=1)
    pillars: dict[str, list[str]] | None = Field(
        default=None, description="Two levels: {pillar: [indicator codes]}; pillars weigh the same."
    )

    def method(self) -> lib.Method:
        """The library's method (weights given for all indicators or none)."""
        given = {i.code: i.weight for i in self.indicators if i.weight is not None}
        return lib.Method(
            indicators=tuple(i.code for i in self.indicators),
            polarity=tuple(i.polarity for i in self.indicators),
            weighting="user" if given else self.weighting,
            weights=given or None,
            rescale_weights=self.rescale_weights,
            normalisation=self.normalisation,
            aggregation=self.aggregation,
            imputation=self.imputation,
            impute_by=self.impute_by,
            treat_outliers=self.treat_outliers,
            runs=self.runs,
            noise=self.noise,
            seed=self.seed,
            min_coverage=self.min_coverage,
            min_share=self.min_share,
            pillars=self.pillars,
        )


class IndexOut(BaseModel):
    """A built index."""

    name: str
    level: str
    period: str | None
    method: dict[str, Any]
    built_at: str
    built_by: str
    indicators: list[lib.IndicatorUse]
    scores: list[lib.IndexScore]
    sensitivity: list[lib.Sensitivity]
    runs: int
    design: str | None
    seed: int
    ranked: int
    dropped: int


class IndexSummaryOut(BaseModel):
    """A saved index in the list."""

    name: str
    level: str
    indicators: list[str]
    created_by: str
    built_at: str | None
    ranked: int | None


def _out(result: lib.IndexResult) -> IndexOut:
    data = asdict(result)
    data["built_at"] = result.built_at.isoformat()
    return IndexOut.model_validate(data)


def build_work(state: AppState) -> Work:
    """The work of a build job: compute from a reader, save through the writer."""

    def work(params: dict[str, Any], progress: Progress) -> Any:
        body = IndexIn.model_validate(params["body"])
        progress(step="calcul")
        with state.db.reader() as cur:
            pending = lib.compute_index(
                cur, body.name, level=body.level, method=body.method(), period=body.period
            )
        with state.db.writer(actor=f"web:{params['owner']}") as con:
            result = lib.save_index(con, pending)
        return {"name": result.name, "ranked": result.ranked, "runs": result.runs}

    return work


def register_jobs(state: AppState) -> None:
    """Register the build job's work when the application is made (a queued build resumes)."""
    state.jobs.register(JOB_KIND, build_work(state))


def submit_build(state: AppState, user: User, body: IndexIn) -> dict[str, Any]:
    """Check the definition at once (bad indicators: 4xx now), then queue the build."""
    check = body.model_copy(update={"runs": 0})
    with state.db.reader() as cur:
        lib.compute_index(
            cur, body.name, level=body.level, method=check.method(), period=body.period
        )
    params = {"body": body.model_dump(), "owner": user.name}
    return state.jobs.submit(JOB_KIND, user.name, params).to_dict()


@router.post(
    "/indices",
    summary="Build an index (a job)",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
)
def build(body: IndexIn, state: State, user: Writer) -> dict[str, Any]:
    """Validate the definition (422/404 at once) and queue the build; poll
    ``GET /api/v1/indices/jobs/{job_id}``, then read ``GET /api/v1/indices/{name}``."""
    return submit_build(state, user, body)


@router.get("/indices/jobs/{job_id}", summary="A build job", response_model=JobOut)
def build_job(
    state: State, job_id: Annotated[str, PathParam(min_length=1, max_length=64)]
) -> dict[str, Any]:
    """The build job's status and, once done, the index's name, territories and runs."""
    job = state.jobs.get(job_id)
    if job.kind != JOB_KIND:
        raise UnknownJob(f"no index build job {job_id!r}: POST /api/v1/indices starts one")
    return job.to_dict()


@router.get("/indices", summary="Saved indices", response_model=list[IndexSummaryOut])
def indices(cur: Cursor) -> list[IndexSummaryOut]:
    """The saved (live) indices with their last build."""
    return [
        IndexSummaryOut(
            name=i.name,
            level=i.level,
            indicators=list(i.indicators),
            created_by=i.created_by,
            built_at=i.built_at.isoformat() if i.built_at else None,
            ranked=i.ranked,
        )
        for i in lib.list_indices(cur)
    ]


@router.get(
    "/indices/{name}",
    summary="An index's scores, rank intervals and sensitivity",
    response_model=IndexOut,
)
def index(
    cur: Cursor, name: NamePath, limit: Annotated[int | None, Query(ge=1, le=100_000)] = None
) -> IndexOut:
    """The latest build: scores by rank (``limit`` best, or all), method, sources, Sobol'."""
    return _out(lib.show_index(cur, name, limit=limit))


@router.delete("/indices/{name}", summary="Delete an index (soft)", status_code=204)
def delete(name: NamePath, state: State, user: Writer) -> Response:
    """Soft-delete the saved index (audited; its builds are kept)."""
    with state.db.writer(actor=f"web:{user.name}") as con:
        lib.delete_index(con, name)
    return Response(status_code=204)


@pages.get("/indices", response_class=HTMLResponse)
def indices_page(request: Request, cur: Cursor, user: Reader) -> Response:
    """The saved indices and a form to build one."""
    return _list_page(request, cur, user)


def _list_page(
    request: Request, cur: Any, user: User, *, error: str | None = None, status_code: int = 200
) -> Response:
    context = {"indices": lib.list_indices(cur), "can_act": user.can("act"), "error": error}
    return render(request, "indices.html", context, status_code=status_code)


@pages.post("/indices", response_class=HTMLResponse)
def indices_form(
    request: Request,
    state: State,
    cur: Cursor,
    user: Writer,
    name: Annotated[str, Form(max_length=80)],
    level: Annotated[str, Form(max_length=40)],
    indicators: Annotated[str, Form(max_length=2000)],
    normalisation: Annotated[Literal["minmax", "zscore", "rank"], Form()] = "minmax",
    aggregation: Annotated[Literal["arithmetic", "geometric"], Form()] = "arithmetic",
    runs: Annotated[int, Form(ge=0, le=20000)] = 1000,
) -> Response:
    """Queue a build from the form ('A:+,B:-') and go to the index's page."""
    try:
        codes, polarity = lib.parse_indicators(indicators)
        body = IndexIn(
            name=name,
            level=level,
            normalisation=normalisation,
            aggregation=aggregation,
            runs=runs,
            indicators=[
                IndicatorIn(code=c, polarity=1 if p > 0 else -1)
                for c, p in zip(codes, polarity, strict=True)
            ],
        )
        job = submit_build(state, user, body)
    except TerritoriaError as exc:
        return _list_page(request, cur, user, error=str(exc), status_code=exc.http_status)
    return RedirectResponse(
        f"/indices/{quote(name.strip(), safe='')}?job={job['id']}", status_code=303
    )


@pages.get("/indices/{name}", response_class=HTMLResponse)
def index_page(
    request: Request,
    cur: Cursor,
    state: State,
    user: Reader,
    name: NamePath,
    job: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The index: scores with rank-interval bars, Sobol' indices, method and sources."""
    pending = state.jobs.get(job).to_dict() if job else None
    if pending and pending["status"] in ("queued", "running"):
        return render(request, "index_pending.html", {"name": name, "job": pending})
    result = lib.show_index(cur, name, limit=SHOWN)
    return render(request, "index.html", {"r": result, "shown": SHOWN, "job": pending})


@territory_section("indices", order=30, template="_territory_indices.html")
def _indices_section(cur: Any, cache: Any, territory: Any, lang: str) -> Any:
    ranks = cache.get(
        ("composite-ranks", territory.level, territory.code),
        lambda: lib.territory_ranks(cur, territory.level, territory.code),
    )
    return {"ranks": ranks} if ranks else None
