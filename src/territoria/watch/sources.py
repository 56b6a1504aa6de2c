"""Watch sources: the feeds, pages, sitemaps and folders the watch fetches.

A source is validated when added (address, kind, folder, CSS selector, interval, tags), its
deletion is soft and both are audited. OPML files (the format feed readers exchange) import
and export the feed sources; see :mod:`territoria.watch._opml`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from territoria.errors import InvalidWatchSource, UnknownWatchSource
from territoria.kb._transaction import transaction
from territoria.kb.audit import current_actor, record
from territoria.watch import _opml
from territoria.watch._model import SourceKind

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "DEFAULT_INTERVAL",
    "KINDS",
    "KIND_LABELS",
    "STATUS_LABELS",
    "FetchLogEntry",
    "OpmlImport",
    "WatchSource",
    "add_source",
    "export_opml",
    "get_source",
    "import_opml",
    "list_fetches",
    "list_sources",
    "remove_source",
]

#: Kinds of sources.
KINDS: tuple[str, ...] = get_args(SourceKind)
#: The kinds of sources as French pages and commands name them.
KIND_LABELS = {"feed": "flux", "page": "page", "sitemap": "plan de site", "folder": "dossier"}
#: The fetch statuses as French pages and commands name them.
STATUS_LABELS = {
    "ok": "réussie",
    "not_modified": "inchangée (304)",
    "error": "erreur",
    "refused": "refusée (adresse privée ou interdite)",
    "robots": "interdite par robots.txt",
    "timeout": "délai dépassé",
    "too_large": "trop volumineuse",
    "malformed": "mal formée",
}
#: Minutes between two fetches of a source unless told.
DEFAULT_INTERVAL = 60
#: Longest interval accepted (30 days).
MAX_INTERVAL = 30 * 24 * 60
_MAX_NAME = 300
_MAX_URL = 2000
_MAX_TAG = 60
_MAX_TAGS = 20


def _utc_now() -> dt.datetime:
    return dt.datetime.now(tz=dt.UTC).replace(tzinfo=None)


class WatchSource(BaseModel):
    """One row of ``watch_source``: a source and its fetching state (times in naive UTC).

    ``content_text`` (a page's watched text) is left out of the serialised form.
    """

    model_config = ConfigDict(frozen=True)

    id: int
    kind: str
    url: str
    name: str
    selector: str | None
    interval_minutes: int
    tags: list[str]
    etag: str | None
    last_modified: str | None
    content_hash: str | None = Field(exclude=True)
    content_text: str | None = Field(exclude=True)
    last_fetch_at: dt.datetime | None
    next_fetch_at: dt.datetime | None
    last_status: str | None
    last_error: str | None
    failures: int
    created_by: str
    created_at: dt.datetime
    deleted_at: dt.datetime | None = None
    deleted_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form without the watched text (times as ISO text)."""
        return self.model_dump(mode="json")


class FetchLogEntry(BaseModel):
    """One fetch attempt of a source (a row of ``watch_fetch``; status: ok, not_modified,
    error, refused, robots, timeout, too_large, malformed)."""

    model_config = ConfigDict(frozen=True)

    id: int
    source_id: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    http_status: int | None
    attempt: int
    items_new: int
    items_duplicate: int
    items_unchanged: int
    bytes: int | None
    error: str | None
    job_id: str | None


@dataclass(frozen=True)
class OpmlImport:
    """What an OPML import did: the sources added and the addresses skipped (with why)."""

    added: list[WatchSource] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


_FIELDS = tuple(WatchSource.model_fields)
_FETCH_FIELDS = tuple(FetchLogEntry.model_fields)


def _from_row(row: Sequence[Any]) -> WatchSource:
    values = dict(zip(_FIELDS, row, strict=True))
    values["tags"] = list(values["tags"] or [])
    return WatchSource(**values)


_COLUMNS = ", ".join(_FIELDS)


def get_source(
    con: duckdb.DuckDBPyConnection, source_id: int, *, deleted: bool = False
) -> WatchSource:
    """Return the source ``source_id`` (a deleted one only with ``deleted=True``).

    Raises
    ------
    UnknownWatchSource
    """
    row = con.execute(f"SELECT {_COLUMNS} FROM watch_source WHERE id = ?", [source_id]).fetchone()
    if row is None or (row[_FIELDS.index("deleted_at")] is not None and not deleted):
        msg = f"no watch source {source_id!r}: 'territoria watch sources list' shows their ids"
        raise UnknownWatchSource(msg)
    return _from_row(row)


def list_sources(
    con: duckdb.DuckDBPyConnection, *, deleted: bool = False, due_before: dt.datetime | None = None
) -> list[WatchSource]:
    """Return the live sources by id (the deleted ones instead with ``deleted=True``).

    ``due_before`` keeps the sources never fetched or whose next fetch is due by then.
    """
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM watch_source WHERE (deleted_at IS NOT NULL) = ? "
        "AND (?::TIMESTAMP IS NULL OR next_fetch_at IS NULL OR next_fetch_at <= ?) ORDER BY id",
        [deleted, due_before, due_before],
    ).fetchall()
    return [_from_row(r) for r in rows]


