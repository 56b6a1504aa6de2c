"""REST routes of the watch's sources and fetching under ``/api/v1/watch``
(see :mod:`territoria.watch.sources` and :mod:`territoria.watch.fetch`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field

from territoria.accounts import User
from territoria.api._deps import Cursor, State, require
from territoria.api.routes.influence import JobOut
from territoria.errors import InvalidWatchSource, UnknownJob
from territoria.watch import sources as lib

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/watch", tags=["watch"], dependencies=[Depends(require("read"))])

Writer = Annotated[User, Depends(require("act"))]
SourceId = Annotated[int, PathParam(ge=1, le=2**53, description="Id of the source.")]
#: Largest OPML file accepted.
MAX_OPML_BYTES = 2_000_000


class SourceIn(BaseModel):
    """A new source: a feed, a page to watch for changes, a sitemap, or a folder."""

    url: str = Field(min_length=1, max_length=2000, description="Address, or a folder's path.")
    kind: str = Field(description="feed, page, sitemap or folder.", max_length=20)
    name: str | None = Field(default=None, max_length=300)
    selector: str | None = Field(
        default=None, max_length=500, description="page: the CSS selector of the part watched."
    )
    interval: int = Field(default=lib.DEFAULT_INTERVAL, ge=1, le=lib.MAX_INTERVAL)
    tags: list[str] = Field(default_factory=list, max_length=20)


class FetchIn(BaseModel):
    """What to fetch: one source, or every due source (``source_id`` left out)."""

    source_id: int | None = Field(default=None, ge=1, le=2**53)


class OpmlImportOut(BaseModel):
    """What an OPML import did."""

    added: list[lib.WatchSource]
    skipped: list[str]


@router.get("/sources", summary="Watch sources", response_model=list[lib.WatchSource])
def sources(
    cur: Cursor,
    deleted: Annotated[bool, Query(description="List the deleted ones instead.")] = False,
) -> list[lib.WatchSource]:
    """Return the sources with their last status, failures and next fetch."""
    return lib.list_sources(cur, deleted=deleted)


@router.post(
    "/sources",
    status_code=status.HTTP_201_CREATED,
    summary="Add a watch source",
    response_model=lib.WatchSource,
)
def add(body: SourceIn, state: State, user: Writer) -> lib.WatchSource:
    """Add a source (422 with the reason for a bad address, kind, folder or selector)."""
    with state.db.writer(actor=f"web:{user.name}") as cur:
        source = lib.add_source(
            cur,
            body.url,
            kind=body.kind,
            name=body.name,
            selector=body.selector,
            interval=body.interval,
            tags=body.tags,
            created_by=user.name,
        )
    return source


@router.delete(
    "/sources/{source_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a watch source",
)
def remove(source_id: SourceId, state: State, user: Writer) -> Response:
    """Remove a source softly: it is no longer fetched, its items stay (404 if unknown)."""
    with state.db.writer(actor=f"web:{user.name}") as cur:
        lib.remove_source(cur, source_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/sources/{source_id}/fetches",
    summary="A source's fetch log",
    response_model=list[lib.FetchLogEntry],
)
def fetches(
    cur: Cursor,
    source_id: SourceId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[lib.FetchLogEntry]:
    """Return the latest fetch attempts of a source, newest first."""
    return lib.list_fetches(cur, source_id, limit=limit)


@router.get(
    "/sources.opml",
    summary="The feed sources as OPML",
    response_class=Response,
    responses={200: {"content": {"text/x-opml": {}}}},
)
def export(cur: Cursor) -> Response:
    """Return the feed sources as an OPML 2.0 file (for a feed reader)."""
    return Response(
        lib.export_opml(cur),
        media_type="text/x-opml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="territoria-veille.opml"'},
    )


@router.post(
    "/sources.opml",
    summary="Import feeds from OPML",
    response_model=OpmlImportOut,
    openapi_extra={"requestBody": {"content": {"text/x-opml": {"schema": {"type": "string"}}}}},
)
async def import_opml(request: Request, state: State, user: Writer) -> OpmlImportOut:
    """Add the feeds of an OPML file sent as the request body (those already watched are
    skipped, with why)."""
    data = await request.body()
    if len(data) > MAX_OPML_BYTES:
        msg = f"the OPML file is {len(data):,} bytes: at most {MAX_OPML_BYTES:,}"
        raise InvalidWatchSource(msg)

    def run() -> lib.OpmlImport:
        with state.db.writer(actor=f"web:{user.name}") as cur:
            return lib.import_opml(cur, data, created_by=user.name)

    import anyio.to_thread

    done = await anyio.to_thread.run_sync(run)
    return OpmlImportOut(added=done.added, skipped=done.skipped)


@router.post(
    "/fetch",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Fetch now (a 'watch-fetch' job)",
    response_model=JobOut,
)
def fetch(body: FetchIn, state: State, cur: Cursor, user: Writer) -> dict[str, Any]:
    """Submit a fetch of one source, or of every due source; follow it with
    ``GET /api/v1/watch/fetch/{job_id}`` (404 for an unknown source)."""
    params: dict[str, Any] = {}
    if body.source_id is not None:
        lib.get_source(cur, body.source_id)
        params["source_id"] = body.source_id
    return state.jobs.submit("watch-fetch", user.name, params).to_dict()


@router.get("/fetch/{job_id}", summary="A fetch job's progress and result", response_model=JobOut)
def fetch_job(
    state: State, job_id: Annotated[str, PathParam(min_length=1, max_length=64)]
) -> dict[str, Any]:
    """Return the fetch job with, once done, the outcome per source."""
    job = state.jobs.get(job_id)
    if job.kind != "watch-fetch":
        msg = f"no fetch job {job_id!r}: POST /api/v1/watch/fetch starts one"
        raise UnknownJob(msg)
    return job.to_dict()
