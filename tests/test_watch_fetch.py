"""Fetching watch sources against a real HTTP server on 127.0.0.1: conditional GET, page
changes, SSRF refusals, robots.txt, retries and backoff, size and time limits, malformed and
ISO-8859-1 feeds, sitemaps and folders, end to end into watch_item."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest

from territoria.settings import Settings
from territoria.watch._http import Fetcher, HttpPolicy, RobotsCache, refusal
from territoria.watch.fetch import collect, due_fetches, fetch_due, fetch_source
from territoria.watch.sources import add_source, get_source, list_fetches

DATA = Path(__file__).parent / "data" / "watch" / "fetch"
NOW = datetime(2026, 12, 2, 8, 0)

Reply = tuple[int, dict[str, str], bytes]
Route = Reply | Callable[[BaseHTTPRequestHandler], Reply] | list[Any]


class Site:
    """A real HTTP server on 127.0.0.1 serving routes a test sets, logging every request."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str], float]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                site.requests.append((path, dict(self.headers), time.monotonic()))
                route = site.routes.get(path, (404, {}, b"not found"))
                if isinstance(route, list):  # a sequence of answers, the last one repeated
                    route = route.pop(0) if len(route) > 1 else route[0]
                reply = route(self) if callable(route) else route
                status, headers, body = reply
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    if "Content-Length" not in headers:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers, _ in self.requests if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site()
    yield server
    server.close()


def settings(**changes: Any) -> Settings:
    """Settings for the local server: private addresses allowed, no politeness delay."""
    values: dict[str, Any] = {
        "watch_allow_private": True,
        "watch_host_delay": 0.0,
        "watch_backoff": 0.01,
        "watch_timeout": 2.0,
    }
    values.update(changes)
    return Settings(**values)


def fetcher(**changes: Any) -> Fetcher:
    return Fetcher(HttpPolicy.from_settings(settings(**changes)), robots=RobotsCache())


def rss(*items: tuple[str, str, str], encoding: str = "utf-8") -> bytes:
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<description>{d}</description><pubDate>Tue, 01 Dec 2026 09:00:00 +0100</pubDate></item>"
        for t, link, d in items
    )
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
        f"<title>Actualités</title><link>https://example.org/</link><language>fr</language>"
        f"{entries}</channel></rss>"
    )
    return text.encode(encoding)


FEED = rss(
    (
        "Rennes : la ligne Rennes–Saint-Malo rouvre",
        "https://presse.example.org/rennes-ligne",
        "Le TER entre Rennes et Saint-Malo circule de nouveau après trois semaines de travaux "
        "sur la voie, annonce la Région Bretagne.",
    ),
    (
        "Brest : un nouveau pôle nautique",
        "https://presse.example.org/brest-pole",
        "La métropole de Brest inaugure un pôle consacré aux industries nautiques, avec "
        "quarante entreprises du Finistère.",
    ),
)


def etag_feed(handler: BaseHTTPRequestHandler) -> Reply:
    if handler.headers.get("If-None-Match") == '"v1"':
        return 304, {"ETag": '"v1"'}, b""
    return 200, {"Content-Type": "application/rss+xml", "ETag": '"v1"'}, FEED


# --------------------------------------------------------------------------- the fetcher


def test_private_addresses_are_refused_without_the_setting(site: Site) -> None:
    site.routes["/feed.xml"] = (200, {"Content-Type": "application/rss+xml"}, FEED)
    with fetcher(watch_allow_private=False) as client:
        refused = client.get(site.url("/feed.xml"))
        assert refused.status == "refused"
        assert "adresse de bouclage 127.0.0.1 : refusée" in (refused.error or "")
        assert site.requests == []  # not even robots.txt was asked
        # the forms an attacker would try, and a redirect to the inside
        for address in (
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://10.0.0.7/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0.0.0.0/",
            "http://2130706433/",
            "http://[fd00::1]/",
            "http://100.64.0.1/",
        ):
            assert client.get(address).status == "refused", address
        assert client.get("file:///etc/passwd").status == "refused"
    with fetcher(watch_allow_private=True) as client:
        allowed = client.get(site.url("/feed.xml"))
    assert allowed.status == "ok"
    assert allowed.body == FEED


