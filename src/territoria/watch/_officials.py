"""The officials of the knowledge base for entity linking: their names, mandates and how often
the press names each kind of office holder.

Officials are half a million: their ids and names are packed (:class:`Strings`), their folded
first and last names are the keys of a dictionary rather than forms of the automaton, their
mandates are arrays in a compressed sparse row layout.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import numpy.typing as npt

from territoria.watch._forms import form_key

if TYPE_CHECKING:
    from territoria.watch._gazetteer import _Builder

__all__ = ["FUNCTIONS", "PROMINENCE", "Strings", "officials"]

IntArray = npt.NDArray[np.int32]

#: Mandate functions (:attr:`Gazetteer.m_func` codes).
FUNCTIONS = (
    "conseiller municipal",
    "adjoint au maire",
    "maire",
    "conseiller communautaire",
    "vice-président",
    "président",
    "conseiller départemental",
    "conseiller régional",
    "député",
    "sénateur",
    "député européen",
)
#: How much a function makes a person likely to be the one the press names, without context.
PROMINENCE = np.array([0.0, 0.3, 1.0, 0.1, 0.5, 1.5, 0.5, 0.5, 1.5, 1.5, 1.5])


class _Packer:
    """Strings appended one by one into one text and its offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offsets = array("q", [0])

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.offsets.append(self.offsets[-1] + len(text))
        if len(self.parts) >= 10_000:  # joined as they come: one str, not 500,000
            self.parts = ["".join(self.parts)]

    def text(self) -> str:
        return "".join(self.parts)


class Strings:
    """A read-only sequence of strings: a list, then strings packed in one ``str`` with their
    offsets (half a million officials' ids and names: a few tens of MB less than a list)."""

    def __init__(self, head: list[str], tail: _Packer) -> None:
        self._head = head
        self._blob = tail.text()
        self._offsets = np.frombuffer(tail.offsets, dtype=np.int64).copy()

    def __len__(self) -> int:
        return len(self._head) + len(self._offsets) - 1

    def __getitem__(self, i: int) -> str:
        n = len(self._head)
        if i < n:
            return self._head[i]
        j = i - n
        return self._blob[int(self._offsets[j]) : int(self._offsets[j + 1])]


_FUNCTION_SQL = """
    CASE
        WHEN m.role = 'conseiller municipal' AND m.function_code = 'MAI' THEN 2
        WHEN m.role = 'conseiller municipal' AND m.function_code IN ('ADJ', 'MDA') THEN 1
        WHEN m.role = 'conseiller municipal' THEN 0
        WHEN m.function_code = 'PRE' THEN 5
        WHEN m.function_code = 'VPE' THEN 4
        WHEN m.role = 'conseiller communautaire' THEN 3
        WHEN m.role = 'conseiller départemental' THEN 6
        WHEN m.role = 'conseiller régional' THEN 7
        WHEN m.role = 'député' THEN 8
        WHEN m.role = 'sénateur' THEN 9
        WHEN m.role = 'député européen' THEN 10
        ELSE 0
    END
"""