def _clean_url(url: str, kind: str) -> str:
    text = (url or "").strip()
    if kind == "folder":
        folder = Path(text).expanduser()
        if not text or not folder.is_dir():
            msg = f"folder {text!r} does not exist or is not a folder: give an existing folder"
            raise InvalidWatchSource(msg)
        return str(folder.resolve())
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        msg = (
            f"bad address {text!r}: a {kind} source needs an http:// or https:// address "
            "with a host name (e.g. https://www.ouest-france.fr/rss/une)"
        )
        raise InvalidWatchSource(msg)
    if len(text) > _MAX_URL or any(c.isspace() for c in text):
        msg = f"bad address {text[:80]!r}: no spaces, at most {_MAX_URL} characters"
        raise InvalidWatchSource(msg)
    return text


def _clean_selector(selector: str | None, kind: str) -> str | None:
    text = (selector or "").strip() or None
    if text is None:
        return None
    if kind != "page":
        msg = f"a CSS selector ({text!r}) only applies to a page source, not to a {kind}"
        raise InvalidWatchSource(msg)
    from cssselect import SelectorError
    from lxml.cssselect import CSSSelector

    try:
        CSSSelector(text)
    except (SelectorError, ValueError) as exc:
        msg = f"bad CSS selector {text!r}: {exc} (e.g. 'main article', '#actualites')"
        raise InvalidWatchSource(msg) from None
    return text