def test_address_refusals_see_through_mapped_and_6to4_forms() -> None:
    import ipaddress

    assert refusal(ipaddress.ip_address("8.8.8.8")) is None
    assert refusal(ipaddress.ip_address("::ffff:192.168.1.1")) == "adresse privée 192.168.1.1"
    assert refusal(ipaddress.ip_address("2002:c0a8:0101::1")) is not None  # 6to4 of 192.168.1.1
    assert refusal(ipaddress.ip_address("224.0.0.1")) == "adresse de multidiffusion 224.0.0.1"


def test_redirects_are_followed_within_the_limit(site: Site) -> None:
    site.routes["/a"] = (302, {"Location": "/b"}, b"")
    site.routes["/b"] = (301, {"Location": site.url("/c")}, b"")
    site.routes["/c"] = (200, {"Content-Type": "text/plain; charset=utf-8"}, "arrivé".encode())
    site.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    with fetcher(watch_max_redirects=3) as client:
        done = client.get(site.url("/a"))
        loop = client.get(site.url("/loop"))
    assert (done.status, done.url, done.body.decode()) == ("ok", site.url("/c"), "arrivé")
    assert loop.status == "error"
    assert "plus de 3 redirections" in (loop.error or "")
    assert len(site.hits("/loop")) == 4


def test_user_agent_and_robots_txt(site: Site) -> None:
    site.routes["/robots.txt"] = (
        200,
        {"Content-Type": "text/plain"},
        b"User-agent: Territoria\nDisallow: /prive/\n\nUser-agent: *\nDisallow: /\n",
    )
    site.routes["/prive/page.html"] = (200, {}, b"<p>secret</p>")
    site.routes["/public.html"] = (200, {"Content-Type": "text/html"}, b"<p>public</p>")
    with fetcher() as client:
        denied = client.get(site.url("/prive/page.html"))
        public = client.get(site.url("/public.html"))
        client.get(site.url("/public.html"))
    assert denied.status == "robots"
    assert "le robots.txt de http://127.0.0.1:" in (denied.error or "")
    assert public.status == "ok"
    assert site.hits("/prive/page.html") == []
    assert len(site.hits("/robots.txt")) == 1  # cached per host
    agent = site.hits("/public.html")[0]["User-Agent"]
    assert agent.startswith("Territoria/") and "(+http" in agent


def test_robots_crawl_delay_slows_the_requests_to_its_host(site: Site) -> None:
    site.routes["/robots.txt"] = (200, {}, b"User-agent: *\nCrawl-delay: 0.4\n")
    site.routes["/x"] = (200, {}, b"x")
    with fetcher(watch_host_delay=0.0) as client:
        client.get(site.url("/x"))
        client.get(site.url("/x"))
    first, second = (t for p, _, t in site.requests if p == "/x")
    assert second - first >= 0.3  # 0.4 s less the first request's own time


def test_429_then_200_is_retried_within_the_fetch(site: Site) -> None:
    site.routes["/busy"] = [
        (429, {"Retry-After": "0"}, b"slow down"),
        (200, {"Content-Type": "text/plain"}, b"ok now"),
    ]
    waits: list[float] = []
    policy = HttpPolicy.from_settings(settings(watch_backoff=0.05))
    with Fetcher(policy, robots=RobotsCache(), sleep=waits.append) as client:
        result = client.get(site.url("/busy"))
    assert (result.status, result.body, result.attempts) == ("ok", b"ok now", 2)
    assert [t.http_status for t in result.tries] == [429, 200]
    assert waits == [0.05]


