"""The influence graph's caches: the NumPy file of a fingerprint, and the serving process's
graph in memory."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np

from territoria.influence import _graph_blob
from territoria.influence.network import GraphMemo, load_graph

_ARRAYS = ("indptr", "indices", "prob", "rindptr", "rindices", "rprob", "redge", "types")


def test_graph_file_gives_the_same_graph(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    built = load_graph(mini_db, cache_dir=tmp_path)
    path = _graph_blob.path_for(tmp_path, built.fingerprint)
    assert path.exists()
    again = load_graph(mini_db, cache_dir=tmp_path)
    assert again.cached
    for name in _ARRAYS:
        assert np.array_equal(getattr(again.graph, name), getattr(built.graph, name)), name
    assert again.graph.ids == built.graph.ids
    assert again.graph.names == built.graph.names
    assert again.graph.type_names == built.graph.type_names
    assert again.kinds == built.kinds
    # the graph read from the knowledge base's tables is the same too
    from_tables = load_graph(mini_db, cache_dir=tmp_path / "empty")
    assert from_tables.cached and from_tables.graph.ids == built.graph.ids
    assert np.array_equal(from_tables.graph.rprob, again.graph.rprob)


def test_a_damaged_graph_file_is_ignored(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    built = load_graph(mini_db, cache_dir=tmp_path)
    path = _graph_blob.path_for(tmp_path, built.fingerprint)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert _graph_blob.read(path) is None
    again = load_graph(mini_db, cache_dir=tmp_path)
    assert again.graph.n_edges == built.graph.n_edges
    assert _graph_blob.read(path) is not None  # rewritten from the tables


def test_served_graph_stays_in_memory_until_the_inputs_change(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    memo = GraphMemo()
    first = memo.load(mini_db)
    second = memo.load(mini_db)
    assert second.graph is first.graph and second.cached
    source = mini_db.execute("SELECT min(id) FROM source").fetchone()
    assert source is not None
    mini_db.execute(
        "INSERT INTO actor (id, name, kind, source_id) VALUES ('a-new', 'Nouvelle', 'company', ?)",
        [source[0]],
    )
    third = memo.load(mini_db)
    assert third.graph is not first.graph
    assert "a-new" in third.graph.positions
