"""Watch items related to a territory, a person or a dossier (the "Veille" sections of their
pages).

A territory's items are those linked to it or to a territory inside it (a département's
communes and EPCI), a person's those linked to her. A dossier's items are those linked to its
territory or inside it, to its partner territories (or inside them) and poles, to its
stakeholders (``dossier_stance`` actors) and to the decision-makers its latest finished plan
targets; each item says why it is there. Duplicates are left out (their original is listed),
newest first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from territoria.errors import UnknownWatchItem
from territoria.watch.items import ItemList, ItemView, get_item, list_items

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "REASONS",
    "Reason",
    "RelatedItem",
    "RelatedItems",
    "TopicVolume",
    "file_in_dossier",
    "items_for_dossier",
    "items_for_person",
    "items_for_territory",
    "originals",
    "topic_volumes",
]

#: Why an item is related to a dossier, as the page says it.
REASONS: Final = {
    "territory": "territoire du dossier",
    "partner": "partenaire",
    "stakeholder": "partie prenante",
    "target": "cible du plan",
}
Role = Literal["territory", "partner", "stakeholder", "target"]


@dataclass(frozen=True)
class Reason:
    """A link of the item that relates it: what it names, and its role for the page's object."""

    role: Role
    type: str  # the link's type: territory, person, organisation, pole
    code: str
    name: str
    level: str | None = None

    @property
    def label(self) -> str:
        """The role in French (``partie prenante``)."""
        return REASONS[self.role]


@dataclass(frozen=True)
class RelatedItem:
    """An item and the links that relate it."""

    item: ItemView
    reasons: list[Reason] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: the item's, with ``reasons``."""
        out = self.item.to_dict()
        out["reasons"] = [
            {"role": r.role, "label": r.label, "type": r.type, "code": r.code, "name": r.name}
            for r in self.reasons
        ]
        return out


@dataclass(frozen=True)
class RelatedItems:
    """The latest related items (at most the limit asked) and how many there are in all."""

    items: list[RelatedItem]
    total: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"total": self.total, "items": [i.to_dict() for i in self.items]}


# the wanted links: (role, type, level, code, name); territories include what lies inside them
_MATCH: Final = """
WITH wanted(role, type, level, code) AS (SELECT * FROM (VALUES {values})),
expanded AS (
    SELECT role, type, level, code FROM wanted
    UNION
    SELECT w.role, 'territory', m.level, m.code FROM wanted w
    JOIN membership m ON w.type = 'territory' AND m.parent_level = w.level
        AND m.parent_code = w.code
),
hits AS (
    SELECT l.item_id, e.role, l.type, l.level, l.code, l.name, l.score
    FROM watch_link l JOIN expanded e ON l.type = e.type AND l.code = e.code
        AND (e.type <> 'territory' OR l.level = e.level)
    JOIN watch_item i ON i.id = l.item_id
    WHERE i.deleted_at IS NULL AND i.duplicate_of IS NULL
)
SELECT h.item_id, list(DISTINCT struct_pack(role := h.role, type := h.type, level := h.level,
        code := h.code, name := h.name)) AS reasons,
    count(*) OVER () AS total
FROM hits h JOIN watch_item i ON i.id = h.item_id
GROUP BY h.item_id, i.published, i.fetched_at
ORDER BY coalesce(i.published, i.fetched_at) DESC, h.item_id DESC
LIMIT ?
"""

_ROLE_ORDER: Final = ("territory", "partner", "stakeholder", "target")


def _related(
    con: duckdb.DuckDBPyConnection,
    wanted: list[tuple[Role, str, str | None, str]],
    limit: int,
) -> RelatedItems:
    if not wanted or limit < 1:
        return RelatedItems([], 0)
    values = ", ".join("(?, ?, ?, ?)" for _ in wanted)
    params: list[Any] = [v for row in wanted for v in row]
    rows = con.execute(_MATCH.format(values=values), [*params, limit]).fetchall()
    items = []
    for item_id, reasons, _total in rows:
        found: dict[tuple[str, str], Reason] = {}
        for r in sorted(reasons, key=lambda r: _ROLE_ORDER.index(r["role"])):
            found.setdefault(
                (r["type"], r["code"]),
                Reason(r["role"], r["type"], r["code"], r["name"], r["level"]),
            )
        items.append(RelatedItem(get_item(con, int(item_id)), list(found.values())))
    return RelatedItems(items, int(rows[0][2]) if rows else 0)


def _listed(found: ItemList) -> RelatedItems:
    return RelatedItems([RelatedItem(view) for view in found.items], found.total)


def items_for_territory(
    con: duckdb.DuckDBPyConnection, level: str, code: str, *, limit: int = 10
) -> RelatedItems:
    """The latest items linked to the territory or to a territory inside it (the reader's
    territory filter, duplicates left out)."""
    return _listed(list_items(con, territory=(level, code), include_duplicates=False, limit=limit))


def items_for_person(
    con: duckdb.DuckDBPyConnection, person_id: str, *, limit: int = 10
) -> RelatedItems:
    """The latest items linked to the person (duplicates left out)."""
    return _listed(list_items(con, person=person_id, include_duplicates=False, limit=limit))


def originals(con: duckdb.DuckDBPyConnection, views: Sequence[ItemView]) -> dict[int, ItemView]:
    """The items the duplicates among ``views`` repeat, by id (for "doublon de …")."""
    known = {v.id: v for v in views}
    out: dict[int, ItemView] = {}
    for view in views:
        original = view.duplicate_of
        if original is None or original in out:
            continue
        found = known.get(original)
        if found is None:
            with contextlib.suppress(UnknownWatchItem):  # the original was deleted since
                found = get_item(con, original)
        if found is not None:
            out[original] = found
    return out