def test_per_host_delay_spaces_requests(site: Site) -> None:
    site.routes["/x"] = (200, {}, b"x")
    with fetcher(watch_host_delay=0.3) as client:
        client.get(site.url("/x"), robots=False)
        client.get(site.url("/x"), robots=False)
    first, second = (t for p, _, t in site.requests if p == "/x")
    assert second - first >= 0.2  # the delay less the first request's own time (~0.003 s without)


def test_too_large_and_timeout(site: Site) -> None:
    big = b"<p>" + b"x" * 5000 + b"</p>"
    site.routes["/big.html"] = (200, {"Content-Type": "text/html"}, big)

    def chunked(handler: BaseHTTPRequestHandler) -> Reply:  # no Content-Length: streamed
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.end_headers()
        for _ in range(10):
            handler.wfile.write(b"y" * 1000)
        handler.close_connection = True
        raise ConnectionResetError  # the reply is sent: stop the generic writer

    def slow(handler: BaseHTTPRequestHandler) -> Reply:
        time.sleep(1.5)
        return 200, {}, b"late"

    site.routes["/stream"] = chunked
    site.routes["/slow"] = slow
    with fetcher(watch_max_bytes=2000, watch_timeout=0.5, watch_retries=0) as client:
        large = client.get(site.url("/big.html"))
        streamed = client.get(site.url("/stream"))
        late = client.get(site.url("/slow"))
    assert (large.status, large.body) == ("too_large", b"")
    assert "dépasse 2\u202f000 octets" in (large.error or "")
    assert streamed.status == "too_large"
    assert late.status == "timeout"


# --------------------------------------------------------------------------- collecting


def test_feed_with_etag_second_fetch_is_not_modified(site: Site, tmp_path: Path) -> None:
    from territoria.kb import connect

    con = connect(tmp_path / "kb.duckdb")
    site.routes["/feed.xml"] = etag_feed
    source = add_source(con, site.url("/feed.xml"), kind="feed")
    with fetcher() as client:
        first = collect(con, source.id, settings=settings(watch_feed_pages=0), fetcher=client)
    assert first.status == "ok"
    assert [d.entry["title"] for d in first.documents] == [
        "Rennes : la ligne Rennes–Saint-Malo rouvre",
        "Brest : un nouveau pôle nautique",
    ]
    assert first.documents[0].url == "https://presse.example.org/rennes-ligne"
    assert first.state["etag"] == '"v1"'
    con.execute("UPDATE watch_source SET etag = ? WHERE id = ?", ['"v1"', source.id])
    with fetcher() as client:
        second = collect(con, source.id, settings=settings(), fetcher=client)
    assert (second.status, second.documents) == ("not_modified", [])
    assert site.hits("/feed.xml")[1]["If-None-Match"] == '"v1"'
    con.close()


def test_feed_in_iso_8859_1_and_a_malformed_feed(site: Site, tmp_path: Path) -> None:
    from territoria.kb import connect

    con = connect(tmp_path / "kb.duckdb")
    latin = rss(
        ("Élus réunis à Quimper", "https://x.example.org/q", "Défi énergétique"),
        encoding="iso-8859-1",
    )
    assert "é".encode("iso-8859-1") in latin
    site.routes["/latin.xml"] = (200, {"Content-Type": "application/rss+xml"}, latin)
    site.routes["/latin-http.xml"] = (
        200,
        {"Content-Type": "text/xml; charset=ISO-8859-1"},
        latin.replace(b'encoding="iso-8859-1"', b""),
    )
    site.routes["/broken.xml"] = (200, {"Content-Type": "application/rss+xml"}, b"<rss><chan")
    latin_source = add_source(con, site.url("/latin.xml"), kind="feed")
    http_source = add_source(con, site.url("/latin-http.xml"), kind="feed")
    broken = add_source(con, site.url("/broken.xml"), kind="feed")
    options = settings(watch_feed_pages=0)
    with fetcher() as client:
        declared = collect(con, latin_source.id, settings=options, fetcher=client)
        by_header = collect(con, http_source.id, settings=options, fetcher=client)
        malformed = collect(con, broken.id, settings=options, fetcher=client)
    assert declared.documents[0].entry["title"] == "Élus réunis à Quimper"
    assert by_header.documents[0].entry["summary"] == "Défi énergétique"
    assert malformed.status == "malformed"
    assert "flux mal formé" in (malformed.error or "")
    assert malformed.documents == []
    con.close()


