"""The watch's demo content: French feeds and pages written for the demo, served locally.

The files live in ``territoria/data/watch_demo/`` (see its README.txt): four feeds, their article
pages, and a page watched for changes in two versions. They are dated relative to
:data:`REFERENCE`; :func:`demo_file` shifts every date by whole days so that the newest item is
dated today, and replaces the placeholder origin :data:`PLACEHOLDER` (a reserved ``.invalid``
domain) by the address the files are served from. ``territoria serve --demo`` serves them under
``/demo/veille/``; :class:`DemoServer` serves them on 127.0.0.1 for ``territoria watch demo``.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import duckdb

    from territoria.settings import Settings
    from territoria.watch.fetch import SourceFetch

__all__ = [
    "DEMO_PATH",
    "FEEDS",
    "PAGE",
    "PAGE_SELECTOR",
    "PLACEHOLDER",
    "REFERENCE",
    "TOPICS",
    "DemoReport",
    "DemoServer",
    "demo_dir",
    "demo_file",
    "setup_demo",
    "shift_dates",
    "shift_days",
]

#: The newest item's date in the files; served dates are shifted from it to today.
REFERENCE: Final = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
#: The origin the files are written with (a reserved domain that never resolves).
PLACEHOLDER: Final = "https://veille-demo.territoria.invalid"
#: Where ``territoria serve --demo`` serves the folder.
DEMO_PATH: Final = "/demo/veille"
#: The demo feeds: file under ``feeds/`` and the source's name.
FEEDS: Final = (
    ("courrier-ille-et-vilaine.xml", "Le Courrier d'Ille-et-Vilaine (démo)"),
    ("bretagne-hebdo.xml", "Bretagne Hebdo (démo)"),
    ("echo-cote-emeraude.xml", "L'Écho de la Côte d'Émeraude (démo)"),
    ("veille-territoires.xml", "Veille des territoires de France (démo)"),
)
#: The page watched for changes (its versions are ``pages/info-travaux-v1.html``, ``-v2``).
PAGE: Final = "pages/info-travaux.html"
#: The part of the page watched.
PAGE_SELECTOR: Final = "#calendrier"
_PAGE_VERSIONS: Final = 2
#: The home territory the demo sets (its scope splits endogenous from exogenous items).
HOME: Final = ("departement", "35")
#: The topics the demo saves: name and Boolean query.
TOPICS: Final = (
    ("Ligne Rennes–Saint-Malo", '"Saint-Malo" AND (TER OR train OR ligne)'),
    ("Appels à projets", '"appel à projets"'),
    ("Santé", "santé OR hôpital OR médecins"),
)
#: The demo sources' tag.
TAG: Final = "démo"
#: Minutes between two fetches of a demo source: the longest interval, so that a serving
#: process does not fetch them again (``territoria watch demo`` does, with today's dates).
DEMO_INTERVAL: Final = 30 * 24 * 60

_MONTHS_FR: Final = (
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
    "octobre", "novembre", "décembre",
)  # fmt: skip
_MONTHS_EN: Final = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?=T\d{2}:\d{2})")
_RFC822 = re.compile(r"\b(\d{1,2}) (" + "|".join(_MONTHS_EN) + r") (\d{4})\b")
_FRENCH = re.compile(r"\b(\d{1,2}) (" + "|".join(_MONTHS_FR) + r") (\d{4})\b")
_CONTENT_TYPES: Final = {
    ".xml": "application/xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


def demo_dir() -> Path:
    """The folder of the demo content (inside the installed package)."""
    return Path(str(resources.files("territoria") / "data" / "watch_demo"))


def shift_days(now: dt.datetime | None = None) -> int:
    """Whole days to add to the files' dates so that the newest item is dated today (not
    later than ``now``)."""
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return (now - REFERENCE) // dt.timedelta(days=1)


def shift_dates(text: str, days: int) -> str:
    """Shift the dates ``text`` writes by ``days``: ISO 8601 (``2026-11-26T08:30``), RFC 822
    (``26 Nov 2026``) and French long dates (``26 novembre 2026``); times and zones are kept."""
    if not days:
        return text
    delta = dt.timedelta(days=days)

    def iso(m: re.Match[str]) -> str:
        day = dt.date(int(m[1]), int(m[2]), int(m[3])) + delta
        return day.isoformat()

    def rfc(m: re.Match[str]) -> str:
        day = dt.date(int(m[3]), _MONTHS_EN.index(m[2]) + 1, int(m[1])) + delta
        return f"{day.day:02d} {_MONTHS_EN[day.month - 1]} {day.year}"

    def french(m: re.Match[str]) -> str:
        day = dt.date(int(m[3]), _MONTHS_FR.index(m[2]) + 1, int(m[1])) + delta
        return f"{day.day} {_MONTHS_FR[day.month - 1]} {day.year}"

    return _FRENCH.sub(french, _RFC822.sub(rfc, _ISO.sub(iso, text)))


def _resolve(relative: str, page_version: int) -> Path | None:
    """The file behind ``relative`` (the page's address gives its version), or None."""
    if relative == PAGE:
        relative = f"pages/info-travaux-v{min(max(page_version, 1), _PAGE_VERSIONS)}.html"
    root = demo_dir().resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file() or path.suffix not in _CONTENT_TYPES:
        return None
    return path


def demo_file(
    relative: str,
    *,
    base_url: str,
    now: dt.datetime | None = None,
    page_version: int = _PAGE_VERSIONS,
) -> tuple[bytes, str] | None:
    """One demo file as served: its bytes and content type, or None when there is none.

    Parameters
    ----------
    relative
        Its address under the demo folder (``feeds/bretagne-hebdo.xml``); :data:`PAGE` is the
        watched page, whose content is version ``page_version``.
    base_url
        The address the folder is served from: it replaces :data:`PLACEHOLDER` in the links.
    now
        Dates are shifted so that the newest item is dated on this day (default: now).
    """
    path = _resolve(relative.lstrip("/"), page_version)
    if path is None:
        return None
    text = path.read_text(encoding="utf-8").replace(PLACEHOLDER, base_url.rstrip("/"))
    return shift_dates(text, shift_days(now)).encode("utf-8"), _CONTENT_TYPES[path.suffix]


@dataclass
class _Served:
    base_url: str
    now: Callable[[], dt.datetime | None]
    page_version: int = 1


class DemoServer:
    """The demo folder served on 127.0.0.1 in a thread, for the time of a ``with`` block.

    ``page_version`` (1, then 2) chooses the version of the watched page it serves.

    Parameters
    ----------
    port
        The port to listen on; 0 (default) or a busy port: a free one.
    base_url
        The address the links inside the files point to (default: this server's own demo
        folder, ``http://127.0.0.1:PORT/demo/veille``, which is also where ``territoria serve
        --demo`` on that port serves them).
    """

    def __init__(
        self, *, port: int = 0, base_url: str | None = None, now: dt.datetime | None = None
    ) -> None:
        self._state = _Served(base_url or "", lambda: now)
        handler = _handler(self._state)
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:  # the port is taken (a server already runs there)
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.address = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._state.base_url = base_url or self.address + DEMO_PATH
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="territoria-watch-demo", daemon=True
        )

    @property
    def page_version(self) -> int:
        """The version of the watched page being served."""
        return self._state.page_version

    @page_version.setter
    def page_version(self, value: int) -> None:
        self._state.page_version = value

    def url(self, relative: str) -> str:
        """The address of a demo file on this server (under :data:`DEMO_PATH`, as
        ``territoria serve --demo`` serves it)."""
        return f"{self.address}{DEMO_PATH}/{relative.lstrip('/')}"

    def __enter__(self) -> DemoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler(state: _Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            found: tuple[bytes, str] | None = None
            if path == "/robots.txt":
                found = (b"User-agent: *\nAllow: /\n", "text/plain")
            elif path.startswith(DEMO_PATH + "/"):
                found = demo_file(
                    path.removeprefix(DEMO_PATH),
                    base_url=state.base_url,
                    now=state.now(),
                    page_version=state.page_version,
                )
            if found is None:
                self.send_error(404)
                return
            body, content_type = found
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@dataclass(frozen=True)
class DemoReport:
    """What :func:`setup_demo` did: the home, the topics and sources it added (or found), and
    each fetch."""

    address: str  # where the demo files were served from
    home: str
    topics: list[str]
    sources_added: int
    sources: list[int]
    fetches: list[SourceFetch]
    items: int  # live items of the demo sources after the fetch
    links: int  # their links to the knowledge base

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "address": self.address,
            "home": self.home,
            "topics": list(self.topics),
            "sources_added": self.sources_added,
            "sources": list(self.sources),
            "fetches": [f.to_dict() for f in self.fetches],
            "items": self.items,
            "links": self.links,
        }