def officials(con: duckdb.DuckDBPyConnection, b: _Builder) -> dict[str, Any]:
    """Officials: one entity each, the form of their first and last name, their mandates."""
    base = len(b.code)
    codes, names = _Packer(), _Packer()
    first_len = array("h")
    first_names: set[str] = set()
    keys: list[str] = []
    # read in slices: half a million rows as Python tuples at once would double the peak memory
    cur = con.cursor()
    try:
        cur.execute("SELECT id, first_name, last_name FROM person ORDER BY id")
        while rows := cur.fetchmany(50_000):
            for pid, first, last in rows:
                codes.add(pid)
                names.add(f"{first} {last.title() if last.isupper() else last}")
                first_len.append(min(len(first), 32767))
                first_key = form_key(first)
                first_names.update(first_key.split())
                keys.append(f"{first_key} {form_key(last)}")
    finally:
        cur.close()
    order = sorted(range(len(keys)), key=keys.__getitem__)
    person_keys: dict[str, int] = {}
    starts = array("i")
    for row, person in enumerate(order):
        if keys[person] not in person_keys:
            person_keys[keys[person]] = len(starts)
            starts.append(row)
    starts.append(len(order))
    longest = max((k.count(" ") + 1 for k in person_keys), default=2)
    del keys
    b.persons = len(first_len)
    b.person_codes, b.person_names = codes, names
    # each mandate's anchors: the territory it is for, through the same membership, as entity
    # indices (the territories' index joined in DuckDB rather than looked up row by row)
    import pandas as pd  # only to hand DuckDB the index (pandas loads in 0.3 s)

    index = pd.DataFrame(
        {
            "level": [lv or "" for lv in b.level],
            "code": b.code,
            "idx": np.arange(base, dtype=np.int32),
        }
    )
    cur = con.cursor()
    try:
        cur.register("gz_index", index)
        m = cur.execute(
            f"""
            WITH mm AS (
                SELECT level, code, parent_level, min(parent_code) AS parent
                FROM membership
                WHERE parent_level IN ('departement', 'region') GROUP BY ALL
            ),
            people AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS p FROM person),
            a AS (
                SELECT pe.p, {_FUNCTION_SQL} AS func,
                       CASE WHEN m.level = 'commune' THEN m.code END AS c,
                       CASE WHEN m.level = 'epci' THEN m.code END AS e,
                       CASE WHEN m.level = 'departement' THEN m.code ELSE md.parent END AS d,
                       CASE WHEN m.level = 'region' THEN m.code
                            ELSE coalesce(mr.parent, mdr.parent) END AS r
                FROM mandate m JOIN people pe ON pe.id = m.person_id
                LEFT JOIN mm md ON md.level = m.level AND md.code = m.code
                    AND md.parent_level = 'departement'
                LEFT JOIN mm mr ON mr.level = m.level AND mr.code = m.code
                    AND mr.parent_level = 'region'
                LEFT JOIN mm mdr ON mdr.level = 'departement' AND mdr.code = md.parent
                    AND mdr.parent_level = 'region'
                WHERE m.end_date IS NULL OR m.end_date >= current_date - INTERVAL 6 YEAR
            )
            SELECT a.p, a.func,
                   coalesce(ic.idx, -1) AS c, coalesce(ie.idx, -1) AS e,
                   coalesce(id.idx, -1) AS d, coalesce(ir.idx, -1) AS r
            FROM a
            LEFT JOIN gz_index ic ON ic.level = 'commune' AND ic.code = a.c
            LEFT JOIN gz_index ie ON ie.level = 'epci' AND ie.code = a.e
            LEFT JOIN gz_index id ON id.level = 'departement' AND id.code = a.d
            LEFT JOIN gz_index ir ON ir.level = 'region' AND ir.code = a.r
            ORDER BY a.p
            """
        ).fetchnumpy()
    finally:
        cur.close()
    n = len(first_len)
    p = np.asarray(m["p"], dtype=np.int64)
    func = np.asarray(m["func"], dtype=np.int8)
    commune = np.asarray(m["c"], dtype=np.int32)
    weight = PROMINENCE[func]
    # a mayor of a larger town is named more often
    pop = np.where(commune >= 0, np.asarray(b.population, dtype=np.float64)[commune], 1.0)
    mayor_bonus = np.clip(0.2 * np.log10(np.maximum(pop, 1.0) / 1000), 0.0, 0.8)
    weight = weight + np.where(func == 2, mayor_bonus, 0.0)
    prominence = np.zeros(n, dtype=np.float64)
    np.maximum.at(prominence, p, weight)
    counts = np.bincount(p, minlength=n)
    return {
        "person_base": base,
        "mandate_start": np.concatenate([[0], np.cumsum(counts)]).astype(np.int32),
        "m_func": func,
        "m_commune": commune,
        "m_epci": np.asarray(m["e"], dtype=np.int32),
        "m_dept": np.asarray(m["d"], dtype=np.int32),
        "m_region": np.asarray(m["r"], dtype=np.int32),
        "prominence": prominence,
        "first_len": np.frombuffer(first_len, dtype=np.int16).copy(),
        "first_names": frozenset(first_names),
        "person_keys": person_keys,
        "group_start": np.frombuffer(starts, dtype=np.int32).copy(),
        "group_persons": np.array(order, dtype=np.int32),
        "longest_name": longest,
    }
