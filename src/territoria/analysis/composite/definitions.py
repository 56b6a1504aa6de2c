"""Saved index definitions and builds (migration 0019): write through the one writer path,
audit every write, soft-delete definitions."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from territoria.analysis.composite._model import IndexSummary
from territoria.analysis.composite._pipeline import Computed, Method
from territoria.analysis.indicator_matrix import IndicatorMatrix
from territoria.errors import CompositeInputError, UnknownIndex
from territoria.kb._transaction import transaction
from territoria.kb.audit import current_actor, record

__all__ = [
    "check_name",
    "delete_definition",
    "list_definitions",
    "live_definition",
    "method_from_json",
    "save_build",
]

MAX_NAME = 80


def check_name(name: str) -> str:
    """An index name: 1–80 printable characters, no slash (it is part of a web address)."""
    clean = name.strip()
    if not clean or len(clean) > MAX_NAME or "/" in clean or not clean.isprintable():
        msg = f"index name {name!r} must be 1 to {MAX_NAME} printable characters without '/'"
        raise CompositeInputError(msg)
    return clean


def method_from_json(text: str) -> Method:
    """The :class:`Method` saved as JSON."""
    data = json.loads(text)
    data["indicators"] = tuple(data["indicators"])
    data["polarity"] = tuple(data["polarity"])
    return Method(**data)


def live_definition(con: duckdb.DuckDBPyConnection, name: str) -> tuple[Any, ...]:
    """(id, name, level, period, method JSON, created_by) of the live definition ``name``."""
    row = con.execute(
        "SELECT id, name, level, period, method, created_by FROM composite_index "
        "WHERE name = ? AND deleted_at IS NULL",
        [name],
    ).fetchone()
    if row is None:
        msg = f"no composite index named {name!r}: see 'territoria index list'"
        raise UnknownIndex(msg)
    return tuple(row)


def _upsert(
    con: duckdb.DuckDBPyConnection, name: str, level: str, period: str | None, method: Method
) -> int:
    text = json.dumps(asdict(method), ensure_ascii=False)
    row = con.execute(
        "SELECT id FROM composite_index WHERE name = ? AND deleted_at IS NULL", [name]
    ).fetchone()
    if row is not None:
        con.execute(
            "UPDATE composite_index SET level = ?, period = ?, method = ?, "
            "updated_at = current_timestamp WHERE id = ?",
            [level, period, text, row[0]],
        )
        return int(row[0])
    got = con.execute(
        "INSERT INTO composite_index (name, level, period, method, created_by) "
        "VALUES (?, ?, ?, ?, ?) RETURNING id",
        [name, level, period, text, current_actor()],
    ).fetchone()
    assert got is not None
    return int(got[0])


def save_build(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    period: str | None,
    method: Method,
    matrix: IndicatorMatrix,
    computed: Computed,
    provenance: list[dict[str, Any]],
) -> int:
    """Save the definition (created or replaced) and one build with its scores; return its id."""
    unc = computed.uncertainty
    scores = pd.DataFrame(
        {
            "code": matrix.codes[computed.kept],
            "name": matrix.names[computed.kept],
            "score": computed.score,
            "rank": computed.rank,
            "median_rank": unc.median_rank if unc else np.full(computed.rank.size, np.nan),
            "rank_low": unc.rank_low if unc else np.full(computed.rank.size, -1),
            "rank_high": unc.rank_high if unc else np.full(computed.rank.size, -1),
        }
    )
    weights = dict(zip(method.indicators, map(float, computed.weights), strict=True))
    sens = [asdict(s) for s in unc.sensitivity] if unc else None
    with transaction(con):
        index_id = _upsert(con, name, matrix.level, period, method)
        got = con.execute(
            "INSERT INTO composite_build (index_id, built_by, weights, provenance, treatments, "
            "sensitivity, design, runs, seed, ranked, dropped) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
            "RETURNING id",
            [
                index_id,
                current_actor(),
                json.dumps(weights),
                json.dumps(provenance, ensure_ascii=False),
                json.dumps([asdict(t) for t in computed.treatments]),
                json.dumps(sens) if sens is not None else None,
                unc.design if unc else None,
                unc.runs if unc else 0,
                method.seed,
                int(computed.kept.sum()),
                int((~computed.kept).sum()),
            ],
        ).fetchone()
        assert got is not None
        build_id = int(got[0])
        con.register("_composite_scores", scores)
        try:
            con.execute(
                "INSERT INTO composite_score SELECT ?, code, name, score, rank, median_rank, "
                "nullif(rank_low, -1), nullif(rank_high, -1) FROM _composite_scores",
                [build_id],
            )
        finally:
            con.unregister("_composite_scores")
        record(
            con,
            "composite.build",
            target=name,
            detail={
                "level": matrix.level,
                "build": build_id,
                "ranked": int(computed.kept.sum()),
                "runs": unc.runs if unc else 0,
            },
        )
    return build_id


def delete_definition(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Soft-delete the live definition ``name`` (its builds are kept)."""
    with transaction(con):
        row = live_definition(con, name)
        con.execute(
            "UPDATE composite_index SET deleted_at = current_timestamp, deleted_by = ? "
            "WHERE id = ?",
            [current_actor(), row[0]],
        )
        record(con, "composite.delete", target=name)


def list_definitions(con: duckdb.DuckDBPyConnection) -> list[IndexSummary]:
    """The live definitions, by name, with their latest build."""
    rows = con.execute(
        "SELECT i.name, i.level, i.method, i.created_by, b.built_at, b.ranked "
        "FROM composite_index i LEFT JOIN (SELECT index_id, max(id) AS id FROM composite_build "
        "GROUP BY index_id) last ON last.index_id = i.id "
        "LEFT JOIN composite_build b ON b.id = last.id "
        "WHERE i.deleted_at IS NULL ORDER BY i.name"
    ).fetchall()
    return [
        IndexSummary(
            r[0],
            r[1],
            tuple(json.loads(r[2])["indicators"]),
            r[3],
            r[4],
            None if r[5] is None else int(r[5]),
        )
        for r in rows
    ]