PAGE = """<html><head><title>Conseil municipal</title></head><body>
<nav>Accueil · Agenda</nav>
<div id="deliberations"><h2>Délibérations</h2><ul><li>Budget primitif 2027 adopté</li></ul></div>
<footer>Mis à jour le {stamp}</footer></body></html>"""


def test_page_change_gives_one_change_with_its_diff(site: Site, tmp_path: Path) -> None:
    from territoria.kb import connect

    con = connect(tmp_path / "kb.duckdb")
    site.routes["/conseil.html"] = (
        200,
        {"Content-Type": "text/html; charset=utf-8"},
        PAGE.format(stamp="1er décembre").encode(),
    )
    whole = add_source(con, site.url("/conseil.html"), kind="page", name="Conseil")
    part = add_source(con, site.url("/conseil.html") + "?p", kind="page", selector="#deliberations")
    with fetcher() as client:
        first = collect(con, whole.id, settings=settings(), fetcher=client)
        assert first.documents == []  # the first fetch records the state
        assert "Budget primitif 2027 adopté" in first.state["content_text"]
        for source, got in (
            (whole, first),
            (part, collect(con, part.id, settings=settings(), fetcher=client)),
        ):
            con.execute(
                "UPDATE watch_source SET content_hash = ?, content_text = ? WHERE id = ?",
                [got.state["content_hash"], got.state["content_text"], source.id],
            )
        # the footer changes: a change for the whole page, none inside the selector
        site.routes["/conseil.html"] = (
            200,
            {"Content-Type": "text/html"},
            PAGE.format(stamp="2 décembre").encode(),
        )
        changed = collect(con, whole.id, settings=settings(), fetcher=client)
        inside = collect(con, part.id, settings=settings(), fetcher=client)
    assert len(changed.documents) == 1
    change = changed.documents[0]
    assert change.kind == "change"
    assert "-Mis à jour le 1er décembre" in (change.diff or "")
    assert "+Mis à jour le 2 décembre" in (change.diff or "")
    assert change.text == "Mis à jour le 2 décembre"
    assert (inside.documents, inside.unchanged) == ([], 1)
    con.close()


def test_sitemap_index_gives_new_addresses_within_the_limit(site: Site, tmp_path: Path) -> None:
    from territoria.kb import connect

    con = connect(tmp_path / "kb.duckdb")
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    site.routes["/sitemap.xml"] = (
        200,
        {"Content-Type": "application/xml"},
        (
            f'<?xml version="1.0"?><sitemapindex {ns}><sitemap><loc>{site.url("/sm-1.xml")}</loc>'
            "</sitemap></sitemapindex>"
        ).encode(),
    )
    pages = [f"/actu/{i}.html" for i in range(4)]
    urls = "".join(
        f"<url><loc>{site.url(p)}</loc><lastmod>2026-11-0{i + 1}</lastmod></url>"
        for i, p in enumerate(pages)
    )
    urls += "<url><loc>https://elsewhere.example.org/x</loc></url>"
    site.routes["/sm-1.xml"] = (
        200,
        {"Content-Type": "application/xml"},
        f"<urlset {ns}>{urls}</urlset>".encode(),
    )
    for i, p in enumerate(pages):
        site.routes[p] = (200, {"Content-Type": "text/html"}, f"<p>Article {i}</p>".encode())
    source = add_source(con, site.url("/sitemap.xml"), kind="sitemap")
    with fetcher() as client:
        got = collect(con, source.id, settings=settings(watch_max_documents=3), fetcher=client)
    assert got.status == "ok"
    # the latest three first; the fourth waits; the other host's address is left out
    assert [d.url for d in got.documents] == [site.url(p) for p in pages[3:0:-1]]
    assert [k for k, _ in got.seen] == [site.url(p) for p in pages[3:0:-1]]
    assert any("1 nouvelle(s) adresse(s) laissée(s)" in n for n in got.notes)
    assert any("1 adresse(s) d'autres hôtes écartée(s)" in n for n in got.notes)
    assert site.hits("/actu/0.html") == []
    con.close()


