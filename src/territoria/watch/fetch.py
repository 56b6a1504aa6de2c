"""Fetching the watch's sources: collect outside any transaction, then store at once.

:func:`fetch_source` and :func:`fetch_due` take either a plain connection (a CLI command) or
a function returning a context manager of a connection (the server's
``lambda: db.writer(actor=...)``, whose write lock must not be held while the network is
read). A fetch runs in three steps:

1. read the source and what it has already seen (short);
2. fetch and parse, with no connection held (:mod:`territoria.watch._http` for the network);
3. hand the documents to :func:`territoria.watch.pipeline.ingest`, which stores the items of
   one call in one transaction, then record the source's new state (ETag, Last-Modified,
   watched text, seen addresses and files, status, failures, next fetch) and the fetch log in
   a second transaction.

The source's state is written after its items are committed, never before: a crash between
the two makes the next fetch see the same documents again, which the pipeline reports as
unchanged or duplicates, whereas the other order would lose them.

The problems recorded (``last_error``, the fetch log, the report's ``errors``) are written
in French: the watch's pages and commands show them to users.

A failure (error, timeout, too large, malformed, refused, robots) increases the source's
``failures`` and pushes its next fetch back: ``interval × 2^failures`` minutes, at most a day
(or the interval, if longer); a success resets both.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import duckdb

from territoria.errors import TerritoriaError
from territoria.kb._transaction import transaction
from territoria.settings import Settings
from territoria.watch import _feeds, _folders, _pages
from territoria.watch._http import (
    Attempt,
    Fetcher,
    HttpPolicy,
    HttpResult,
    charset_of,
    decode_text,
)
from territoria.watch._model import Document
from territoria.watch.sources import STATUS_LABELS, WatchSource, get_source, list_sources

if TYPE_CHECKING:
    from territoria.kb._database import Database
    from territoria.kb.jobs import Progress, Work
    from territoria.watch.pipeline import IngestReport

__all__ = [
    "Collected",
    "FetchReport",
    "SourceFetch",
    "collect",
    "due_fetches",
    "fetch_due",
    "fetch_source",
    "fetch_work",
]

log = logging.getLogger("territoria.watch")

Connector = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
#: A plain connection, or a function giving a context manager of one (``db.writer``).
Target = duckdb.DuckDBPyConnection | Connector

#: Statuses that are not failures.
_HEALTHY = frozenset({"ok", "not_modified"})
#: Child sitemaps an index fetch reads at most.
_MAX_CHILD_SITEMAPS = 50
#: Longest backoff, in minutes, unless the interval is longer.
_MAX_BACKOFF = 24 * 60


def _utc_now() -> datetime:
    return datetime.now(tz=UTC).replace(tzinfo=None)


def _connector(target: Target) -> Connector:
    if isinstance(target, duckdb.DuckDBPyConnection):
        con = target
        return lambda: contextlib.nullcontext(con)
    return target


@dataclass
class Collected:
    """What fetching one source gave, before anything is written."""

    source: WatchSource
    status: str
    documents: list[Document] = field(default_factory=list)
    http_status: int | None = None
    unchanged: int = 0  # known unchanged without the pipeline (same body, same file)
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # per-document problems
    state: dict[str, Any] = field(default_factory=dict)  # watch_source columns to set
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # watch_seen rows
    tries: list[Attempt] = field(default_factory=list)
    bytes: int | None = None


@dataclass(frozen=True)
class SourceFetch:
    """The outcome of fetching one source."""

    source_id: int
    name: str
    kind: str
    status: str
    http_status: int | None
    new: int
    duplicates: int
    unchanged: int
    item_ids: list[int]
    errors: list[str]
    error: str | None
    failures: int
    next_fetch_at: datetime
    attempts: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the next fetch as ISO text, UTC)."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["next_fetch_at"] = self.next_fetch_at.isoformat(timespec="seconds")
        return data


@dataclass(frozen=True)
class FetchReport:
    """The outcome of a fetch run, per source."""

    sources: list[SourceFetch] = field(default_factory=list)

    @property
    def new(self) -> int:
        """New items, all sources together."""
        return sum(s.new for s in self.sources)

    @property
    def duplicates(self) -> int:
        """Duplicates found, all sources together."""
        return sum(s.duplicates for s in self.sources)

    @property
    def unchanged(self) -> int:
        """Items already known, all sources together."""
        return sum(s.unchanged for s in self.sources)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "new": self.new,
            "duplicates": self.duplicates,
            "unchanged": self.unchanged,
            "sources": [s.to_dict() for s in self.sources],
        }


# ---------------------------------------------------------------------------- collecting


def _failure_note(url: str, result: HttpResult) -> str:
    label = STATUS_LABELS.get(result.status, result.status)
    return f"{url} : {label}" + (f" ({result.error})" if result.error else "")


def _failed(source: WatchSource, result: HttpResult) -> Collected:
    return Collected(
        source=source,
        status=result.status,
        http_status=result.http_status,
        error=result.error,
        tries=result.tries,
    )


def _fetched(source: WatchSource, result: HttpResult, status: str = "ok") -> Collected:
    return Collected(
        source=source,
        status=status,
        http_status=result.http_status,
        tries=result.tries,
        bytes=len(result.body),
        state={"etag": result.etag, "last_modified": result.last_modified},
    )


def _collect_feed(
    source: WatchSource, fetcher: Fetcher, target: Target, now: datetime, pages: int
) -> Collected:
    result = fetcher.get(source.url, etag=source.etag, last_modified=source.last_modified)
    if result.status == "not_modified":
        return Collected(source=source, status="not_modified", http_status=304, tries=result.tries)
    if result.status != "ok":
        return _failed(source, result)
    parsed = _feeds.parse_feed(
        result.body, url=result.url, content_type=result.content_type, charset=result.charset
    )
    if parsed.malformed:
        out = _failed(source, result)
        out.status, out.error, out.bytes = "malformed", parsed.problem, len(result.body)
        return out
    out = _fetched(source, result)
    digest = hashlib.sha256(result.body).hexdigest()
    out.state["content_hash"] = digest
    if parsed.problem:
        out.notes.append(parsed.problem)
    if digest == source.content_hash:  # a server without conditional GET, same feed
        out.unchanged = len(parsed.entries)
        return out
    links = [e["link"] for e in parsed.entries]
    with _connector(target)() as con:
        known = {
            row[0]
            for row in con.execute(
                "SELECT url FROM watch_item WHERE source_id = ? AND list_contains(?, url)",
                [source.id, links],
            ).fetchall()
        }
    for entry in parsed.entries:
        body: HttpResult | None = None
        if pages > 0 and "content" not in entry and entry["link"] not in known:
            pages -= 1  # the entry's page, for its full text
            page = fetcher.get(entry["link"])
            if page.status == "ok":
                body = page
            else:
                out.notes.append(_failure_note(entry["link"], page))
        out.documents.append(
            Document(
                source_id=source.id,
                kind="article",
                url=entry["link"],
                fetched_at=now,
                body=body.body if body else None,
                content_type=body.content_type if body else None,
                encoding=charset_of(body.body, body.charset) if body else None,
                entry=entry,
            )
        )
    return out


def _collect_page(source: WatchSource, fetcher: Fetcher, now: datetime) -> Collected:
    result = fetcher.get(source.url, etag=source.etag, last_modified=source.last_modified)
    if result.status == "not_modified":
        return Collected(
            source=source, status="not_modified", http_status=304, unchanged=1, tries=result.tries
        )
    if result.status != "ok":
        return _failed(source, result)
    html = decode_text(result.body, result.charset)
    try:
        text = _pages.watched_text(html, source.selector)
    except _pages.SelectorMatchesNothing as exc:
        out = _failed(source, result)
        out.status, out.error = "error", f"{exc} : vérifiez le sélecteur de la source {source.id}"
        return out
    if not text.strip():
        out = _failed(source, result)
        out.status, out.error = "malformed", "la page n'a aucun texte à surveiller"
        return out
    out = _fetched(source, result)
    digest = _pages.text_hash(text)
    out.state.update(content_hash=digest, content_text=text)
    if source.content_hash is None:  # the first fetch records the state: no change yet
        return out
    if digest == source.content_hash:
        out.unchanged = 1
        return out
    diff = _pages.text_diff(source.content_text or "", text, name=source.name)
    added = [ln[1:] for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("++")]
    removed = [ln[1:] for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("--")]
    summary = "\n".join(added) or "Supprimé : " + "\n".join(removed)
    out.documents.append(
        Document(
            source_id=source.id,
            kind="change",
            url=result.url,
            fetched_at=now,
            body=result.body,
            content_type=result.content_type,
            encoding=charset_of(result.body, result.charset),
            entry={"title": f"Modification de la page « {source.name} »"},
            diff=diff,
            text=summary,
        )
    )
    return out


def _sitemap_addresses(
    source: WatchSource, fetcher: Fetcher, first: _feeds.Sitemap, out: Collected
) -> list[tuple[str, str | None]]:
    """The addresses of a sitemap, or of the sitemaps of an index, of the source's host."""
    urls = list(first.urls)
    pending, read = list(first.children), 0
    while pending:
        child = pending.pop(0)
        if read >= _MAX_CHILD_SITEMAPS:
            out.notes.append(
                f"plus de {_MAX_CHILD_SITEMAPS} plans de site : les autres sont laissés"
            )
            break
        read += 1
        fetched = fetcher.get(child)
        if fetched.status != "ok":
            out.notes.append(_failure_note(child, fetched))
            continue
        parsed = _feeds.parse_sitemap(fetched.body, limit=fetcher.policy.max_bytes * 20)
        if parsed.problem:
            out.notes.append(f"{child} : {parsed.problem}")
        urls.extend(parsed.urls)
        pending.extend(parsed.children)
    # the sitemap protocol: a sitemap lists addresses of its own host only
    host = urlsplit(source.url).hostname
    kept = [(u, m) for u, m in urls if urlsplit(u).hostname == host]
    if len(kept) < len(urls):
        out.notes.append(f"{len(urls) - len(kept)} adresse(s) d'autres hôtes écartée(s)")
    return list(dict(kept).items())


