"""HTML pages of the watch (veille): the reader, one item with its highlighted mentions, topic
boards, the signal timeline and the sources; in demo mode, the demo feeds under
``/demo/veille/``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from territoria.accounts import User
from territoria.api._deps import Cursor, State, field, require
from territoria.api._render import render
from territoria.errors import InvalidWatchQuery, TerritoriaError, UnknownWatchItem
from territoria.influence.dossiers import list_dossiers
from territoria.kb import territories as kt
from territoria.kb.people import person as person_page
from territoria.watch import demo, items, related, search, sources, topics
from territoria.watch.signals import KINDS, SignalList, signals

__all__ = ["demo_router", "router"]

router = APIRouter(include_in_schema=False)
demo_router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(require("read"))]
Writer = Annotated[User, Depends(require("act"))]

#: Latest watch items a territory, person or dossier page lists.
WATCH_SHOWN: Final = 5
#: Items per page of the reader.
PAGE_SIZE: Final = 30
#: Items shown per topic on the topic boards.
BOARD_ITEMS: Final = 5
#: Days of the topic boards' volume charts.
VOLUME_DAYS: Final = 42
#: Signals the timeline shows at most.
SIGNALS_SHOWN: Final = 30
#: Periods offered by the reader's filter (days).
PERIODS: Final = (7, 30, 90, 365)
#: Levels offered by the reader's territory filter.
LEVELS: Final = ("commune", "epci", "departement", "region")
#: What a source's last status means, in French (the templates translate these).
STATUS_LABELS: Final = {
    "ok": "collectée",
    "not_modified": "inchangée",
    "error": "erreur",
    "refused": "adresse refusée",
    "robots": "interdite par robots.txt",
    "timeout": "délai dépassé",
    "too_large": "trop volumineuse",
    "malformed": "flux mal formé",
}
KIND_LABELS: Final = {
    "feed": "flux RSS/Atom",
    "page": "page surveillée",
    "sitemap": "plan de site",
    "folder": "dossier de fichiers",
}
ItemId = Annotated[int, PathParam(ge=1, le=2**62, description="The item's id.")]


def _reader_url(request: Request, **changes: Any) -> str:
    kept = {k: v for k, v in request.query_params.items() if k != "offset"}
    kept.update({k: str(v) for k, v in changes.items() if v is not None})
    return "/veille?" + urlencode(kept)


@router.get("/veille", response_class=HTMLResponse)
def reader_page(
    request: Request,
    state: State,
    cur: Cursor,
    user: Reader,
    topic: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    territory: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9A-Za-z-]*$")] = None,
    level: Annotated[str | None, Query(max_length=40)] = None,
    person: Annotated[str | None, Query(max_length=40, pattern=r"^[0-9A-Za-z-]*$")] = None,
    scope: Annotated[str | None, Query(pattern="^(endogenous|exogenous|)$")] = None,
    days: Annotated[str | None, Query(pattern=r"^[0-9]{0,5}$")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The reader: the latest items, filtered by topic, territory (and what lies inside it),
    person, scope and period; each with its source, date, links and duplicate mention."""
    described: list[str] = []
    place = None
    if territory:
        with field("territory"):
            place = kt.find_territory(cur, territory, level=level or None)
        described.append(place.name)
    if person:
        with field("person"):
            described.append(person_page(cur, person).name)
    all_topics = topics.list_topics(cur)
    if topic is not None:
        described += [t.name for t in all_topics if t.id == topic] or [f"n° {topic}"]
    period = int(days) if days else None
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=period) if period else None
    with field("scope"):
        found = items.list_items(
            cur,
            topic=topic,
            territory=(place.level, place.code) if place else None,
            person=person or None,
            since=since,
            scope=scope or None,
            limit=PAGE_SIZE,
            offset=offset,
        )
    originals = related.originals(cur, found.items)
    context = {
        "items": [v.to_dict() for v in found.items],
        "originals": {k: v.to_dict() for k, v in originals.items()},
        "total": found.total,
        "home": found.home,
        "topics": all_topics,
        "levels": LEVELS,
        "periods": PERIODS,
        "described": described,
        "demo": any(demo.TAG in s.tags for s in sources.list_sources(cur)),
        "f": {
            "topic": topic,
            "territory": territory,
            "level": level,
            "person": person,
            "scope": scope,
            "days": period,
        },
        "previous": _reader_url(request, offset=max(0, offset - PAGE_SIZE)) if offset else None,
        "following": _reader_url(request, offset=offset + PAGE_SIZE)
        if offset + PAGE_SIZE < found.total
        else None,
    }
    return render(request, "watch.html", context)