def test_folder_source_new_and_changed_files(tmp_path: Path) -> None:
    from territoria.kb import connect

    con = connect(tmp_path / "kb.duckdb")
    folder = tmp_path / "dossiers"
    (folder / "sub").mkdir(parents=True)
    (folder / "note.txt").write_text("Note sur la Communauté de communes du Val d'Ille")
    (folder / "sub" / "cr.html").write_text("<p>Compte rendu du conseil</p>")
    (folder / "image.png").write_bytes(b"\x89PNG")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "x.txt").write_text("hidden")
    source = add_source(con, str(folder), kind="folder")
    got = collect(con, source.id, settings=settings(), fetcher=fetcher())
    assert sorted(k for k, _ in got.seen) == ["note.txt", "sub/cr.html"]
    assert {d.content_type for d in got.documents} == {"text/plain", "text/html"}
    assert all(d.url.startswith("file://") for d in got.documents)
    con.executemany(
        "INSERT INTO watch_seen VALUES (?, ?, ?, ?)", [[source.id, k, h, NOW] for k, h in got.seen]
    )
    (folder / "note.txt").write_text("Note révisée")
    again = collect(con, source.id, settings=settings(), fetcher=fetcher())
    assert [k for k, _ in again.seen] == ["note.txt"]
    assert again.unchanged == 1
    con.close()


# --------------------------------------------------------------------------- end to end


def items(con: duckdb.DuckDBPyConnection, source_id: int) -> list[tuple[Any, ...]]:
    return con.execute(
        "SELECT kind, url, title, diff FROM watch_item WHERE source_id = ? ORDER BY id",
        [source_id],
    ).fetchall()


def test_feed_end_to_end_etag_then_304(site: Site, mini_db: duckdb.DuckDBPyConnection) -> None:
    site.routes["/feed.xml"] = etag_feed
    source = add_source(mini_db, site.url("/feed.xml"), kind="feed", interval=30)
    options = settings(watch_feed_pages=0)
    first = fetch_source(mini_db, source.id, settings=options, now=NOW).sources[0]
    assert (first.status, first.new, first.unchanged) == ("ok", 2, 0)
    assert [row[2] for row in items(mini_db, source.id)] == [
        "Rennes : la ligne Rennes–Saint-Malo rouvre",
        "Brest : un nouveau pôle nautique",
    ]
    stored = get_source(mini_db, source.id)
    assert (stored.etag, stored.last_status, stored.failures) == ('"v1"', "ok", 0)
    assert stored.next_fetch_at == NOW + timedelta(minutes=30)
    second = fetch_source(mini_db, source.id, settings=options, now=NOW).sources[0]
    assert (second.status, second.new, second.http_status) == ("not_modified", 0, 304)
    assert len(items(mini_db, source.id)) == 2
    log = list_fetches(mini_db, source.id)
    assert [(e.status, e.items_new) for e in log] == [("not_modified", 0), ("ok", 2)]


