"""Watch signals: Kleinberg bursts planted in generated series found to the day and none in
flat Poisson series; bursts per topic, territory and person in the knowledge base with the
items behind them; a term emerging in a territory; the CLI and the route."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import InvalidQuery
from territoria.kb import connect, transaction
from territoria.watch._burst import bursts, g2
from territoria.watch.query import stem
from territoria.watch.signals import period_fr, signals, times_fr
from territoria.watch.topics import add_topic, classify
from test_watch_topics import PERSON

BRUZ = ("commune", "35047")
START = dt.date(2026, 9, 1)
DAYS = 63
BURST = (40, 46)  # days of the planted burst (inclusive)


def test_a_planted_burst_is_found_within_a_day() -> None:
    for seed in range(10):
        rng = np.random.default_rng(seed)
        d = rng.poisson(60, 90).astype(float)
        r = np.minimum(rng.poisson(5, 90), d)
        r[40:47] = rng.poisson(15, 7)  # three times the usual volume for a week
        d[40:47] += r[40:47]
        found = bursts(r[None, :], d)
        assert len(found) == 1, seed
        assert abs(found[0].start - 40) <= 1 and abs(found[0].end - 46) <= 1, found
        ratio = found[0].observed / (found[0].end - found[0].start + 1) / found[0].usual
        assert 2.4 < ratio < 3.6


def test_no_burst_in_flat_poisson_series() -> None:
    rng = np.random.default_rng(7)
    d = rng.poisson(60, (50, 90)).astype(float)
    r = np.minimum(rng.poisson(5, (50, 90)), d)
    assert bursts(r, d) == []
    assert bursts(np.zeros((1, 30)), np.full(30, 10.0)) == []  # nothing relevant: nothing


def test_g2_matches_scipy() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    a, b, n1, n2 = 12.0, 3.0, 40.0, 400.0
    table = [[a, b], [n1 - a, n2 - b]]
    expected = scipy_stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    assert g2(np.array([a]), np.array([b]), np.array([n1]), np.array([n2]))[0] == pytest.approx(
        expected.statistic
    )


def test_french_wording() -> None:
    assert (times_fr(3.1), times_fr(2.6), times_fr(12.0)) == ("trois fois", "2,6 fois", "12,0 fois")
    assert period_fr(dt.date(2026, 12, 3), dt.date(2026, 12, 9)) == "du 3 au 9 décembre"
    assert (
        period_fr(dt.date(2026, 11, 28), dt.date(2026, 12, 1)) == "du 28 novembre au 1er décembre"
    )
    assert period_fr(dt.date(2026, 12, 3), dt.date(2026, 12, 3)) == "le 3 décembre"


def bulk(
    con: duckdb.DuckDBPyConnection,
    days: list[dt.datetime],
    titles: list[str],
    communes: list[str],
    *,
    texts: list[str] | None = None,
    persons: list[str | None] | None = None,
) -> None:
    """Write items 1, 2 … (their days given) linked to their communes (and persons) with SQL,
    and classify them in the same transaction, as ingest does."""
    n = len(days)
    with transaction(con):
        con.execute(
            "INSERT INTO watch_source (kind, url, name, created_by, created_at) VALUES "
            "('feed', 'https://presse.example/rss', 'Presse locale', 'test', now())"
        )
        con.execute(
            "INSERT INTO watch_item (id, source_id, kind, url, canonical_url, title, text, "
            "published, fetched_at, content_hash) SELECT i, 1, 'article', "
            "'https://presse.example/' || i, 'https://presse.example/' || i, t, x, p, p, "
            "i::VARCHAR FROM (SELECT unnest(range(1, ?)) AS i, unnest(?::VARCHAR[]) AS t, "
            "unnest(?::VARCHAR[]) AS x, unnest(?::TIMESTAMP[]) AS p)",
            [n + 1, titles, texts or [""] * n, days],
        )
        con.execute(
            "INSERT INTO watch_link (item_id, type, level, code, name, score, mention) "
            "SELECT unnest(range(1, ?)), 'territory', 'commune', unnest(?::VARCHAR[]), "
            "'', 0.9, ''",
            [n + 1, communes],
        )
        con.execute(
            "INSERT INTO watch_link (item_id, type, code, name, score, mention) "
            "SELECT i, 'person', p, 'Alexandra GUILLORÉ', 0.9, '' FROM (SELECT "
            "unnest(range(1, ?)) AS i, unnest(?::VARCHAR[]) AS p) WHERE p IS NOT NULL",
            [n + 1, persons or [None] * n],
        )
        classify(con, range(1, n + 1))


def _fill(con: duckdb.DuckDBPyConnection, seed: int = 3) -> dict[str, int]:
    """Nine weeks of items: council news in Bruz every day (30 a day), the tramway of Rennes
    (3 a day, 10 a day on days 40–46, with an official), bikes (3 a day, flat), and floods
    in Bruz in the last five days only. Returns how many tramway items the burst days hold."""
    rng = np.random.default_rng(seed)
    days: list[dt.datetime] = []
    titles: list[str] = []
    places: list[str] = []
    persons: list[str | None] = []
    burst_tram = 0
    for t in range(DAYS):
        noon = dt.datetime.combine(START + dt.timedelta(days=t), dt.time(12))
        in_burst = BURST[0] <= t <= BURST[1]
        batches = [
            (rng.poisson(30), "Conseil municipal de Bruz : le budget et les travaux", "35047"),
            (rng.poisson(10 if in_burst else 3), "Le tramway de Rennes et ses rames", "35238"),
            (rng.poisson(3), "Les pistes cyclables et le vélo en ville", "35047"),
        ]
        if t >= DAYS - 5:
            batches.append((2, "Inondations à Bruz : la crue de la Vilaine", "35047"))
        for count, title, code in batches:
            for _ in range(int(count)):
                days.append(noon)
                titles.append(title)
                places.append(code)
                persons.append(PERSON if "tramway" in title else None)
            if "tramway" in title and in_burst:
                burst_tram += int(count)
    bulk(con, days, titles, places, persons=persons)
    return {"burst_tram": burst_tram}


@pytest.fixture
def kb(mini_db: duckdb.DuckDBPyConnection) -> tuple[duckdb.DuckDBPyConnection, dict[str, int]]:
    facts = _fill(mini_db)
    add_topic(mini_db, "Tramway", "tramway")
    add_topic(mini_db, "Vélo", "vélo OR cyclable")
    return mini_db, facts


def test_bursts_per_topic_territory_and_person_with_their_items(
    kb: tuple[duckdb.DuckDBPyConnection, dict[str, int]],
) -> None:
    con, facts = kb
    found = signals(con, kinds=["topic", "territory", "person"])
    assert (found.start, found.end) == (START, START + dt.timedelta(days=DAYS - 1))
    by = {(s.kind, s.label) for s in found.signals}
    first, last = (START + dt.timedelta(days=d) for d in BURST)
    for kind, label in (
        ("topic", "Tramway"),
        ("territory", "Rennes"),
        ("person", "Alexandra GUILLORÉ"),
    ):
        matching = [s for s in found.signals if (s.kind, s.label) == (kind, label)]
        assert len(matching) == 1, by
        burst = matching[0]
        assert abs((burst.start - first).days) <= 1 and abs((burst.end - last).days) <= 1
        assert 2 < burst.ratio < 5
        assert all("tramway" in item.title for item in burst.items)
        assert all(burst.start <= item.day <= burst.end for item in burst.items)
        if burst.start == first and burst.end == last:
            assert burst.item_count == facts["burst_tram"]
    # the flat series (bikes, Bruz's council news) have no burst
    assert ("topic", "Vélo") not in by and ("territory", "Bruz") not in by
    topic = next(s for s in found.signals if s.kind == "topic")
    assert "fois le volume habituel sur le thème « Tramway » du " in topic.summary
    assert "octobre" in topic.summary


def test_a_departement_bursts_from_its_communes(mini_db: duckdb.DuckDBPyConnection) -> None:
    # a few items a day about four communes of Ille-et-Vilaine, four times as many for a week,
    # among items about Brest (Finistère): each commune alone is thin, the département is not
    rng = np.random.default_rng(9)
    communes = ["35238", "35047", "35024", "35051"]
    rows: list[tuple[dt.datetime, str]] = []
    for t in range(60):
        noon = dt.datetime(2026, 9, 1, 12) + dt.timedelta(days=t)
        rows += [(noon, "29019")] * int(rng.poisson(20))
        rate = 8 if 30 <= t <= 36 else 2
        rows += [(noon, communes[int(k)]) for k in rng.integers(0, 4, rng.poisson(rate))]
    bulk(mini_db, [r[0] for r in rows], ["Actualité"] * len(rows), [r[1] for r in rows])
    found = signals(mini_db, kinds=["territory"]).signals
    dept = [s for s in found if (s.level, s.key) == ("departement", "35")]
    assert len(dept) == 1 and dept[0].label == "Ille-et-Vilaine"
    assert abs((dept[0].start - dt.date(2026, 10, 1)).days) <= 1
    assert abs((dept[0].end - dt.date(2026, 10, 7)).days) <= 1


def test_a_term_emerges_in_its_territory(
    kb: tuple[duckdb.DuckDBPyConnection, dict[str, int]],
) -> None:
    con, _ = kb
    found = signals(con, kinds=["term"])
    terms = {(s.territory_code, s.key): s for s in found.signals}
    flood = terms[("35047", stem("inondations"))]
    assert flood.label == "inondations" and flood.territory == "Bruz"
    assert flood.item_count == 10 and flood.weight > 10.83
    assert len(flood.items) == 10 and all("Inondations" in i.title for i in flood.items)
    assert flood.summary.startswith("« inondations » émerge pour Bruz du 29 octobre au 2 novembre")
    assert flood.summary.endswith("10 articles récents le citent, aucun auparavant")
    # the words of every day do not emerge, nor stop words
    assert not {stem("budget"), stem("conseil"), "de", "la", "le"} & {k for _, k in terms}


def test_no_term_emerges_from_a_steady_vocabulary(mini_db: duckdb.DuckDBPyConnection) -> None:
    # 60 days, 40 items a day over 20 communes, each item six words drawn from the same 60:
    # hundreds of (territory, term) tests, and none may pass for news
    rng = np.random.default_rng(5)
    words = [f"mot{k}" for k in range(60)]
    sql = "SELECT code FROM territory WHERE level = 'commune' ORDER BY code LIMIT 20"
    communes = [r[0] for r in mini_db.execute(sql).fetchall()]
    n = 60 * 40
    texts = [" ".join(rng.choice(words, 6)) for _ in range(n)]
    days = [dt.datetime(2026, 9, 1, 12) + dt.timedelta(days=int(k // 40)) for k in range(n)]
    places = [communes[int(k)] for k in rng.integers(0, 20, n)]
    bulk(mini_db, days, [""] * n, places, texts=texts)
    assert signals(mini_db, kinds=["term"]).signals == []
    # the same test at p < 0.001 each, with no correction for their number, finds flukes
    loose = signals(mini_db, kinds=["term"], term_alpha=1.0, term_rise=1.0)
    assert loose.signals != []


def test_period_and_kind_checks(kb: tuple[duckdb.DuckDBPyConnection, dict[str, int]]) -> None:
    con, _ = kb
    with pytest.raises(InvalidQuery, match="type de signal inconnu 'pic'"):
        signals(con, kinds=["pic"])
    with pytest.raises(InvalidQuery, match="la période commence"):
        signals(con, since=dt.date(2027, 1, 1), until=dt.date(2026, 12, 1))
    before = signals(con, until=START + dt.timedelta(days=30), kinds=["topic"])
    assert before.signals == []  # the burst lies after the period


def test_empty_watch(mini_db: duckdb.DuckDBPyConnection) -> None:
    found = signals(mini_db)
    assert (found.signals, found.items, found.start) == ([], 0, None)


def test_cli_and_route(mini_db_path: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from test_api_helpers import login, make_app, make_kb

    path = make_kb(mini_db_path, tmp_path)
    con = connect(path)
    _fill(con)
    add_topic(con, "Tramway", "tramway")
    con.close()
    runner = CliRunner()
    out = runner.invoke(app, ["watch", "signals", "--kind", "topic", "--json", "--db", str(path)])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert [s["label"] for s in data["signals"]] == ["Tramway"]
    assert data["signals"][0]["items"][0]["title"] == "Le tramway de Rennes et ses rames"
    text = runner.invoke(app, ["watch", "signals", "--db", str(path)], env={"COLUMNS": "200"})
    assert text.exit_code == 0, text.output
    assert "Signaux du 01/09/2026 au 02/11/2026" in text.stdout
    assert "thème" in text.stdout and "terme émergent" in text.stdout
    application = make_app(path)
    try:
        with TestClient(application) as client:
            login(client, "viewer")
            got = client.get("/api/v1/watch/signals", params={"kind": ["topic", "person"]})
            assert got.status_code == 200, got.text
            kinds = sorted(s["kind"] for s in got.json()["signals"])
            assert kinds == ["person", "topic"]
            assert client.get("/api/v1/watch/signals", params={"kind": "pic"}).status_code == 422
    finally:
        application.state.territoria.db.close()
