"""De-duplication of watch items: same address, same text, near duplicates (one sentence
changed) found, other stories on the same subject not, re-fetches unchanged."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import duckdb

from territoria.watch import dedup

NOW = datetime(2026, 12, 2, 9, 0)

STORY = (
    "Le conseil métropolitain de Rennes Métropole a voté jeudi soir le prolongement de la "
    "ligne b du métro jusqu'à Cesson-Sévigné. Les travaux doivent commencer en 2028 pour une "
    "mise en service espérée en 2032. Le projet prévoit trois nouvelles stations, dont une au "
    "cœur de la zone d'activités de la Rigourdière. Le coût est estimé à 420 millions d'euros, "
    "financés par la métropole, la Région Bretagne et l'État. C'est une décision attendue "
    "depuis dix ans par les habitants de l'est de l'agglomération, a déclaré l'élue chargée "
    "des mobilités. Les communes de Thorigné-Fouillard et d'Acigné demandent déjà une étude "
    "pour une desserte par bus à haut niveau de service. Le Département d'Ille-et-Vilaine "
    "s'est engagé à adapter le réseau routier autour de la future station terminus. Une "
    "concertation publique sera ouverte au printemps 2027 dans les mairies concernées."
)
#: The same dispatch as another paper prints it: one sentence rewritten.
ONE_SENTENCE_CHANGED = STORY.replace(
    "C'est une décision attendue depuis dix ans par les habitants de l'est de l'agglomération, "
    "a déclaré l'élue chargée des mobilités.",
    "Une attente de plus de dix ans prend fin pour l'est rennais, s'est félicitée la "
    "vice-présidente.",
)
#: Another story on the same subject, written with many of the same words.
OTHER_STORY = (
    "Le conseil municipal de Cesson-Sévigné a débattu lundi du tracé de la ligne b du métro. "
    "Plusieurs élus de l'opposition contestent l'emplacement de la station terminus, jugée "
    "trop éloignée du centre-ville. La commune demande à Rennes Métropole une étude "
    "complémentaire sur le stationnement et les pistes cyclables. Les riverains de la "
    "Rigourdière craignent des nuisances pendant les travaux, prévus à partir de 2028. Le "
    "maire souhaite qu'une réunion publique soit organisée avant la fin de l'année. La "
    "Région Bretagne n'a pas encore confirmé sa participation au financement du projet."
)


def _candidate(text: str, *, source: int = 1, url: str = "https://a.fr/1",
               kind: str = "article", when: datetime = NOW) -> dedup.Candidate:  # fmt: skip
    return dedup.candidate(source_id=source, kind=kind, canonical_url=url, text=text,
                           fetched_at=when)  # fmt: skip


def _store(con: duckdb.DuckDBPyConnection, c: dedup.Candidate, text: str,
           duplicate_of: int | None = None) -> int:  # fmt: skip
    """Store an item as ingest does: its row, MinHash signature and bands."""
    row = con.execute(
        "INSERT INTO watch_item (source_id, kind, url, canonical_url, text, fetched_at, "
        "content_hash, simhash, duplicate_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [c.source_id, c.kind, c.canonical_url, c.canonical_url, text, c.fetched_at,
         c.content_hash, c.simhash, duplicate_of],
    ).fetchone()  # fmt: skip
    assert row is not None
    item_id = int(row[0])
    con.execute("INSERT INTO watch_minhash VALUES (?, ?)", [item_id, list(c.signature)])
    for band, value in enumerate(c.bands):
        con.execute("INSERT INTO watch_band VALUES (?, ?, ?)", [item_id, band, value])
    return item_id


def test_normalised_text_hash_ignores_case_accents_and_punctuation() -> None:
    assert dedup.content_hash("Le Conseil a VOTÉ : oui !") == dedup.content_hash(
        "le conseil a vote oui"
    )
    assert dedup.content_hash("Le conseil a voté.") != dedup.content_hash(
        "Le conseil n'a pas voté."
    )


def test_one_sentence_changed_shares_a_band_and_other_story_does_not() -> None:
    a, b, c = (_candidate(t) for t in (STORY, ONE_SENTENCE_CHANGED, OTHER_STORY))
    assert set(enumerate(a.bands)) & set(enumerate(b.bands))
    assert not set(enumerate(a.bands)) & set(enumerate(c.bands))
    assert 0.7 < dedup.resemblance(a.shingles, b.shingles) < 1.0
    assert dedup.resemblance(a.shingles, c.shingles) < 0.1
    # the signature estimates the resemblance
    same = sum(x == y for x, y in zip(a.signature, b.signature, strict=True)) / len(a.signature)
    assert abs(same - dedup.resemblance(a.shingles, b.shingles)) < 0.2


def test_stored_copies_are_found(mini_db: duckdb.DuckDBPyConnection) -> None:
    original = _store(mini_db, _candidate(STORY, source=1, url="https://a.fr/metro"), STORY)
    copy = _store(mini_db, _candidate(STORY, source=2, url="https://b.fr/x"), STORY, original)
    batch = [
        _candidate(STORY, source=1, url="https://a.fr/metro"),  # the same source again
        _candidate(
            "Le marché de Noël ouvre samedi.", source=3, url="https://a.fr/metro"
        ),  # same address
        _candidate(STORY.upper(), source=3, url="https://c.fr/1"),  # same text
        _candidate(ONE_SENTENCE_CHANGED, source=3, url="https://c.fr/2"),  # near
        _candidate(OTHER_STORY, source=3, url="https://c.fr/3"),  # another story
    ]
    got = dedup.decide(mini_db, batch)
    assert got[0].status == "unchanged" and got[0].of == original
    # every duplicate points to the earliest original, not to the copy that repeats it
    assert (got[1].of, got[1].score, got[1].reason) == (original, 1.0, "url")
    assert (got[2].of, got[2].score, got[2].reason) == (original, 1.0, "text")
    assert got[3].of == original and got[3].reason == "near"
    assert got[3].score is not None and 0.7 < got[3].score < 1.0
    assert got[4] == dedup.Decision("new")
    assert copy != original


def test_near_duplicates_only_within_the_window(mini_db: duckdb.DuckDBPyConnection) -> None:
    old = NOW - timedelta(days=dedup.WINDOW_DAYS + 5)
    _store(mini_db, _candidate(STORY, url="https://a.fr/old", when=old), STORY)
    near = _candidate(ONE_SENTENCE_CHANGED, source=2, url="https://b.fr/new")
    assert dedup.decide(mini_db, [near])[0] == dedup.Decision("new")
    assert dedup.decide(mini_db, [near], window_days=60)[0].reason == "near"


def test_copies_inside_one_batch(mini_db: duckdb.DuckDBPyConnection) -> None:
    batch = [
        _candidate(STORY, source=1, url="https://a.fr/1"),
        _candidate(ONE_SENTENCE_CHANGED, source=2, url="https://b.fr/1"),
        _candidate(STORY, source=1, url="https://a.fr/1"),  # the feed lists it twice
        _candidate(OTHER_STORY, source=2, url="https://b.fr/2"),
        _candidate(ONE_SENTENCE_CHANGED, source=3, url="https://c.fr/1"),
    ]
    got = dedup.decide(mini_db, batch)
    assert got[0] == dedup.Decision("new")
    assert (got[1].of, got[1].in_batch, got[1].reason) == (0, True, "near")
    assert got[2].status == "unchanged"
    assert got[3] == dedup.Decision("new")
    assert (got[4].of, got[4].in_batch) == (0, True)  # the original, not its copy 1


def test_page_changes_of_one_source_compare_texts(mini_db: duckdb.DuckDBPyConnection) -> None:
    first = _candidate(STORY, url="https://p.fr/page", kind="change")
    _store(mini_db, first, STORY)
    again = _candidate(STORY, url="https://p.fr/page", kind="change")
    changed = _candidate(OTHER_STORY, url="https://p.fr/page", kind="change")
    got = dedup.decide(mini_db, [again, changed])
    assert got[0].status == "unchanged"
    assert got[1] == dedup.Decision("new")  # a new version of the page is a new item


def test_no_false_positive_among_the_fixture_pages() -> None:
    """Pairs of different stories of the fixtures are never taken for duplicates."""
    from pathlib import Path

    from territoria.watch._model import Document
    from territoria.watch.extract import extract

    folder = Path(__file__).parent / "data" / "watch" / "extract"
    texts = [OTHER_STORY]  # STORY is the metro article of the fixtures
    for path in sorted(folder.iterdir()):
        if path.name == "empty_page.html":
            continue
        doc = Document(source_id=1, kind="document", url=f"https://x.fr/{path.name}",
                       fetched_at=NOW, body=path.read_bytes())  # fmt: skip
        texts.append(extract(doc).text)
    grams = [dedup.shingles(dedup.words(t)) for t in texts]
    for a, b in itertools.combinations(grams, 2):
        assert dedup.resemblance(a, b) < dedup.MIN_RESEMBLANCE