def test_page_change_end_to_end(site: Site, mini_db: duckdb.DuckDBPyConnection) -> None:
    site.routes["/conseil.html"] = (
        200,
        {"Content-Type": "text/html"},
        PAGE.format(stamp="1er décembre").encode(),
    )
    source = add_source(mini_db, site.url("/conseil.html"), kind="page", name="Conseil")
    first = fetch_source(mini_db, source.id, settings=settings(), now=NOW).sources[0]
    assert (first.status, first.new) == ("ok", 0)
    site.routes["/conseil.html"] = (
        200,
        {"Content-Type": "text/html"},
        PAGE.format(stamp="2 décembre")
        .encode()
        .replace(b"</ul>", b"<li>PLU de Rennes approuv\xc3\xa9</li></ul>"),
    )
    second = fetch_source(mini_db, source.id, settings=settings(), now=NOW).sources[0]
    third = fetch_source(mini_db, source.id, settings=settings(), now=NOW).sources[0]
    assert (second.new, third.new, third.unchanged) == (1, 0, 1)
    [(kind, _url, title, diff)] = items(mini_db, source.id)
    assert kind == "change"
    assert title == "Modification de la page « Conseil »"
    assert "+PLU de Rennes approuvé" in diff


def test_500_forever_records_failures_and_backoff(
    site: Site, mini_db: duckdb.DuckDBPyConnection
) -> None:
    site.routes["/down.xml"] = (500, {}, b"boom")
    source = add_source(mini_db, site.url("/down.xml"), kind="feed", interval=60)
    options = settings(watch_retries=2)
    one = fetch_source(mini_db, source.id, settings=options, now=NOW).sources[0]
    two = fetch_source(mini_db, source.id, settings=options, now=NOW).sources[0]
    assert (one.status, one.attempts, one.failures) == ("error", 3, 1)
    assert len(site.hits("/down.xml")) == 6  # three attempts per fetch
    assert one.next_fetch_at == NOW + timedelta(minutes=120)
    assert (two.failures, two.next_fetch_at) == (2, NOW + timedelta(minutes=240))
    stored = get_source(mini_db, source.id)
    assert (stored.last_status, stored.last_error) == ("error", "le serveur a répondu HTTP 500")
    log = list_fetches(mini_db, source.id)
    assert [(e.attempt, e.http_status) for e in log[:3]] == [(3, 500), (2, 500), (1, 500)]
    # not due before its pushed-back time
    assert due_fetches(mini_db, NOW + timedelta(minutes=200)) == []
    assert due_fetches(mini_db, NOW + timedelta(minutes=241)) == [{}]


def test_fetch_due_skips_sources_not_due_and_writes_through_a_connector(
    site: Site, mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    import contextlib

    site.routes["/feed.xml"] = etag_feed
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "cr.txt").write_text("Compte rendu : la commune de Rennes vote le budget 2027.")
    feed = add_source(mini_db, site.url("/feed.xml"), kind="feed")
    docs = add_source(mini_db, str(folder), kind="folder")
    calls: list[int] = []

    @contextlib.contextmanager
    def writer() -> Iterator[duckdb.DuckDBPyConnection]:
        calls.append(1)
        yield mini_db

    report = fetch_due(writer, settings=settings(watch_feed_pages=0), now=NOW)
    assert {(s.source_id, s.status, s.new) for s in report.sources} == {
        (feed.id, "ok", 2),
        (docs.id, "ok", 1),
    }
    assert calls  # every read and write went through the connector
    later = fetch_due(writer, settings=settings(), now=NOW + timedelta(minutes=5))
    assert later.sources == []


def test_the_connection_is_pinned_to_the_checked_address(site: Site) -> None:
    site.routes["/x"] = (200, {}, b"x")
    with fetcher() as client:
        result = client.get(f"http://localhost:{site.port}/x", robots=False)
    assert result.status == "ok"
    # the request went to the address resolved and checked, naming the host it asked for
    assert site.hits("/x")[0]["Host"] == f"localhost:{site.port}"