def _demo_source(
    con: duckdb.DuckDBPyConnection, url: str, kind: str, name: str, selector: str | None
) -> tuple[int, bool]:
    """The demo source at ``url``: its id, and whether it was added now."""
    from territoria.watch.sources import add_source

    row = con.execute(
        "SELECT id FROM watch_source WHERE deleted_at IS NULL AND kind = ? AND url = ?",
        [kind, url],
    ).fetchone()
    if row:
        return int(row[0]), False
    added = add_source(
        con, url, kind=kind, name=name, selector=selector, interval=DEMO_INTERVAL, tags=[TAG]
    )
    return added.id, True


def _topics(con: duckdb.DuckDBPyConnection) -> list[str]:
    from territoria.watch.topics import add_topic, list_topics

    have = {t.name for t in list_topics(con)}
    for name, query in TOPICS:
        if name not in have:
            add_topic(con, name, query, tags=[TAG])
    return [name for name, _ in TOPICS]


def setup_demo(
    con: duckdb.DuckDBPyConnection,
    *,
    settings: Settings,
    port: int = 8000,
    now: dt.datetime | None = None,
) -> DemoReport:
    """Set up the watch's demo: home territory Ille-et-Vilaine, three topics, the four demo
    feeds and the watched page; then fetch them from the demo files served on 127.0.0.1.

    The files are served by a :class:`DemoServer` on ``port``: the sources' addresses are
    then those ``territoria serve --demo --port PORT`` serves them at. When the port is taken
    (by that server), another free one serves them; either way the items' links point to
    ``http://127.0.0.1:PORT/demo/veille/``, so that the reader's links to the articles open
    (``port=0``: any free port, links to it). The page is fetched in its
    first version, then its second (a change item with its diff); run again, the command
    fetches the feeds again (unchanged items are not stored twice). Only these fetches may
    reach 127.0.0.1: ``settings`` stays as it is for every other source.

    Raises
    ------
    UnknownTerritory
        The knowledge base has no Ille-et-Vilaine (import France first).
    """
    from territoria.watch.fetch import fetch_source
    from territoria.watch.items import set_home

    home = set_home(con, *HOME)
    topics = _topics(con)
    # the demo's own server on 127.0.0.1, and no per-host pause between its files
    local = settings.model_copy(update={"watch_allow_private": True, "watch_host_delay": 0.0})
    fetches: list[SourceFetch] = []
    ids: list[int] = []
    added = 0
    # the articles' links point where 'serve --demo' on this port serves them, even when the
    # port is taken (by that server itself: the files are then fetched from another port)
    base_url = f"http://127.0.0.1:{port}{DEMO_PATH}" if port else None
    with DemoServer(port=port, base_url=base_url, now=now) as server:
        for file, name in FEEDS:
            source_id, new = _demo_source(con, server.url(f"feeds/{file}"), "feed", name, None)
            ids.append(source_id)
            added += new
            fetches += fetch_source(con, source_id, settings=local).sources
        page_id, new = _demo_source(
            con, server.url(PAGE), "page", "Info travaux Rennes–Saint-Malo (démo)", PAGE_SELECTOR
        )
        ids.append(page_id)
        added += new
        if new:  # the first fetch records the page as it is: no item
            server.page_version = 1
            fetches += fetch_source(con, page_id, settings=local).sources
        server.page_version = 2
        fetches += fetch_source(con, page_id, settings=local).sources
        address = server.address
    row = con.execute(
        "SELECT count(DISTINCT i.id), count(l.item_id) FROM watch_item i "
        "LEFT JOIN watch_link l ON l.item_id = i.id "
        "WHERE i.deleted_at IS NULL AND i.source_id IN (SELECT unnest(?::BIGINT[]))",
        [ids],
    ).fetchone()
    return DemoReport(
        address=address,
        home=f"{home.name} ({home.level_label})",
        topics=topics,
        sources_added=added,
        sources=ids,
        fetches=fetches,
        items=int(row[0]) if row else 0,
        links=int(row[1]) if row else 0,
    )