def _collect_sitemap(
    source: WatchSource, fetcher: Fetcher, seen: dict[str, str | None], now: datetime, limit: int
) -> Collected:
    result = fetcher.get(source.url, etag=source.etag, last_modified=source.last_modified)
    if result.status == "not_modified":
        return Collected(source=source, status="not_modified", http_status=304, tries=result.tries)
    if result.status != "ok":
        return _failed(source, result)
    first = _feeds.parse_sitemap(result.body, limit=fetcher.policy.max_bytes * 20)
    if first.problem:
        out = _failed(source, result)
        out.status, out.error, out.bytes = "malformed", first.problem, len(result.body)
        return out
    out = _fetched(source, result)
    addresses = _sitemap_addresses(source, fetcher, first, out)
    new = [(u, m) for u, m in addresses if u not in seen]
    out.unchanged = len(addresses) - len(new)
    new.sort(key=lambda pair: pair[1] or "", reverse=True)  # the latest first
    if len(new) > limit:
        out.notes.append(
            f"{len(new) - limit} nouvelle(s) adresse(s) laissée(s) pour la prochaine collecte"
        )
    for url, lastmod in new[:limit]:
        page = fetcher.get(url)
        if page.status == "ok":
            out.documents.append(
                Document(
                    source_id=source.id,
                    kind="document",
                    url=url,
                    fetched_at=now,
                    body=page.body,
                    content_type=page.content_type,
                    encoding=charset_of(page.body, page.charset),
                )
            )
            out.seen.append((url, lastmod))
        else:
            out.notes.append(_failure_note(url, page))
            if page.status in ("refused", "robots") or 400 <= (page.http_status or 0) < 500:
                out.seen.append((url, lastmod))  # permanent: not tried again
    return out