def test_feed_entries_without_full_text_get_their_page_once(
    site: Site, mini_db: duckdb.DuckDBPyConnection
) -> None:
    article = (
        "<html><head><title>Rennes rouvre la ligne</title></head><body><article><h1>Rennes "
        "rouvre la ligne</h1><p>Le TER entre Rennes et Saint-Malo circule de nouveau depuis "
        "lundi, après trois semaines de travaux menés par SNCF Réseau sur la voie unique "
        "entre Dol-de-Bretagne et Saint-Malo, a indiqué la Région Bretagne.</p><p>Les "
        "usagers retrouvent onze allers-retours quotidiens.</p></article></body></html>"
    )
    site.routes["/a1.html"] = (200, {"Content-Type": "text/html; charset=utf-8"}, article.encode())
    feed = rss(("Rennes rouvre la ligne", site.url("/a1.html"), "Le TER circule de nouveau."))
    site.routes["/feed.xml"] = (200, {"Content-Type": "application/rss+xml"}, feed)
    source = add_source(mini_db, site.url("/feed.xml"), kind="feed")
    first = fetch_source(mini_db, source.id, settings=settings(), now=NOW).sources[0]
    assert first.new == 1
    text = mini_db.execute("SELECT text FROM watch_item WHERE source_id = ?", [source.id])
    assert "onze allers-retours quotidiens" in text.fetchone()[0]  # the page's text
    # the feed changes (a new entry elsewhere): the known entry's page is not fetched again
    site.routes["/feed.xml"] = (200, {"Content-Type": "application/rss+xml"}, feed + b" ")
    second = fetch_source(mini_db, source.id, settings=settings(), now=NOW).sources[0]
    assert (second.new, second.unchanged) == (0, 1)
    assert len(site.hits("/a1.html")) == 1


def test_bad_input_is_logged_per_source_never_a_crash(
    site: Site, mini_db: duckdb.DuckDBPyConnection
) -> None:
    site.routes["/broken.xml"] = (200, {"Content-Type": "application/rss+xml"}, b"<rss><chan")
    site.routes["/empty.html"] = (200, {"Content-Type": "text/html"}, b"<html><body></body></html>")
    site.routes["/big.html"] = (200, {"Content-Type": "text/html"}, b"<p>" + b"z" * 4000)
    broken = add_source(mini_db, site.url("/broken.xml"), kind="feed")
    empty = add_source(mini_db, site.url("/empty.html"), kind="page")
    big = add_source(mini_db, site.url("/big.html"), kind="page")
    report = fetch_due(mini_db, settings=settings(watch_max_bytes=1000), now=NOW)
    statuses = {s.source_id: (s.status, s.new, s.failures) for s in report.sources}
    assert statuses == {
        broken.id: ("malformed", 0, 1),
        empty.id: ("malformed", 0, 1),
        big.id: ("too_large", 0, 1),
    }
    logged = {
        e.source_id: e.error for s in (broken, empty, big) for e in list_fetches(mini_db, s.id)
    }
    assert "flux mal formé" in (logged[broken.id] or "")
    assert logged[empty.id] == "la page n'a aucun texte à surveiller"
    assert "dépasse 1\u202f000 octets" in (logged[big.id] or "")
    assert mini_db.execute("SELECT count(*) FROM watch_item").fetchone() == (0,)


def test_sitemap_end_to_end_takes_the_rest_at_the_next_fetch(
    site: Site, mini_db: duckdb.DuckDBPyConnection
) -> None:
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    topics = ["budget de Rennes", "port de Saint-Malo", "lycée de Vitré"]
    urls = ""
    for i, topic in enumerate(topics):
        path = f"/actu/{i}.html"
        urls += f"<url><loc>{site.url(path)}</loc><lastmod>2026-11-0{i + 1}</lastmod></url>"
        page = f"<html><head><title>{topic}</title></head><body><p>Article sur le {topic}.</p>"
        site.routes[path] = (200, {"Content-Type": "text/html"}, page.encode())
    site.routes["/sitemap.xml"] = (200, {}, f"<urlset {ns}>{urls}</urlset>".encode())
    source = add_source(mini_db, site.url("/sitemap.xml"), kind="sitemap")
    options = settings(watch_max_documents=2)
    first = fetch_source(mini_db, source.id, settings=options, now=NOW).sources[0]
    second = fetch_source(mini_db, source.id, settings=options, now=NOW).sources[0]
    third = fetch_source(mini_db, source.id, settings=options, now=NOW).sources[0]
    assert [(r.new, r.unchanged) for r in (first, second, third)] == [(2, 0), (1, 2), (0, 3)]
    stored = mini_db.execute(
        "SELECT url FROM watch_item WHERE source_id = ? ORDER BY id", [source.id]
    ).fetchall()
    assert [u for (u,) in stored] == [site.url(f"/actu/{i}.html") for i in (2, 1, 0)]
    assert all(len(site.hits(f"/actu/{i}.html")) == 1 for i in range(3))


