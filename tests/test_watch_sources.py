"""Watch sources: validation with clear errors, soft and audited removal, OPML import and
export, the 'territoria watch sources' and 'watch fetch' commands and the REST routes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from territoria.cli import app as cli_app
from territoria.errors import InvalidWatchSource, UnknownWatchSource
from territoria.kb import connect
from territoria.watch.sources import (
    add_source,
    export_opml,
    get_source,
    import_opml,
    list_sources,
    remove_source,
)
from test_api_helpers import login, make_app, make_kb
from test_watch_fetch import FEED, Site, etag_feed

OPML = Path(__file__).parent / "data" / "watch" / "fetch" / "abonnements.opml"


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(tmp_path / "kb.duckdb")
    yield con
    con.close()


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site()
    yield server
    server.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "ftp://example.org/feed", "kind": "feed"}, "needs an http:// or https://"),
        ({"url": "https:///feed", "kind": "feed"}, "needs an http:// or https://"),
        ({"url": "https://example.org/a b", "kind": "page"}, "no spaces"),
        ({"url": "https://example.org/", "kind": "blog"}, "unknown kind of source 'blog'"),
        ({"url": "/no/such/folder", "kind": "folder"}, "does not exist or is not a folder"),
        ({"url": "https://example.org/", "kind": "page", "selector": "div[["}, "bad CSS"),
        ({"url": "https://example.org/f", "kind": "feed", "selector": "main"}, "only applies"),
        ({"url": "https://example.org/f", "kind": "feed", "interval": 0}, "between 1 and"),
    ],
)
def test_bad_sources_are_refused_with_the_reason(
    kb: duckdb.DuckDBPyConnection, options: dict[str, Any], message: str
) -> None:
    url = options.pop("url")
    with pytest.raises(InvalidWatchSource, match=message.replace("[", r"\[").replace("/", "/")):
        add_source(kb, url, **options)
    assert kb.execute("SELECT count(*) FROM watch_source").fetchone() == (0,)


def test_add_list_remove_soft_and_audited(kb: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    feed = add_source(
        kb, " https://presse.example.org/rss ", kind="feed", tags=["presse", " presse "]
    )
    folder = add_source(kb, str(tmp_path), kind="folder", interval=1440)
    assert (feed.url, feed.name, feed.tags, feed.interval_minutes) == (
        "https://presse.example.org/rss",
        "presse.example.org/rss",
        ["presse"],
        60,
    )
    assert folder.name == tmp_path.name
    with pytest.raises(InvalidWatchSource, match=f"already watched as source {feed.id}"):
        add_source(kb, "https://presse.example.org/rss", kind="feed")
    removed = remove_source(kb, feed.id)
    assert removed.deleted_at is not None
    assert [s.id for s in list_sources(kb)] == [folder.id]
    assert [s.id for s in list_sources(kb, deleted=True)] == [feed.id]
    with pytest.raises(UnknownWatchSource, match="'territoria watch sources list'"):
        get_source(kb, feed.id)
    with pytest.raises(UnknownWatchSource):
        remove_source(kb, feed.id)
    events = kb.execute("SELECT event, target FROM audit_log ORDER BY id").fetchall()
    assert events == [
        ("watch.source.add", str(feed.id)),
        ("watch.source.add", str(folder.id)),
        ("watch.source.delete", str(feed.id)),
    ]
    # the same address may be watched again once removed
    assert add_source(kb, "https://presse.example.org/rss", kind="feed").id != feed.id


def test_opml_import_takes_folders_and_categories_as_tags_and_round_trips(
    kb: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    done = import_opml(kb, OPML.read_bytes())
    assert [(s.name, s.tags) for s in done.added] == [
        ("Ouest-Info — Bretagne", ["Presse régionale", "Presse/Bretagne", "mobilité"]),
        ("Le Télégramme des Abers", ["Presse régionale"]),
        ("Région — communiqués", ["Institutions", "région"]),
    ]
    assert len(done.skipped) == 2
    assert "javascript:alert(1)" in done.skipped[0]
    assert "already watched as source" in done.skipped[1]
    again = import_opml(kb, OPML.read_bytes())
    assert again.added == []
    # export, then import into a fresh knowledge base: the same feeds, names and tags
    text = export_opml(kb)
    other = connect(tmp_path / "other.duckdb")
    copied = import_opml(other, text.encode("utf-8"))
    assert [(s.url, s.name, s.tags) for s in copied.added] == [
        (s.url, s.name, s.tags) for s in done.added
    ]
    other.close()


def test_a_file_that_is_not_opml_is_refused(kb: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InvalidWatchSource, match="the XML is malformed"):
        import_opml(kb, b"<opml><body><outline")
    with pytest.raises(InvalidWatchSource, match="its root element is <rss>"):
        import_opml(kb, FEED)
    # an entity trying to read a local file is refused, not resolved
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<opml version="2.0"><body><outline text="&x;" xmlUrl="https://e.example.org/&x;"/>'
        b"</body></opml>"
    )
    with pytest.raises(InvalidWatchSource, match="external entity"):
        import_opml(kb, evil)
    assert kb.execute("SELECT count(*) FROM watch_source").fetchone() == (0,)


# --------------------------------------------------------------------------- the CLI


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(
        cli_app, list(args), env={"COLUMNS": "200", **(env or {})}, catch_exceptions=False
    )
    return result


def test_cli_sources_and_fetch(site: Site, mini_db_path: Path, tmp_path: Path) -> None:
    import shutil

    db = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, db)
    site.routes["/feed.xml"] = etag_feed
    added = run(
        "watch",
        "sources",
        "add",
        site.url("/feed.xml"),
        "--kind",
        "feed",
        "--name",
        "Presse locale",
        "--tag",
        "presse",
        "--interval",
        "30",
        "--db",
        str(db),
    )
    assert added.exit_code == 0, added.output
    assert "source 1 ajoutée : flux « Presse locale », collectée toutes les 30 min" in added.output
    bad = run("watch", "sources", "add", "ftp://x.example.org", "--kind", "feed", "--db", str(db))
    assert bad.exit_code == 2
    assert "needs an http:// or https:// address" in bad.output
    imported = run("watch", "sources", "import", str(OPML), "--db", str(db))
    assert "3 flux ajouté(s), 2 ignoré(s)" in imported.output
    listed = json.loads(run("watch", "sources", "list", "--json", "--db", str(db)).output)
    assert [s["name"] for s in listed][:2] == ["Presse locale", "Ouest-Info — Bretagne"]
    table = run("watch", "sources", "list", "--db", str(db)).output
    assert "jamais collectée" in table and "Sources de veille" in table
    out = tmp_path / "export.opml"
    run("watch", "sources", "export", "-o", str(out), "--db", str(db))
    assert out.read_text().count("<outline ") == 4
    # the local server needs private addresses allowed; without it the fetch is refused
    refused = run("watch", "fetch", "--source", "1", "--json", "--db", str(db))
    report = json.loads(refused.output)["sources"][0]
    assert (report["status"], report["new"], report["failures"]) == ("refused", 0, 1)
    allowed = {
        "TERRITORIA_WATCH_ALLOW_PRIVATE": "true",
        "TERRITORIA_WATCH_HOST_DELAY": "0",
        "TERRITORIA_WATCH_FEED_PAGES": "0",
    }
    fetched = run("watch", "fetch", "--source", "1", "--db", str(db), env=allowed)
    assert fetched.exit_code == 0, fetched.output
    assert "2 nouvel(s) élément(s), 0 doublon(s), 0 inchangé(s)" in fetched.output
    assert "réussie" in fetched.output
    again = json.loads(
        run("watch", "fetch", "--source", "1", "--json", "--db", str(db), env=allowed).output
    )
    assert (again["sources"][0]["status"], again["new"]) == ("not_modified", 0)
    removed = run("watch", "sources", "remove", "1", "--db", str(db))
    assert "source 1 « Presse locale » supprimée" in removed.output
    missing = run("watch", "sources", "remove", "99", "--db", str(db))
    assert missing.exit_code == 2 and "no watch source 99" in missing.output


# --------------------------------------------------------------------------- the API


@pytest.fixture(scope="module")
def api_kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kb(mini_db_path, tmp_path_factory.mktemp("watch_sources"))


def test_routes(site: Site, api_kb: Path) -> None:
    site.routes["/feed.xml"] = etag_feed
    application = make_app(
        api_kb, watch_allow_private=True, watch_host_delay=0.0, watch_feed_pages=0
    )
    try:
        with TestClient(application) as client, TestClient(application) as viewer:
            headers = {"X-CSRF-Token": login(client, "analyst")}
            viewer_headers = {"X-CSRF-Token": login(viewer, "viewer")}
            body = {"url": site.url("/feed.xml"), "kind": "feed", "name": "Presse", "tags": ["a"]}
            created = client.post("/api/v1/watch/sources", json=body, headers=headers)
            assert created.status_code == 201, created.text
            source = created.json()
            assert (source["name"], source["tags"], source["created_by"]) == (
                "Presse",
                ["a"],
                "analyst",
            )
            bad = client.post(
                "/api/v1/watch/sources", json={"url": "/nope", "kind": "folder"}, headers=headers
            )
            assert bad.status_code == 422
            assert "does not exist" in bad.json()["error"]["message"]
            forbidden = viewer.post("/api/v1/watch/sources", json=body, headers=viewer_headers)
            assert forbidden.status_code == 403
            listed = client.get("/api/v1/watch/sources").json()
            assert [s["id"] for s in listed] == [source["id"]]
            opml = client.get("/api/v1/watch/sources.opml")
            assert opml.headers["content-type"].startswith("text/x-opml")
            assert f'xmlUrl="{site.url("/feed.xml")}"' in opml.text
            assert (
                client.post(
                    "/api/v1/watch/fetch", json={"source_id": 999}, headers=headers
                ).status_code
                == 404
            )
            job = client.post(
                "/api/v1/watch/fetch", json={"source_id": source["id"]}, headers=headers
            )
            assert job.status_code == 202, job.text
            done = _wait(client, job.json()["id"])
            assert done["status"] == "done", done
            assert done["result"]["sources"][0]["new"] == 2
            log = client.get(f"/api/v1/watch/sources/{source['id']}/fetches").json()
            assert [(e["status"], e["items_new"]) for e in log] == [("ok", 2)]
            assert client.get("/api/v1/watch/sources/999/fetches").status_code == 404
            deleted = client.delete(f"/api/v1/watch/sources/{source['id']}", headers=headers)
            assert deleted.status_code == 204
            assert (
                client.delete(f"/api/v1/watch/sources/{source['id']}", headers=headers).status_code
                == 404
            )
            assert client.get("/api/v1/watch/sources").json() == []
            imported = client.post(
                "/api/v1/watch/sources.opml",
                content=OPML.read_bytes(),
                headers={**headers, "Content-Type": "text/x-opml"},
            )
            assert imported.status_code == 200, imported.text
            assert imported.json()["added"][0]["name"] == "Ouest-Info — Bretagne"
            assert len(imported.json()["skipped"]) == 2
            not_opml = client.post("/api/v1/watch/sources.opml", content=FEED, headers=headers)
            assert not_opml.status_code == 422
    finally:
        application.state.territoria.db.close()


def _wait(client: TestClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = client.get(f"/api/v1/watch/fetch/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return dict(job)
        time.sleep(0.1)
    raise AssertionError("the fetch job did not finish")


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=40
).map(str.strip)
_TAG = _TEXT.map(lambda t: t.replace(",", " ").strip("/ ")).filter(bool)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(_TEXT.filter(bool), st.lists(_TAG, max_size=4, unique=True)),
        min_size=1,
        max_size=5,
    )
)
def test_opml_written_then_read_gives_the_same_feeds(feeds: list[tuple[str, list[str]]]) -> None:
    from territoria.watch._opml import Outline, parse_opml, write_opml

    outlines = [
        Outline(url=f"https://f{i}.example.org/rss?a=1&b=<2>", title=title, tags=tuple(tags))
        for i, (title, tags) in enumerate(feeds)
    ]
    assert parse_opml(write_opml(outlines).encode("utf-8")) == outlines