def _collect_folder(
    source: WatchSource, seen: dict[str, str | None], now: datetime, settings: Settings
) -> Collected:
    try:
        scan = _folders.scan_folder(
            Path(source.url),
            seen,
            max_bytes=settings.watch_max_bytes,
            limit=settings.watch_max_documents,
        )
    except FileNotFoundError as exc:
        return Collected(source=source, status="error", error=str(exc))
    out = Collected(source=source, status="ok", unchanged=scan.unchanged, notes=scan.skipped)
    if scan.postponed:
        out.notes.append(f"{scan.postponed} fichier(s) laissé(s) pour la prochaine collecte")
    for file in scan.files:
        out.documents.append(
            Document(
                source_id=source.id,
                kind="document",
                url=file.path.as_uri(),
                fetched_at=now,
                body=file.body,
                content_type=file.content_type,
                encoding=None if file.content_type == "application/pdf" else charset_of(file.body),
            )
        )
        out.seen.append((file.key, file.sha256))
    out.bytes = sum(len(f.body) for f in scan.files)
    return out


def _seen(con: duckdb.DuckDBPyConnection, source_id: int) -> dict[str, str | None]:
    rows = con.execute("SELECT key, hash FROM watch_seen WHERE source_id = ?", [source_id])
    return dict(rows.fetchall())