def test_page_encodings_http_charset_then_declaration_then_detection() -> None:
    from territoria.watch._http import decode_text

    text = "Le conseil départemental a voté la délibération sur les collèges."
    latin = f"<html><body><p>{text}</p></body></html>".encode("cp1252")
    declared = f'<html><head><meta charset="iso-8859-1"></head><p>{text}</p>'.encode("latin-1")
    assert text in decode_text(latin, "windows-1252")  # the HTTP charset first
    assert text in decode_text(declared, None)  # then the document's declaration
    assert text in decode_text(latin, None)  # then windows-1252, as browsers read it in French
    assert text in decode_text(latin, "no-such-charset")  # an unknown charset is passed over


def test_a_latin_1_text_file_of_a_folder_is_read(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    folder = tmp_path / "comptes-rendus"
    folder.mkdir()
    note = "Réunion de la Communauté de communes : le préfet présente le contrat de ruralité."
    (folder / "note.txt").write_bytes(note.encode("latin-1"))
    source = add_source(mini_db, str(folder), kind="folder")
    done = fetch_source(mini_db, source.id, settings=settings(), now=NOW).sources[0]
    assert (done.status, done.new, done.errors) == ("ok", 1, [])
    text = mini_db.execute("SELECT title || ' ' || text FROM watch_item").fetchone()[0]
    assert "le préfet présente le contrat de ruralité" in text


def test_https_is_pinned_and_the_certificate_checked_against_the_name(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make the test's certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    site = Site(tls=server_side)
    site.routes["/x"] = (200, {"Content-Type": "text/plain"}, b"chiffre")
    trust = ssl.create_default_context(cafile=str(cert))
    policy = HttpPolicy.from_settings(settings())
    try:
        with Fetcher(policy, robots=RobotsCache(), verify=trust) as client:
            named = client.get(f"https://localhost:{site.port}/x", robots=False)
            by_address = client.get(f"https://127.0.0.1:{site.port}/x", robots=False)
    finally:
        site.close()
    # connected to the checked address, the name still sent (SNI) and checked (certificate)
    assert (named.status, named.body) == ("ok", b"chiffre")
    assert site.hits("/x")[0]["Host"] == f"localhost:{site.port}"
    assert by_address.status == "error"
    assert "CERTIFICATE_VERIFY_FAILED" in (by_address.error or "")


def test_a_document_left_out_by_the_pipeline_is_in_the_fetch_log(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "vide.html").write_text("<html><body><script>x()</script></body></html>")
    (folder / "cr.txt").write_text("Compte rendu du conseil municipal de Rennes.")
    source = add_source(mini_db, str(folder), kind="folder")
    done = fetch_source(mini_db, source.id, settings=settings(), now=NOW).sources[0]
    assert (done.status, done.new, len(done.errors)) == ("ok", 1, 1)
    assert "vide.html" in done.errors[0]
    assert "vide.html" in (list_fetches(mini_db, source.id)[0].error or "")
    # seen: not handed to the pipeline again
    again = fetch_source(mini_db, source.id, settings=settings(), now=NOW).sources[0]
    assert (again.new, again.unchanged, again.errors) == (0, 2, [])
