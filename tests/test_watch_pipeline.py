"""The ingest pipeline on the mini knowledge base: a story in two feeds (the second points to
the first), a near duplicate, a re-fetch unchanged, a document without text reported, links
and topics stored, and nothing stored when the transaction fails."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from territoria.kb._transaction import BEFORE_COMMIT
from territoria.watch._model import Document
from territoria.watch.items import get_item
from territoria.watch.pipeline import STAGES, ingest
from territoria.watch.sources import add_source

DATA = Path(__file__).parent / "data" / "watch" / "extract"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

BRUZ = (
    "Réuni lundi soir, le conseil municipal de Bruz a adopté le budget primitif 2027. Il "
    "s'élève à 38 millions d'euros, dont 11 millions consacrés à l'investissement, en "
    "particulier pour la rénovation énergétique des écoles et la nouvelle médiathèque. Le maire "
    "Jean-René Houssin a rappelé que les taux communaux de fiscalité resteront inchangés pour "
    "la sixième année consécutive. L'opposition a voté contre, regrettant l'absence d'un plan "
    "pour le logement des jeunes actifs. La séance a aussi approuvé une convention avec Rennes "
    "Métropole pour l'entretien des pistes cyclables reliant Bruz à Chartres-de-Bretagne."
)
BRUZ_REWRITTEN = BRUZ.replace(
    "L'opposition a voté contre, regrettant l'absence d'un plan pour le logement des jeunes "
    "actifs.",
    "Les élus minoritaires se sont opposés au texte.",
)


@pytest.fixture
def feeds(mini_db: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Two feed sources: a local paper and a news agency."""
    a = add_source(mini_db, "https://www.echo-ille-et-vilaine.example/rss", kind="feed",
                   name="L'Écho d'Ille-et-Vilaine")  # fmt: skip
    b = add_source(mini_db, "https://depeches.example/bretagne.xml", kind="feed",
                   name="Dépêches Bretagne")  # fmt: skip
    return a.id, b.id


def _entry(source: int, url: str, title: str, text: str, *, day: int = 1) -> Document:
    return Document(
        source_id=source,
        kind="article",
        url=url,
        fetched_at=NOW,
        entry={
            "title": title,
            "link": url,
            "content": [{"type": "text/html", "value": f"<p>{text}</p>"}],
            "published": f"{day} décembre 2026 à 18h00",
        },
    )


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def test_story_in_two_feeds_points_to_the_first(
    mini_db: duckdb.DuckDBPyConnection, feeds: tuple[int, int]
) -> None:
    echo, agency = feeds
    first = ingest(mini_db, [_entry(echo, "https://www.echo-ille-et-vilaine.example/bruz-budget?utm_source=rss",
                                    "Bruz adopte son budget 2027", BRUZ)])  # fmt: skip
    assert (first.new, first.duplicates, first.unchanged, first.errors) == (1, 0, 0, [])
    original = first.item_ids[0]
    second = ingest(mini_db, [
        _entry(agency, "https://depeches.example/2026/12/01/bruz", "Budget : Bruz vote", BRUZ),
        _entry(agency, "https://depeches.example/2026/12/01/bruz-2", "Bruz : le budget voté",
               BRUZ_REWRITTEN),
    ])  # fmt: skip
    assert (second.new, second.duplicates) == (0, 2)
    same, near = (get_item(mini_db, i) for i in second.item_ids)
    assert (same.duplicate_of, same.duplicate_score) == (original, 1.0)
    assert near.duplicate_of == original
    assert near.duplicate_score is not None and 0.6 <= near.duplicate_score < 1.0
    kept = get_item(mini_db, original)
    assert kept.duplicate_of is None
    assert kept.canonical_url == "https://www.echo-ille-et-vilaine.example/bruz-budget"
    assert kept.published == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 18h00 in Paris
    assert kept.source.name == "L'Écho d'Ille-et-Vilaine"