def _clean_tags(tags: Iterable[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        text = " ".join(str(tag).split())
        if not text:
            continue
        if len(text) > _MAX_TAG:
            msg = f"tag {text[:80]!r} is too long: at most {_MAX_TAG} characters"
            raise InvalidWatchSource(msg)
        if text not in out:
            out.append(text)
    if len(out) > _MAX_TAGS:
        msg = f"{len(out)} tags: a source takes at most {_MAX_TAGS}"
        raise InvalidWatchSource(msg)
    return out


def _default_name(url: str, kind: str) -> str:
    if kind == "folder":
        return Path(url).name or url
    parts = urlsplit(url)
    return (parts.hostname or url) + (parts.path.rstrip("/") if parts.path != "/" else "")


def _validated(
    *,
    url: str,
    kind: str,
    name: str | None,
    selector: str | None,
    interval: int,
    tags: Iterable[str],
) -> tuple[str, str, str | None, int, list[str]]:
    if kind not in KINDS:
        msg = f"unknown kind of source {kind!r}: use one of {', '.join(KINDS)}"
        raise InvalidWatchSource(msg)
    clean = _clean_url(url, kind)
    if not 1 <= interval <= MAX_INTERVAL:
        msg = f"interval {interval!r} minutes: give between 1 and {MAX_INTERVAL} (30 days)"
        raise InvalidWatchSource(msg)
    title = " ".join((name or "").split()) or _default_name(clean, kind)
    if len(title) > _MAX_NAME:
        msg = f"name {title[:80]!r}… is too long: at most {_MAX_NAME} characters"
        raise InvalidWatchSource(msg)
    return clean, title, _clean_selector(selector, kind), interval, _clean_tags(tags)


def _same_source(con: duckdb.DuckDBPyConnection, kind: str, url: str) -> int | None:
    row = con.execute(
        "SELECT id FROM watch_source WHERE deleted_at IS NULL AND kind = ? AND url = ?",
        [kind, url],
    ).fetchone()
    return int(row[0]) if row else None


def _insert(
    con: duckdb.DuckDBPyConnection,
    values: tuple[str, str, str | None, int, list[str]],
    kind: str,
    author: str,
) -> int:
    url, name, selector, interval, tags = values
    row = con.execute(
        "INSERT INTO watch_source (kind, url, name, selector, interval_minutes, tags, "
        "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [kind, url, name, selector, interval, tags, author, _utc_now()],
    ).fetchone()
    assert row is not None
    source_id = int(row[0])
    record(
        con,
        "watch.source.add",
        target=str(source_id),
        detail={"kind": kind, "url": url, "name": name},
    )
    return source_id


def add_source(
    con: duckdb.DuckDBPyConnection,
    url: str,
    *,
    kind: str,
    name: str | None = None,
    selector: str | None = None,
    interval: int = DEFAULT_INTERVAL,
    tags: Iterable[str] = (),
    created_by: str | None = None,
) -> WatchSource:
    """Add a source (fetched at the next run, then every ``interval`` minutes); return it.

    Parameters
    ----------
    url
        The feed, page or sitemap address (http or https), or a folder's path.
    kind
        ``feed`` (RSS/Atom), ``page`` (change detection), ``sitemap`` or ``folder``.
    name
        Default: the address's host and path, or the folder's name.
    selector
        ``page``: the CSS selector of the part watched (default: the whole page's text).

    Raises
    ------
    InvalidWatchSource
        Bad address, unknown kind, missing folder, bad selector or interval, or the same
        source already watched. Nothing is written.
    """
    values = _validated(
        url=url, kind=kind, name=name, selector=selector, interval=interval, tags=tags
    )
    with transaction(con):
        existing = _same_source(con, kind, values[0])
        if existing is not None:
            msg = f"{values[0]!r} is already watched as source {existing} ({kind})"
            raise InvalidWatchSource(msg)
        source_id = _insert(con, values, kind, created_by or current_actor())
    return get_source(con, source_id)


def remove_source(con: duckdb.DuckDBPyConnection, source_id: int) -> WatchSource:
    """Delete a source softly (it is no longer fetched; its items stay); return it.

    Raises
    ------
    UnknownWatchSource
    """
    with transaction(con):
        source = get_source(con, source_id)
        con.execute(
            "UPDATE watch_source SET deleted_at = ?, deleted_by = ? WHERE id = ?",
            [_utc_now(), current_actor(), source_id],
        )
        record(
            con,
            "watch.source.delete",
            target=str(source_id),
            detail={"kind": source.kind, "url": source.url, "name": source.name},
        )
    return get_source(con, source_id, deleted=True)


def list_fetches(
    con: duckdb.DuckDBPyConnection, source_id: int, *, limit: int = 50
) -> list[FetchLogEntry]:
    """Return the latest fetch attempts of a source, newest first.

    Raises
    ------
    UnknownWatchSource
    """
    get_source(con, source_id, deleted=True)
    rows = con.execute(
        f"SELECT {', '.join(_FETCH_FIELDS)} FROM watch_fetch "
        "WHERE source_id = ? ORDER BY started_at DESC, id DESC LIMIT ?",
        [source_id, max(1, min(limit, 1000))],
    ).fetchall()
    return [FetchLogEntry(**dict(zip(_FETCH_FIELDS, r, strict=True))) for r in rows]


def import_opml(
    con: duckdb.DuckDBPyConnection,
    data: bytes,
    *,
    interval: int = DEFAULT_INTERVAL,
    created_by: str | None = None,
) -> OpmlImport:
    """Add the feeds of an OPML file (``xmlUrl``; ``title``/``text`` as name; ``category``
    and enclosing folders as tags); feeds already watched or invalid are skipped, with why.

    Raises
    ------
    InvalidWatchSource
        The file is not OPML (nothing is written).
    """
    outlines = _opml.parse_opml(data)
    author = created_by or current_actor()
    added: list[int] = []
    skipped: list[str] = []
    with transaction(con):
        for outline in outlines:
            try:
                values = _validated(
                    url=outline.url,
                    kind="feed",
                    name=outline.title,
                    selector=None,
                    interval=interval,
                    tags=outline.tags,
                )
            except InvalidWatchSource as exc:
                skipped.append(f"{outline.url}: {exc}")
                continue
            existing = _same_source(con, "feed", values[0])
            if existing is not None:
                skipped.append(f"{values[0]}: already watched as source {existing}")
                continue
            added.append(_insert(con, values, "feed", author))
    return OpmlImport(added=[get_source(con, i) for i in added], skipped=skipped)


def export_opml(con: duckdb.DuckDBPyConnection) -> str:
    """Return the live feed sources as an OPML 2.0 document (tags as ``category``)."""
    feeds = [s for s in list_sources(con) if s.kind == "feed"]
    return _opml.write_opml(
        [_opml.Outline(url=s.url, title=s.name, tags=tuple(s.tags)) for s in feeds]
    )