def collect(
    target: Target,
    source_id: int,
    *,
    settings: Settings,
    fetcher: Fetcher,
    now: datetime | None = None,
) -> Collected:
    """Fetch one source and return its documents and new state; writes nothing.

    Raises
    ------
    UnknownWatchSource
    """
    now = now or _utc_now()
    with _connector(target)() as con:
        source = get_source(con, source_id)
        seen = _seen(con, source_id) if source.kind in ("sitemap", "folder") else {}
    if source.kind == "feed":
        return _collect_feed(source, fetcher, target, now, settings.watch_feed_pages)
    if source.kind == "page":
        return _collect_page(source, fetcher, now)
    if source.kind == "sitemap":
        return _collect_sitemap(source, fetcher, seen, now, settings.watch_max_documents)
    return _collect_folder(source, seen, now, settings)


# ---------------------------------------------------------------------------- storing


def _next_fetch(source: WatchSource, failures: int, now: datetime) -> datetime:
    minutes = source.interval_minutes
    if failures:
        minutes = min(minutes * 2**failures, max(_MAX_BACKOFF, source.interval_minutes))
    return now + timedelta(minutes=minutes)


def _record(
    con: duckdb.DuckDBPyConnection,
    got: Collected,
    counts: tuple[int, int, int],
    now: datetime,
    job_id: str | None,
) -> tuple[int, datetime]:
    failures, next_at, values = _state_values(got, now)
    with transaction(con):
        _write_state(con, got, counts, now, job_id, values)
    return failures, next_at


def _state_values(got: Collected, now: datetime) -> tuple[int, datetime, dict[str, Any]]:
    """The failures count, the next fetch and the columns of the source after this fetch."""
    source = got.source
    healthy = got.status in _HEALTHY
    failures = 0 if healthy else source.failures + 1
    next_at = _next_fetch(source, failures, now)
    state = dict(got.state) if healthy else {}
    values: dict[str, Any] = {
        **state,
        "last_fetch_at": now,
        "next_fetch_at": next_at,
        "last_status": got.status,
        "last_error": got.error or ("; ".join(got.notes)[:2000] if got.notes else None),
        "failures": failures,
    }
    return failures, next_at, values


def _write_state(
    con: duckdb.DuckDBPyConnection,
    got: Collected,
    counts: tuple[int, int, int],
    now: datetime,
    job_id: str | None,
    values: dict[str, Any],
) -> None:
    """Inside the caller's transaction: the source's new state, the fetch log, what it saw."""
    source = got.source
    healthy = got.status in _HEALTHY
    assignments = ", ".join(f"{k} = ?" for k in values)
    con.execute(
        f"UPDATE watch_source SET {assignments} WHERE id = ?", [*values.values(), source.id]
    )
    tries = got.tries or [Attempt(now, _utc_now(), got.status, None, got.error, got.bytes)]
    for number, attempt in enumerate(tries, start=1):
        last = number == len(tries)
        con.execute(
            "INSERT INTO watch_fetch (source_id, started_at, finished_at, status, "
            "http_status, attempt, items_new, items_duplicate, items_unchanged, bytes, "
            "error, job_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                source.id,
                attempt.started_at,
                attempt.finished_at,
                got.status if last else attempt.status,
                attempt.http_status,
                number,
                *(counts if last else (0, 0, 0)),
                got.bytes if last else attempt.bytes,
                (values["last_error"] if last else attempt.error),
                job_id,
            ],
        )
    if got.seen and healthy:
        con.executemany(
            "INSERT OR REPLACE INTO watch_seen (source_id, key, hash, seen_at) VALUES (?, ?, ?, ?)",
            [[source.id, key, digest, now] for key, digest in got.seen],
        )