def test_links_are_stored_with_their_offsets(
    mini_db: duckdb.DuckDBPyConnection, feeds: tuple[int, int]
) -> None:
    report = ingest(
        mini_db, [_entry(feeds[0], "https://e.example/bruz", "Bruz adopte son budget", BRUZ)]
    )
    item = get_item(mini_db, report.item_ids[0])
    territories = {(k["level"], k["code"]) for k in item.links if k["type"] == "territory"}
    assert ("commune", "35047") in territories  # Bruz
    persons = {k["id"]: k["name"] for k in item.links if k["type"] == "person"}
    assert persons.get("p-315154628c1e16") == "Jean-René Houssin"  # the mayor of Bruz
    full = f"{item.title}\n\n{item.text}"
    for link in item.links:
        assert full[link["start"] : link["end"]] == link["mention"]
    assert report.links == len(item.links) == _count(mini_db, "watch_link")
    # the reader highlights every mention; the longest wins where two overlap
    marked = {(s.text, item.links[s.link].get("code") or item.links[s.link]["id"])
              for s in item.segments() if s.link is not None}  # fmt: skip
    assert ("conseil municipal de Bruz", "cm-35047") in marked
    assert ("Bruz", "35047") in marked  # "reliant Bruz à Chartres-de-Bretagne"
    assert ("Jean-René Houssin", "p-315154628c1e16") in marked
    assert "".join(s.text for s in item.segments()) == item.text


def test_refetch_is_unchanged_and_stage_times_are_recorded(
    mini_db: duckdb.DuckDBPyConnection, feeds: tuple[int, int]
) -> None:
    docs = [_entry(feeds[0], "https://e.example/bruz", "Bruz adopte son budget", BRUZ)]
    first = ingest(mini_db, docs)
    again = ingest(mini_db, docs)
    assert (again.new, again.duplicates, again.unchanged, again.item_ids) == (0, 0, 1, [])
    assert _count(mini_db, "watch_item") == 1
    assert set(first.timings) == set(STAGES)
    assert first.timings["extraction"] > 0 and first.timings["linking"] > 0
    assert first.timings["storage"] > 0


def test_document_without_text_is_reported_and_the_others_stored(
    mini_db: duckdb.DuckDBPyConnection, feeds: tuple[int, int]
) -> None:
    empty = Document(source_id=feeds[0], kind="article", url="https://e.example/vide",
                     fetched_at=NOW, body=(DATA / "empty_page.html").read_bytes(),
                     content_type="text/html")  # fmt: skip
    report = ingest(mini_db, [empty, _entry(feeds[0], "https://e.example/bruz", "Bruz", BRUZ)])
    assert report.new == 1
    assert len(report.errors) == 1 and report.errors[0].startswith("https://e.example/vide: ")
    assert "no text" in report.errors[0]


def test_topics_are_filed_in_the_same_call(
    mini_db: duckdb.DuckDBPyConnection, feeds: tuple[int, int]
) -> None:
    from territoria.watch.topics import add_topic

    topic = add_topic(mini_db, "Budgets communaux", '"budget primitif" AND (Bruz OR Rennes)')
    other = add_topic(mini_db, "Métro", "métro")
    report = ingest(mini_db, [_entry(feeds[0], "https://e.example/bruz", "Bruz", BRUZ)])
    assert report.topics == 1
    assert [t.id for t in get_item(mini_db, report.item_ids[0]).topics] == [topic.id]
    assert other.id != topic.id


def test_an_error_in_the_transaction_leaves_no_item(
    mini_db: duckdb.DuckDBPyConnection, feeds: tuple[int, int]
) -> None:
    from territoria.watch.topics import add_topic

    add_topic(mini_db, "Budgets", "budget")
    generation = mini_db.execute("SELECT generation FROM kb_state").fetchone()

    def fail() -> None:  # the commit of ingest's transaction fails
        raise RuntimeError("disk full")

    docs = [_entry(feeds[0], f"https://e.example/{i}", f"Budget {i}", BRUZ + f" Séance {i}.")
            for i in range(3)]  # fmt: skip
    BEFORE_COMMIT.append(fail)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            ingest(mini_db, docs)
    finally:
        BEFORE_COMMIT.remove(fail)
    for table in ("watch_item", "watch_link", "watch_item_topic", "alert_delivery"):
        assert _count(mini_db, table) == 0, table
    assert mini_db.execute("SELECT generation FROM kb_state").fetchone() == generation
    assert len(ingest(mini_db, docs).item_ids) == 3  # they go in once the disk has room