def _item_page(
    request: Request,
    cur: Any,
    user: User,
    item_id: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    view = items.get_item(cur, item_id)
    links = view.links
    segments = [
        {"text": s.text, "link": links[s.link] if s.link is not None else None}
        for s in view.segments()
    ]
    duplicate = None
    if view.duplicate_of is not None:
        duplicate = related.originals(cur, [view]).get(view.duplicate_of)
    context = {
        "it": view.to_dict(),
        "segments": segments,
        "duplicate": duplicate.to_dict() if duplicate else None,
        "dossiers": list_dossiers(cur) if user.can("act") else [],
        "error": error,
    }
    return render(request, "watch_item.html", context, status_code=status)


def _marked(text: str, spans: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """``text`` cut into plain and found parts (``spans``: start and end of each word found)."""
    out: list[dict[str, Any]] = []
    position = 0
    for start, end in sorted(spans):
        if start < position:
            continue
        if start > position:
            out.append({"text": text[position:start], "found": False})
        out.append({"text": text[start:end], "found": True})
        position = end
    if position < len(text):
        out.append({"text": text[position:], "found": False})
    return out


@router.get("/veille/recherche", response_class=HTMLResponse)
def search_page(
    request: Request,
    state: State,
    cur: Cursor,
    user: Reader,
    q: Annotated[str, Query(max_length=2000)] = "",
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    """French full-text search of the items (accents ignored, stemming, BM25 ranking), with the
    Boolean syntax of topics; each hit with its snippet and the words found marked."""
    found = None
    error = None
    status = 200
    if q.strip():
        try:
            found = search.search(cur, q, limit=PAGE_SIZE, offset=offset)
        except InvalidWatchQuery as exc:
            error, status = str(exc), exc.http_status
    hits = [
        {
            "hit": h,
            "title": _marked(h.title, h.title_highlights),
            "snippet": _marked(h.snippet, h.highlights),
        }
        for h in (found.hits if found else [])
    ]
    following = None
    if found and offset + PAGE_SIZE < found.total:
        following = "/veille/recherche?" + urlencode(
            {"q": q, "offset": offset + PAGE_SIZE, "lang": request.query_params.get("lang", "")}
        )
    context = {"q": q, "found": found, "hits": hits, "error": error, "following": following}
    return render(request, "watch_search.html", context, status_code=status)


@router.get("/veille/articles/{item_id}", response_class=HTMLResponse)
def item_page(
    request: Request, state: State, cur: Cursor, user: Reader, item_id: ItemId
) -> Response:
    """One item: its text with the mentions of territories, persons and organisations
    highlighted (each opens its page and shows its score), the mentions table, the duplicate
    it repeats, the diff of a page change; a form to file it in a dossier."""
    return _item_page(request, cur, user, item_id)


@router.post("/veille/articles/{item_id}/dossier", response_class=HTMLResponse)
def file_item(
    request: Request,
    state: State,
    user: Writer,
    item_id: ItemId,
    dossier: Annotated[int, Form(ge=1, le=2**62)],
) -> Response:
    """File the item in a dossier (one of its links), then open the dossier."""
    try:
        with state.db.writer(actor=f"web:{user.name}") as cur:
            related.file_in_dossier(cur, item_id, dossier)
    except TerritoriaError as exc:
        if exc.http_status >= 500 or isinstance(exc, UnknownWatchItem):
            raise
        with state.db.reader() as cur:
            return _item_page(request, cur, user, item_id, error=str(exc), status=exc.http_status)
    lang = request.query_params.get("lang")
    target = f"/dossiers/{dossier}" + (f"?lang={lang}" if lang else "")
    return RedirectResponse(target, status_code=303)


@router.get("/veille/sujets", response_class=HTMLResponse)
def topics_page(request: Request, state: State, cur: Cursor, user: Reader) -> Response:
    """The topic boards: each saved topic with its query, filters, item count and latest
    items."""
    found = [
        (t, items.list_items(cur, topic=t.id, limit=BOARD_ITEMS).items)
        for t in topics.list_topics(cur)
    ]
    shown = [v for _, views in found for v in views]
    volumes = related.topic_volumes(cur, [t.id for t, _ in found], days=VOLUME_DAYS)
    context = {
        "boards": [
            {"topic": t, "entries": [v.to_dict() for v in views], "volume": volumes[t.id]}
            for t, views in found
        ],
        "volume_days": VOLUME_DAYS,
        "originals": {k: v.to_dict() for k, v in related.originals(cur, shown).items()},
    }
    return render(request, "watch_topics.html", context)


#: Width and row height of the signal timeline (SVG user units).
_CHART_WIDTH: Final = 720
_CHART_ROW: Final = 22
_CHART_LEFT: Final = 220


def _timeline(found: SignalList) -> dict[str, Any] | None:
    """Where the timeline draws each signal: one row per signal, its span from start to end
    over the period, a tick per item's day."""
    if found.start is None or found.end is None or not found.signals:
        return None
    start = found.start
    span = max((found.end - start).days + 1, 1)
    scale = (_CHART_WIDTH - _CHART_LEFT - 10) / span

    def x(day: dt.date) -> float:
        return round(_CHART_LEFT + (day - start).days * scale, 1)

    rows = []
    for index, signal in enumerate(found.signals):
        rows.append(
            {
                "y": 24 + index * _CHART_ROW,
                "label": signal.label,
                "x0": x(signal.start),
                "width": max(round((((signal.end - signal.start).days + 1) * scale), 1), 2.0),
                "ticks": sorted({x(i.day) + scale / 2 for i in signal.items}),
            }
        )
    weeks = [
        {"x": x(start + dt.timedelta(days=d)), "day": start + dt.timedelta(days=d)}
        for d in range(0, span, 7)
    ]
    return {
        "width": _CHART_WIDTH,
        "height": 34 + len(rows) * _CHART_ROW,
        "left": _CHART_LEFT,
        "rows": rows,
        "weeks": weeks,
    }


@router.get("/veille/signaux", response_class=HTMLResponse)
def signals_page(
    request: Request,
    state: State,
    cur: Cursor,
    user: Reader,
    kind: Annotated[str | None, Query(pattern="^(topic|territory|person|term|)$")] = None,
    days: Annotated[int, Query(ge=7, le=3650)] = 90,
) -> Response:
    """The signal timeline: bursts per topic, territory and person (Kleinberg's model) and
    emerging terms per territory over the period, each with its items."""
    since = dt.date.today() - dt.timedelta(days=days)
    with field("kind"):
        found = signals(cur, since=since, kinds=[kind] if kind else KINDS, limit=SIGNALS_SHOWN)
    listed = topics.list_topics(cur)
    volumes = related.topic_volumes(cur, [t.id for t in listed], days=VOLUME_DAYS)
    context = {
        "found": found,
        "chart": _timeline(found),
        "volumes": [(t, volumes[t.id]) for t in listed],
        "volume_days": VOLUME_DAYS,
        "kind": kind,
        "days": days,
        "periods": PERIODS[1:],
    }
    return render(request, "watch_signals.html", context)


@router.get("/veille/sources", response_class=HTMLResponse)
def sources_page(request: Request, state: State, cur: Cursor, user: Reader) -> Response:
    """The sources: kind, address, interval, last fetch and its status, failures, next
    fetch, and the latest attempts."""
    rows = [
        {"source": s, "fetches": sources.list_fetches(cur, s.id, limit=3)}
        for s in sources.list_sources(cur)
    ]
    context = {"rows": rows, "status_labels": STATUS_LABELS, "kind_labels": KIND_LABELS}
    return render(request, "watch_sources.html", context)


@demo_router.get("/demo/veille/{path:path}")
def demo_files(request: Request, path: str) -> Response:
    """The watch's demo feeds and pages (demo mode only), dated relative to today."""
    base = str(request.base_url).rstrip("/") + demo.DEMO_PATH
    found = demo.demo_file(path, base_url=base)
    if found is None:
        raise HTTPException(404, f"no demo file {path!r}")
    body, content_type = found
    return Response(body, media_type=content_type.split(";")[0])