def _store(target: Target, got: Collected, now: datetime, job_id: str | None) -> SourceFetch:
    new = duplicates = 0
    unchanged = got.unchanged
    item_ids: list[int] = []
    written: list[tuple[int, datetime]] = []

    def with_items(con: duckdb.DuckDBPyConnection, report: IngestReport) -> None:
        # the source's new state in the items' transaction: both are written, or neither
        got.notes.extend(report.errors)  # documents left out: in the fetch log too
        counts = (report.new, report.duplicates, got.unchanged + report.unchanged)
        failures, next_at, values = _state_values(got, now)
        _write_state(con, got, counts, now, job_id, values)
        written.append((failures, next_at))

    with _connector(target)() as con:
        if got.documents:
            from territoria.watch.pipeline import ingest

            try:
                report = ingest(con, got.documents, then=with_items)
            except TerritoriaError as exc:  # nothing of this call was stored
                written.clear()
                got.status, got.error, got.state, got.seen = "error", str(exc), {}, []
            except Exception as exc:  # a bug downstream: recorded, so the backoff applies
                written.clear()
                log.exception("storing the items of source %s failed", got.source.id)
                got.status, got.state, got.seen = "error", {}, []
                got.error = (
                    f"les éléments n'ont pu être enregistrés (erreur interne {exc!r}) : voir le "
                    "journal du serveur"
                )
            else:
                new, duplicates = report.new, report.duplicates
                unchanged += report.unchanged
                item_ids = list(report.item_ids)
        if written:
            failures, next_at = written[0]
        else:
            failures, next_at = _record(con, got, (new, duplicates, unchanged), now, job_id)
    return SourceFetch(
        source_id=got.source.id,
        name=got.source.name,
        kind=got.source.kind,
        status=got.status,
        http_status=got.http_status,
        new=new,
        duplicates=duplicates,
        unchanged=unchanged,
        item_ids=item_ids,
        errors=list(got.notes),
        error=got.error,
        failures=failures,
        next_fetch_at=next_at,
        attempts=len(got.tries) or 1,
    )


# ---------------------------------------------------------------------------- running


def fetch_source(
    target: Target,
    source_id: int,
    *,
    settings: Settings,
    now: datetime | None = None,
    job_id: str | None = None,
    fetcher: Fetcher | None = None,
) -> FetchReport:
    """Fetch one source now (due or not), store its new items and its state.

    Parameters
    ----------
    target
        A connection, or a function returning a context manager of one (``db.writer``).
    settings
        The ``watch_*`` settings (safety, politeness, limits).
    now
        The time of the fetch (default: now, UTC).

    Raises
    ------
    UnknownWatchSource
    """
    now = now or _utc_now()
    with contextlib.ExitStack() as stack:
        if fetcher is None:
            fetcher = stack.enter_context(Fetcher(HttpPolicy.from_settings(settings)))
        got = collect(target, source_id, settings=settings, fetcher=fetcher, now=now)
        return FetchReport([_store(target, got, now, job_id)])


def fetch_due(
    target: Target,
    *,
    settings: Settings,
    now: datetime | None = None,
    job_id: str | None = None,
    progress: Progress | None = None,
) -> FetchReport:
    """Fetch every live source that is due (never fetched, or its next fetch is past).

    A source whose fetch fails unexpectedly is recorded as failed (status ``error``) and the
    others are fetched still.
    """
    now = now or _utc_now()
    with _connector(target)() as con:
        due = list_sources(con, due_before=now)
    results: list[SourceFetch] = []
    with Fetcher(HttpPolicy.from_settings(settings)) as fetcher:
        for number, source in enumerate(due):
            if progress is not None:
                progress(f"source {source.id}", number, len(due))
            try:
                got = collect(target, source.id, settings=settings, fetcher=fetcher, now=now)
            except TerritoriaError as exc:  # removed meanwhile
                log.info("source %s skipped: %s", source.id, exc)
                continue
            except Exception as exc:  # one source's bug must not stop the watch
                log.exception("fetching source %s failed", source.id)
                error = f"erreur interne {exc!r} : voir le journal du serveur"
                got = Collected(source=source, status="error", error=error)
            results.append(_store(target, got, now, job_id))
    return FetchReport(results)


def due_fetches(con: duckdb.DuckDBPyConnection, now: datetime) -> list[dict[str, Any]]:
    """The scheduler's question: one ``watch-fetch`` job (no parameter) when a source is due."""
    row = con.execute(
        "SELECT count(*) FROM watch_source WHERE deleted_at IS NULL "
        "AND (next_fetch_at IS NULL OR next_fetch_at <= ?)",
        [now],
    ).fetchone()
    return [{}] if row and row[0] else []


def fetch_work(db: Database, settings: Settings) -> Work:
    """The work of a ``watch-fetch`` job: ``{"source_id": ID}`` fetches that source, ``{}``
    every due one; the result is the :class:`FetchReport`."""

    def work(params: dict[str, Any], progress: Progress) -> FetchReport:
        def writer() -> AbstractContextManager[duckdb.DuckDBPyConnection]:
            return db.writer(actor="job:watch-fetch")

        source_id = params.get("source_id")
        if source_id is not None:
            progress(f"source {source_id}", 0.0)
            return fetch_source(writer, int(source_id), settings=settings)
        return fetch_due(writer, settings=settings, progress=progress)

    return work
