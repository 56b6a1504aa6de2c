"""Watch signals: bursts of items per topic, territory and person, and emerging terms.

Bursts
    Daily counts of original items (duplicates left out) per topic (``watch_item_topic``),
    per territory linked or holding one linked (a commune's items count for its EPCI,
    département and région too) and per person linked (``watch_link``), counted in SQL,
    against the day's count of all original items; Kleinberg's two-state automaton
    (:mod:`territoria.watch._burst`) marks the runs of days at about twice the usual rate or
    more. Each burst has its days, weight, usual and observed volume per day ("trois fois le
    volume habituel") and the items behind it.
Emerging terms
    Per territory, the stems of the recent items (the last ``recent_days`` days) whose share of
    items rises well above their share in the earlier items of the same territory: twice
    what the earlier share predicts at least, Dunning's G² above the χ²₁ quantile of a
    family-wise risk of 1 % over all the (territory, term) pairs tested (Bonferroni; never
    below :data:`MIN_G2`, p < 0.001), found in :data:`MIN_TERM_ITEMS` recent items at least;
    French stop words are left out.

An item's day is its publication date, or its fetch date when it has none or states a later
one. The series run from ``since`` (default: 90 days before ``until``, or the first item's day
when later) to ``until`` (default: the latest item's day). A burst's usual volume is the
series' mean count on its days in the usual state; its observed volume, the mean over the
burst's days.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from territoria.errors import InvalidQuery
from territoria.watch._burst import bursts, g2
from territoria.watch.query import places_sql, stem, territory_sql, tokens

if TYPE_CHECKING:
    import duckdb

__all__ = ["KINDS", "Signal", "SignalItem", "SignalList", "signals"]

SignalKind = Literal["topic", "territory", "person", "term"]
KINDS: tuple[SignalKind, ...] = ("topic", "territory", "person", "term")
WINDOW_DAYS = 90
RECENT_DAYS = 7
MIN_G2 = 10.83
#: Chance that any emerging term reported in a period is a fluke (Bonferroni over the pairs).
FAMILY_ALPHA = 0.01
#: A term emerges when its recent items are at least this many times what its earlier share
#: predicts.
MIN_RISE = 2.0
MIN_TERM_ITEMS = 3
MIN_BACKGROUND_ITEMS = 20
ITEMS_PER_SIGNAL = 20
TERMS_PER_TERRITORY = 5
MAX_LIMIT = 500

_DAY = "CAST(least(coalesce(i.published, i.fetched_at), i.fetched_at) AS DATE)"
_LIVE = "i.deleted_at IS NULL AND i.duplicate_of IS NULL"

#: The (key, level, item_id) of each series, over the items of ``docs`` (the period's).
_SERIES_SQL: dict[str, str] = {
    "topic": (
        "SELECT it.topic_id::VARCHAR AS key, NULL AS level, it.item_id "
        "FROM watch_item_topic it JOIN watch_topic t ON t.id = it.topic_id "
        "WHERE t.deleted_at IS NULL AND it.item_id IN (SELECT id FROM docs)"
    ),
    # an item counts for the territories it is linked to and for the commune, EPCI,
    # département and région they lie in (not for cantons and circonscriptions, which would
    # repeat their commune's bursts)
    "territory": (
        "SELECT code AS key, level, item_id FROM watch_link "
        "WHERE type = 'territory' AND item_id IN (SELECT id FROM docs) "
        "UNION SELECT code, level, item_id FROM ("
        + places_sql("item_id IN (SELECT id FROM docs)")
        + ") WHERE level IN ('commune', 'epci', 'departement', 'region')"
    ),
    "person": (
        "SELECT code AS key, NULL AS level, item_id FROM watch_link "
        "WHERE type = 'person' AND item_id IN (SELECT id FROM docs)"
    ),
}
#: The names of the series' keys, as the knowledge base writes them.
_LABEL_SQL: dict[str, str] = {
    "topic": "SELECT id::VARCHAR, NULL, name FROM watch_topic",
    "territory": "SELECT code, level, name FROM territory",
    "person": "SELECT id, NULL, first_name || ' ' || last_name FROM person",
}

_NUMBERS = {2: "deux", 3: "trois", 4: "quatre", 5: "cinq", 6: "six", 7: "sept", 8: "huit"}
_NUMBERS |= {9: "neuf", 10: "dix"}
_MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"


@dataclass(frozen=True)
class SignalItem:
    """An item behind a signal."""

    id: int
    title: str
    url: str
    day: dt.date

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"id": self.id, "title": self.title, "url": self.url, "day": self.day.isoformat()}


@dataclass(frozen=True)
class Signal:
    """A burst of a topic, territory or person, or a term emerging in a territory."""

    kind: SignalKind
    key: str  # topic id, territory code, person id, or the term's stem
    label: str  # topic name, territory or person name, or the term as items write it
    level: str | None  # a territory's level (kinds 'territory' and 'term')
    territory: str | None  # kind 'term': the territory's name
    territory_code: str | None  # kind 'term': the territory's code
    start: dt.date
    end: dt.date
    weight: float  # bursts: Kleinberg weight; terms: G²
    usual: float  # bursts: items a day on the series' usual days; terms: recent items expected
    observed: float  # bursts: items a day during the burst; terms: recent items found
    item_count: int
    ongoing: bool  # it lasts until the last day of the series
    items: list[SignalItem] = field(default_factory=list)
    earlier: int = 0  # terms: the earlier items of the territory that cite it

    @property
    def ratio(self) -> float:
        """Observed over usual volume."""
        return self.observed / self.usual if self.usual > 0 else float("inf")

    @property
    def summary(self) -> str:
        """One French sentence: « trois fois le volume habituel sur … du 3 au 9 décembre »."""
        times = times_fr(self.ratio)
        days = period_fr(self.start, self.end)
        if self.kind == "term":
            head = f"« {self.label} » émerge pour {self.territory} {days} : {self.item_count} "
            if not self.earlier:
                return head + "articles récents le citent, aucun auparavant"
            return (
                head + f"articles récents le citent, {times} ce que la période précédente "
                f"laissait attendre ({self.earlier} article(s) avant)"
            )
        what = {"topic": "le thème", "territory": "", "person": ""}[self.kind]
        subject = f"{what} « {self.label} »" if what else self.label
        return (
            f"{times} le volume habituel sur {subject} {days} ({self.item_count} articles, "
            f"{_decimal(self.usual)} par jour d'habitude, {_decimal(self.observed)} pendant le pic)"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "kind": self.kind,
            "key": self.key,
            "label": self.label,
            "level": self.level,
            "territory": self.territory,
            "territory_code": self.territory_code,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "weight": round(self.weight, 2),
            "usual": round(self.usual, 3),
            "observed": round(self.observed, 3),
            "ratio": round(self.ratio, 2) if self.usual > 0 else None,
            "item_count": self.item_count,
            "earlier": self.earlier,
            "ongoing": self.ongoing,
            "summary": self.summary,
            "items": [i.to_dict() for i in self.items],
        }


@dataclass(frozen=True)
class SignalList:
    """The signals of a period, the latest and heaviest first."""

    start: dt.date | None
    end: dt.date | None
    signals: list[Signal]
    items: int  # original items in the period

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "items": self.items,
            "signals": [s.to_dict() for s in self.signals],
        }


def _decimal(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def times_fr(ratio: float) -> str:
    """``3.1`` → ``trois fois``; ``1.6`` → ``1,6 fois``; above ten in figures."""
    if ratio == float("inf"):
        return "bien plus que"
    whole = round(ratio)
    if abs(ratio - whole) < 0.25 and whole in _NUMBERS:
        return f"{_NUMBERS[whole]} fois"
    return f"{_decimal(ratio)} fois"


def period_fr(start: dt.date, end: dt.date) -> str:
    """``du 3 au 9 décembre``, ``le 3 décembre``, ``du 28 novembre au 4 décembre``."""
    months = _MONTHS.split()

    def day(d: dt.date, month: bool = True, year: bool = False) -> str:
        text = "1er" if d.day == 1 else str(d.day)
        if month:
            text += f" {months[d.month - 1]}"
        return text + (f" {d.year}" if year else "")

    if start == end:
        return f"le {day(start)}"
    same_month = (start.year, start.month) == (end.year, end.month)
    return f"du {day(start, month=not same_month, year=start.year != end.year)} au {day(end)}"


def _window(
    con: duckdb.DuckDBPyConnection, since: dt.date | None, until: dt.date | None
) -> tuple[dt.date, dt.date] | None:
    if until is None:
        row = con.execute(f"SELECT max({_DAY}) FROM watch_item i WHERE {_LIVE}").fetchone()
        if row is None or row[0] is None:
            return None
        until = row[0]
    assert until is not None
    start = since
    if start is None:
        row = con.execute(f"SELECT min({_DAY}) FROM watch_item i WHERE {_LIVE}").fetchone()
        first = row[0] if row and row[0] is not None else until
        start = max(first, until - dt.timedelta(days=WINDOW_DAYS - 1))
    if start > until:
        msg = (
            f"la période commence le {start} après sa fin le {until} : choisir une date antérieure"
        )
        raise InvalidQuery(msg)
    return start, until


def _totals(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> np.ndarray[Any, Any]:
    days = (end - start).days + 1
    rows = con.execute(
        f"SELECT {_DAY} - ?::DATE AS t, count(*) FROM watch_item i WHERE {_LIVE} "
        f"AND {_DAY} BETWEEN ? AND ? GROUP BY t",
        [start, start, end],
    ).fetchall()
    totals = np.zeros(days)
    for t, n in rows:
        totals[int(t)] = n
    return totals


def _bursts_of(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    start: dt.date,
    end: dt.date,
    totals: np.ndarray[Any, Any],
) -> list[Signal]:
    rows = con.execute(
        f"WITH docs AS MATERIALIZED (SELECT i.id, {_DAY} - ?::DATE AS t FROM watch_item i "
        f"WHERE {_LIVE} AND {_DAY} BETWEEN ? AND ?), "
        f"s AS (SELECT DISTINCT key, level, item_id FROM ({_SERIES_SQL[kind]})) "
        "SELECT s.key, s.level, list(docs.t) FROM s JOIN docs ON docs.id = s.item_id "
        "GROUP BY s.key, s.level HAVING count(*) >= 3",
        [start, start, end],
    ).fetchall()
    if not rows:
        return []
    counts = np.zeros((len(rows), len(totals)))
    series = np.repeat(np.arange(len(rows)), [len(r[2]) for r in rows])
    np.add.at(counts, (series, np.concatenate([r[2] for r in rows]).astype(np.int64)), 1.0)
    found = bursts(counts, totals)
    keys = sorted({(str(rows[b.series][0]), rows[b.series][1]) for b in found})
    labels = (
        {
            (str(k), lv): name
            for k, lv, name in con.execute(
                f"SELECT n.key, n.level, n.name FROM ({_LABEL_SQL[kind]}) AS n(key, level, name) "
                "JOIN (SELECT unnest(?::VARCHAR[]) AS key, unnest(?::VARCHAR[]) AS level) w "
                "ON n.key = w.key AND n.level IS NOT DISTINCT FROM w.level",
                [[k for k, _ in keys], [lv for _, lv in keys]],
            ).fetchall()
        }
        if keys
        else {}
    )
    out = []
    for b in found:
        key, level, _ = rows[b.series]
        days = b.end - b.start + 1
        out.append(
            Signal(
                kind=kind,  # type: ignore[arg-type]
                key=str(key),
                label=str(labels.get((str(key), level)) or _link_name(con, kind, str(key))),
                level=level,
                territory=None,
                territory_code=None,
                start=start + dt.timedelta(days=b.start),
                end=start + dt.timedelta(days=b.end),
                weight=b.weight,
                usual=b.usual,
                observed=b.observed / days,
                item_count=int(b.observed),
                ongoing=b.end == len(totals) - 1,
            )
        )
    return out


def _link_name(con: duckdb.DuckDBPyConnection, kind: str, key: str) -> str:
    """The name the links give a key the knowledge base lacks (else the key itself)."""
    row = con.execute(
        "SELECT any_value(name) FROM watch_link WHERE type = ? AND code = ? AND name <> ''",
        [kind, key],
    ).fetchone()
    return str(row[0]) if row and row[0] else key


@lru_cache(maxsize=1)
def _stop_stems() -> frozenset[str]:
    from spacy.lang.fr.stop_words import STOP_WORDS

    return frozenset(stem(w) for w in STOP_WORDS)


def _terms(
    con: duckdb.DuckDBPyConnection,
    start: dt.date,
    end: dt.date,
    recent_days: int,
    alpha: float = FAMILY_ALPHA,
    rise: float = MIN_RISE,
) -> list[Signal]:
    recent = max(start, end - dt.timedelta(days=recent_days - 1))
    # the recent items' stems first (few), then the earlier items' counts of those only
    rows = con.execute(
        "WITH docs AS MATERIALIZED ("
        f" SELECT i.id, {_DAY} AS day, {_DAY} >= ? AS recent FROM watch_item i WHERE {_LIVE}"
        f" AND {_DAY} BETWEEN ? AND ?), "
        "tl AS MATERIALIZED (SELECT DISTINCT l.item_id, l.level, l.code, docs.day, docs.recent "
        " FROM watch_link l JOIN docs ON docs.id = l.item_id WHERE l.type = 'territory'), "
        "n AS (SELECT level, code, count(*) FILTER (WHERE recent) AS n1, "
        " count(*) FILTER (WHERE NOT recent) AS n2 FROM tl "
        " GROUP BY ALL HAVING n1 >= ? AND n2 >= ?), "
        "fresh AS MATERIALIZED (SELECT tl.level, tl.code, t.term, count(*) AS a, "
        " any_value(n.n1) AS n1, any_value(n.n2) AS n2, min(tl.day) AS first, "
        " max(tl.day) AS last FROM tl JOIN n ON n.level = tl.level AND n.code = tl.code "
        " JOIN watch_term t ON t.item_id = tl.item_id "
        " WHERE tl.recent AND length(t.term) >= 3 AND NOT regexp_full_match(t.term, '[0-9]+') "
        " GROUP BY tl.level, tl.code, t.term HAVING a >= ?), "
        "earlier AS (SELECT tl.level, tl.code, t.term, count(*) AS b FROM tl "
        " JOIN watch_term t ON t.item_id = tl.item_id "
        " WHERE NOT tl.recent AND t.term IN (SELECT DISTINCT term FROM fresh) "
        " AND (tl.level, tl.code, t.term) IN (SELECT level, code, term FROM fresh) "
        " GROUP BY ALL) "
        "SELECT f.level, f.code, f.term, f.a, coalesce(e.b, 0), f.n1, f.n2, f.first, f.last "
        "FROM fresh f LEFT JOIN earlier e ON e.level = f.level AND e.code = f.code "
        "AND e.term = f.term",
        [recent, start, end, MIN_TERM_ITEMS, MIN_BACKGROUND_ITEMS, MIN_TERM_ITEMS],
    ).fetchall()
    stop = _stop_stems()
    rows = [r for r in rows if r[2] not in stop]
    if not rows:
        return []
    a, b, n1, n2 = (np.array([r[k] for r in rows], dtype=np.float64) for k in (3, 4, 5, 6))
    score = g2(a, b, n1, n2)
    expected = n1 * (b + 0.5) / n2  # smoothed: a term absent before is not infinitely new
    # every (territory, term) pair is a test: Bonferroni keeps the family's false alarms
    # under FAMILY_ALPHA (a χ²₁ quantile through the normal one)
    critical = max(MIN_G2, NormalDist().inv_cdf(1 - min(alpha, 1.0) / (2 * len(rows))) ** 2)
    rising = (a >= rise * expected) & (score >= critical)
    picked: dict[tuple[str, str], list[int]] = {}
    for k in np.argsort(-score):
        if rising[k]:
            place = (rows[k][0], rows[k][1])
            if len(picked.setdefault(place, [])) < TERMS_PER_TERRITORY:
                picked[place].append(int(k))
    names = dict(
        ((lv, c), n)
        for lv, c, n in con.execute(
            "SELECT level, code, name FROM territory WHERE (level, code) IN "
            "(SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]))",
            [[p[0] for p in picked], [p[1] for p in picked]],
        ).fetchall()
    )
    out = []
    for (level, code), ks in picked.items():
        for k in ks:
            out.append(
                Signal(
                    kind="term",
                    key=rows[k][2],
                    label=rows[k][2],
                    level=level,
                    territory=names.get((level, code), code),
                    territory_code=code,
                    start=rows[k][7],  # the recent items citing it, first and last
                    end=rows[k][8],
                    weight=float(score[k]),
                    usual=float(expected[k]),
                    observed=float(a[k]),
                    item_count=int(a[k]),
                    ongoing=True,
                    earlier=int(b[k]),
                )
            )
    return out


def _items(con: duckdb.DuckDBPyConnection, signal: Signal) -> list[SignalItem]:
    if signal.kind == "term":
        series = (
            "SELECT t.item_id FROM watch_term t JOIN watch_link l ON l.item_id = t.item_id "
            "WHERE t.term = ? AND l.type = 'territory' AND l.level = ? AND l.code = ?"
        )
        params: list[Any] = [signal.key, signal.level, signal.territory_code]
    elif signal.kind == "territory":  # linked to it or to a territory inside it
        series, params = territory_sql(signal.key, signal.level)
    elif signal.kind == "topic":
        series = "SELECT item_id FROM watch_item_topic WHERE topic_id = ?::BIGINT"
        params = [signal.key]
    else:
        series = "SELECT item_id FROM watch_link WHERE type = 'person' AND code = ?"
        params = [signal.key]
    rows = con.execute(
        f"SELECT i.id, i.title, i.url, {_DAY} AS day FROM watch_item i "
        f"WHERE {_LIVE} AND i.id IN ({series}) AND {_DAY} BETWEEN ? AND ? "
        "ORDER BY day DESC, i.id DESC LIMIT ?",
        [*params, signal.start, signal.end, ITEMS_PER_SIGNAL],
    ).fetchall()
    return [SignalItem(int(r[0]), r[1], r[2], r[3]) for r in rows]


def _surface(con: duckdb.DuckDBPyConnection, signal: Signal) -> str:
    """The most frequent way the items write a term's stem (``ferroviair`` → ``ferroviaire``)."""
    ids = [i.id for i in signal.items]
    rows = con.execute(
        "SELECT title || '\n\n' || text FROM watch_item WHERE id IN (SELECT unnest(?::BIGINT[]))",
        [ids],
    ).fetchall()
    seen: Counter[str] = Counter()
    for (text,) in rows:
        seen.update(text[a:b].lower() for a, b, s in tokens(text) if s == signal.key)
    return seen.most_common(1)[0][0] if seen else signal.key