def _actor_type(actor_id: str) -> str:
    return "person" if actor_id.startswith("p-") else "organisation"


def _latest_targets(con: duckdb.DuckDBPyConnection, dossier_id: int) -> list[str]:
    """The decision-makers the dossier's latest finished plan version targets."""
    row = con.execute(
        "SELECT j.result FROM dossier_plan p JOIN job j ON j.id = p.job_id "
        "WHERE p.dossier_id = ? AND p.deleted_at IS NULL AND j.status = 'done' "
        "ORDER BY coalesce(j.finished_at, p.created_at) DESC, p.id DESC LIMIT 1",
        [dossier_id],
    ).fetchone()
    if not row or not row[0]:
        return []
    ids = con.execute(
        "SELECT DISTINCT unnest(json_extract_string(?::JSON, '$.targets[*].id'))", [row[0]]
    ).fetchall()
    return sorted(str(r[0]) for r in ids if r[0])


def items_for_dossier(
    con: duckdb.DuckDBPyConnection, dossier_id: int, *, limit: int = 10
) -> RelatedItems:
    """The latest items that concern the dossier: linked to its territory (or inside it), its
    partners, its stakeholders or its latest plan's targets; each with its reasons.

    An unknown dossier has no items (the dossier's page checks it exists).
    """
    head = con.execute("SELECT level, code FROM dossier WHERE id = ?", [dossier_id]).fetchone()
    if head is None:
        return RelatedItems([], 0)
    wanted: list[tuple[Role, str, str | None, str]] = [("territory", "territory", head[0], head[1])]
    for kind, level, code in con.execute(
        "SELECT kind, level, code FROM dossier_partner WHERE dossier_id = ? "
        "AND deleted_at IS NULL ORDER BY id",
        [dossier_id],
    ).fetchall():
        wanted.append(("partner", "territory" if kind == "territory" else "pole", level, code))
    stakeholders = [
        str(r[0])
        for r in con.execute(
            "SELECT DISTINCT actor_id FROM dossier_stance WHERE dossier_id = ? "
            "AND deleted_at IS NULL ORDER BY 1",
            [dossier_id],
        ).fetchall()
    ]
    wanted += [("stakeholder", _actor_type(a), None, a) for a in stakeholders]
    wanted += [
        ("target", _actor_type(a), None, a)
        for a in _latest_targets(con, dossier_id)
        if a not in stakeholders
    ]
    return _related(con, wanted, limit)


def file_in_dossier(
    con: duckdb.DuckDBPyConnection,
    item_id: int,
    dossier_id: int,
    *,
    created_by: str | None = None,
) -> int:
    """Add the item to a dossier's links (its address, labelled with its title and source);
    return the link's id. Audited as the dossier's other writes.

    Raises
    ------
    UnknownWatchItem, UnknownDossier, InvalidDossier
    """
    from territoria.influence.dossiers import add_link

    item = get_item(con, item_id)
    label = f"Veille : {item.title or item.url} ({item.source.name})"
    return add_link(con, dossier_id, url=item.url, label=label[:300], created_by=created_by)


@dataclass(frozen=True)
class TopicVolume:
    """A topic's original items per day over a period (for the boards' volume charts)."""

    topic_id: int
    start: dt.date
    counts: list[int]  # one per day from ``start``

    @property
    def peak(self) -> int:
        """The most items of one day."""
        return max(self.counts, default=0)

    def bars(self, *, width: float = 240.0, height: float = 40.0) -> list[dict[str, float]]:
        """The chart's bars: ``x``, ``y``, ``w``, ``h`` in an SVG of ``width`` × ``height``."""
        if not self.counts:
            return []
        step = width / len(self.counts)
        top = max(self.peak, 1)
        out = []
        for i, n in enumerate(self.counts):
            if n:
                h = round(height * n / top, 1)
                out.append(
                    {
                        "x": round(i * step, 1),
                        "y": round(height - h, 1),
                        "w": round(step, 1),
                        "h": h,
                    }
                )
        return out


def topic_volumes(
    con: duckdb.DuckDBPyConnection,
    topic_ids: Sequence[int],
    *,
    days: int = 42,
    today: dt.date | None = None,
) -> dict[int, TopicVolume]:
    """Each topic's original items (duplicates left out) per day over the last ``days`` days
    up to ``today``, by publication date (or fetch date when the item states none), counted
    in SQL."""
    end = today or dt.datetime.now(dt.UTC).date()
    start = end - dt.timedelta(days=days - 1)
    rows = con.execute(
        "SELECT it.topic_id, CAST(coalesce(i.published, i.fetched_at) AS DATE) - ?::DATE, "
        "count(DISTINCT i.id) FROM watch_item_topic it JOIN watch_item i ON i.id = it.item_id "
        "WHERE i.deleted_at IS NULL AND i.duplicate_of IS NULL "
        "AND it.topic_id IN (SELECT unnest(?::BIGINT[])) "
        "AND CAST(coalesce(i.published, i.fetched_at) AS DATE) BETWEEN ? AND ? GROUP BY ALL",
        [start, list(topic_ids), start, end],
    ).fetchall()
    out = {int(t): TopicVolume(int(t), start, [0] * days) for t in topic_ids}
    for topic_id, day, n in rows:
        out[int(topic_id)].counts[int(day)] = int(n)
    return out