def signals(
    con: duckdb.DuckDBPyConnection,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    kinds: Sequence[str] = KINDS,
    recent_days: int = RECENT_DAYS,
    limit: int = 50,
    term_alpha: float = FAMILY_ALPHA,
    term_rise: float = MIN_RISE,
) -> SignalList:
    """The bursts and emerging terms of the watch, latest first, then heaviest.

    Parameters
    ----------
    since, until
        The period analysed (default: the 90 days up to the latest item's day).
    kinds
        Among ``topic``, ``territory``, ``person`` (bursts) and ``term`` (emerging terms).
    recent_days
        The recent window of the emerging terms, at the end of the period.
    limit
        At most this many signals (1 to 500), each with its items (at most 20).
    term_alpha, term_rise
        Emerging terms: the family-wise risk of a fluke, and how many times its earlier
        share a term's recent count must reach.

    Raises
    ------
    InvalidQuery
        An unknown kind, or a period that ends before it starts.
    """
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        msg = f"type de signal inconnu {unknown[0]!r} : choisir parmi {', '.join(KINDS)}"
        raise InvalidQuery(msg)
    window = _window(con, since, until)
    if window is None:
        return SignalList(start=since, end=until, signals=[], items=0)
    start, end = window
    totals = _totals(con, start, end)
    found: list[Signal] = []
    for kind in KINDS:
        if kind in kinds and kind != "term":
            found += _bursts_of(con, kind, start, end, totals)
    if "term" in kinds:
        found += _terms(con, start, end, max(1, int(recent_days)), term_alpha, term_rise)
    found.sort(key=lambda s: (-s.end.toordinal(), s.kind == "term", -s.weight))
    found = found[: max(1, min(int(limit), MAX_LIMIT))]
    out = []
    for s in found:
        with_items = replace(s, items=_items(con, s))
        if s.kind == "term":
            with_items = replace(with_items, label=_surface(con, with_items))
        out.append(with_items)
    return SignalList(start=start, end=end, signals=out, items=int(totals.sum()))
