"""The influence graph of France, built from the knowledge base and cached in it.

Nodes are persons (elected officials and imported persons) and organisations (councils,
parliamentary groups, imported companies, associations, federations, "us"). Each directed edge
u -> v carries the probability that u's advocacy reaches and moves v; its type names the
institutional or imported relation it comes from (see ``defaults.toml``). One person holding
several mandates is one node: their node bridges every body they sit in.

The whole-France graph (about 550,000 nodes and 2 million edges) is built with DuckDB SQL,
stored in the ``influence_node`` / ``influence_edge`` tables, and rebuilt only when its inputs
(imported sources, relations, actors, probabilities) change.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from territoria.errors import EmptyKnowledgeBase, ReadOnlyDatabase
from territoria.influence import _graph_blob
from territoria.influence._attention import attention_budget, budgets_for
from territoria.influence._state_edges import STATE_EDGES_SQL
from territoria.influence.config import InfluenceConfig, load_config
from territoria.influence.graph import InfluenceGraph, from_edges
from territoria.kb._transaction import transaction
from territoria.settings import get_settings

__all__ = [
    "SERVED_GRAPHS",
    "GraphBundle",
    "GraphMemo",
    "build_graph",
    "export_graph",
    "load_graph",
]

# Bodies whose executive is the "PRE" function; councils of communes use "MAI".
_EXEC = "CASE WHEN o.kind = 'conseil_municipal' THEN 'MAI' ELSE 'PRE' END"

_EDGES_SQL = f"""
WITH cur AS (
    SELECT m.person_id, m.organisation_id, m.level, m.code, m.role, m.function_code,
           m.group_name, o.kind AS org_kind, {_EXEC} AS exec_code
    FROM mandate m JOIN organisation o ON o.id = m.organisation_id
    WHERE m.end_date IS NULL
),
execs AS (
    SELECT organisation_id, person_id FROM cur WHERE function_code = exec_code
),
mayors AS (
    SELECT person_id, code AS commune FROM cur
    WHERE org_kind = 'conseil_municipal' AND function_code = 'MAI'
),
com AS (
    SELECT code, parent_level, parent_code FROM membership
    WHERE level = 'commune' AND parent_level IN ('epci', 'canton', 'circonscription',
                                                  'departement')
)
-- inside a council: members and deputies <-> executive
SELECT c.person_id AS src, e.person_id AS dst,
       CASE WHEN c.function_code IN ('ADJ', 'VPE', 'MDA') THEN 'deputy_to_executive'
            ELSE 'member_to_executive' END AS type
FROM cur c JOIN execs e USING (organisation_id) WHERE c.person_id <> e.person_id
UNION ALL
SELECT e.person_id, c.person_id,
       CASE WHEN c.function_code IN ('ADJ', 'VPE', 'MDA') THEN 'executive_to_deputy'
            ELSE 'executive_to_member' END
FROM cur c JOIN execs e USING (organisation_id) WHERE c.person_id <> e.person_id
-- the executive speaks for the body
UNION ALL SELECT person_id, organisation_id, 'executive_to_body' FROM execs
UNION ALL SELECT organisation_id, person_id, 'body_to_executive' FROM execs
-- mayors of an EPCI's communes <-> its president
UNION ALL
SELECT m.person_id, e.person_id, 'mayor_to_epci_president'
FROM mayors m JOIN com ON com.code = m.commune AND com.parent_level = 'epci'
JOIN execs e ON e.organisation_id = 'cc-' || com.parent_code
WHERE m.person_id <> e.person_id
UNION ALL
SELECT e.person_id, m.person_id, 'epci_president_to_mayor'
FROM mayors m JOIN com ON com.code = m.commune AND com.parent_level = 'epci'
JOIN execs e ON e.organisation_id = 'cc-' || com.parent_code
WHERE m.person_id <> e.person_id
-- departmental councillors of a canton <-> its mayors
UNION ALL
SELECT c.person_id, m.person_id, 'canton_councillor_to_mayor'
FROM cur c JOIN com ON com.parent_level = 'canton' AND com.parent_code = c.code
JOIN mayors m ON m.commune = com.code
WHERE c.org_kind = 'conseil_departemental' AND c.level = 'canton' AND c.person_id <> m.person_id
UNION ALL
SELECT m.person_id, c.person_id, 'mayor_to_canton_councillor'
FROM cur c JOIN com ON com.parent_level = 'canton' AND com.parent_code = c.code
JOIN mayors m ON m.commune = com.code
WHERE c.org_kind = 'conseil_departemental' AND c.level = 'canton' AND c.person_id <> m.person_id
-- deputies <-> mayors of their circonscription
UNION ALL
SELECT c.person_id, m.person_id, 'deputy_to_mayor'
FROM cur c JOIN com ON com.parent_level = 'circonscription' AND com.parent_code = c.code
JOIN mayors m ON m.commune = com.code
WHERE c.role = 'député' AND c.person_id <> m.person_id
UNION ALL
SELECT m.person_id, c.person_id, 'mayor_to_deputy'
FROM cur c JOIN com ON com.parent_level = 'circonscription' AND com.parent_code = c.code
JOIN mayors m ON m.commune = com.code
WHERE c.role = 'député' AND c.person_id <> m.person_id
-- senators <-> the grands électeurs of their département (mayors, departmental councillors)
UNION ALL
SELECT DISTINCT s.person_id, g.person_id, 'senator_to_elector'
FROM cur s JOIN (
    SELECT m.person_id, com.parent_code AS dep FROM mayors m
    JOIN com ON com.code = m.commune AND com.parent_level = 'departement'
    UNION
    SELECT person_id, split_part(organisation_id, '-', 2) FROM cur
    WHERE org_kind = 'conseil_departemental'
) g ON g.dep = s.code
WHERE s.role = 'sénateur' AND s.person_id <> g.person_id
UNION ALL
SELECT DISTINCT g.person_id, s.person_id, 'elector_to_senator'
FROM cur s JOIN (
    SELECT m.person_id, com.parent_code AS dep FROM mayors m
    JOIN com ON com.code = m.commune AND com.parent_level = 'departement'
    UNION
    SELECT person_id, split_part(organisation_id, '-', 2) FROM cur
    WHERE org_kind = 'conseil_departemental'
) g ON g.dep = s.code
WHERE s.role = 'sénateur' AND s.person_id <> g.person_id
-- parliamentary groups
UNION ALL
SELECT person_id, 'grp-' || organisation_id || ':' || group_name, 'group_member_to_group'
FROM cur WHERE group_name IS NOT NULL AND role IN ('député', 'sénateur')
UNION ALL
SELECT 'grp-' || organisation_id || ':' || group_name, person_id, 'group_to_group_member'
FROM cur WHERE group_name IS NOT NULL AND role IN ('député', 'sénateur')
{STATE_EDGES_SQL}
-- imported relations and the actions log
UNION ALL
SELECT source_actor, target_actor, type FROM relation
"""

_NODES_SQL = """
SELECT id, name, kind FROM (
    SELECT p.id, p.first_name || ' ' || p.last_name AS name, 'person' AS kind
    FROM person p WHERE EXISTS (SELECT 1 FROM mandate m WHERE m.person_id = p.id
                                AND m.end_date IS NULL)
    UNION ALL SELECT id, name, kind FROM organisation
    UNION ALL SELECT DISTINCT 'grp-' || organisation_id || ':' || group_name, group_name,
           'groupe_parlementaire'
    FROM mandate WHERE group_name IS NOT NULL AND end_date IS NULL
    UNION ALL SELECT id, name, kind FROM actor
)
"""


@dataclass
class GraphBundle:
    """The influence graph with node kinds and how it was obtained."""

    graph: InfluenceGraph
    kinds: list[str]
    cached: bool
    seconds: float
    fingerprint: str


#: Bump when :func:`build_graph` changes the graph it builds from the same inputs and query.
BUILD_VERSION = 2


def _fingerprint(con: duckdb.DuckDBPyConnection, config: InfluenceConfig) -> str:
    parts = con.execute(
        """
        SELECT
          (SELECT string_agg(id::VARCHAR || '@' || imported_at::VARCHAR, ',' ORDER BY id)
             FROM source),
          (SELECT count(*) || ':' || coalesce(sum(strength), 0) || ':' || coalesce(max(id), 0)
             FROM relation),
          (SELECT count(*) FROM actor)
        """
    ).fetchone()
    text = "|".join(str(p) for p in (parts or ())) + "|" + config.fingerprint()
    # the build itself: a changed query or version gives another graph from the same inputs
    text += f"|{BUILD_VERSION}|{_EDGES_SQL}|{_NODES_SQL}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _probabilities(con: duckdb.DuckDBPyConnection, config: InfluenceConfig) -> None:
    """Create the temp table of per-type probabilities used by the build query."""
    con.execute("CREATE OR REPLACE TEMP TABLE ig_prob (type VARCHAR, p DOUBLE)")
    con.executemany("INSERT INTO ig_prob VALUES (?, ?)", list(config.probabilities.items()))


def build_graph(
    con: duckdb.DuckDBPyConnection, *, config: InfluenceConfig | None = None
) -> tuple[pa.Table, pa.Table]:
    """Compute the node and edge tables of the influence graph (not cached).

    Returns
    -------
    nodes, edges
        ``nodes`` has ``idx, id, name, kind``; ``edges`` has ``source, target, probability,
        type`` with node positions, probabilities already normalised per target.
    """
    config = config or load_config()
    count = con.execute("SELECT count(*) FROM territory").fetchone()
    if not count or not count[0]:
        msg = "the knowledge base is empty: run 'territoria import france' first"
        raise EmptyKnowledgeBase(msg)
    _probabilities(con, config)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE ig_nodes AS SELECT (row_number() OVER (ORDER BY id)) - 1 "
        f"AS idx, id, any_value(name) AS name, any_value(kind) AS kind FROM ({_NODES_SQL}) "
        "GROUP BY id"
    )
    other = config.probability("other")
    raw = con.execute(
        f"""
        SELECT s.idx AS source, t.idx AS target, e.type,
               coalesce(pr.p, {other}) * coalesce(r.strength, 1.0) AS p
        FROM ({_EDGES_SQL}) e
        JOIN ig_nodes s ON s.id = e.src
        JOIN ig_nodes t ON t.id = e.dst
        LEFT JOIN ig_prob pr ON pr.type = e.type
        LEFT JOIN (SELECT source_actor, target_actor, type, max(strength) AS strength
                   FROM relation GROUP BY ALL) r
          ON r.source_actor = e.src AND r.target_actor = e.dst AND r.type = e.type
        WHERE s.idx <> t.idx
        """
    ).to_arrow_table()
    con.register("ig_raw", _calibrated(raw, config))
    # Several relations between the same pair: independent channels, 1 - prod(1 - p).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE ig_edges AS
        WITH pair AS (
            SELECT source, target, arg_max(type, p) AS type,
                   1 - exp(sum(ln(greatest(1 - least(p, 1.0), 1e-12)))) AS p
            FROM ig_raw WHERE p > 0 GROUP BY source, target
        ), insum AS (SELECT target, sum(p) AS s FROM pair GROUP BY target)
        SELECT pair.source, pair.target,
               pair.p * least(1.0, {config.max_in_sum} / insum.s) AS probability, pair.type
        FROM pair JOIN insum USING (target)
        ORDER BY pair.source, pair.target
        """
    )
    nodes = con.execute("SELECT idx, id, name, kind FROM ig_nodes ORDER BY idx").to_arrow_table()
    edges = con.execute("SELECT source, target, probability, type FROM ig_edges").to_arrow_table()
    for name in ("ig_prob", "ig_nodes", "ig_edges"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    con.unregister("ig_raw")
    return nodes, edges


def _calibrated(raw: pa.Table, config: InfluenceConfig) -> pa.Table:
    """Apply each source's attention budget per relation type (see ``_attention``)."""
    encoded = pc.dictionary_encode(raw.column("type").combine_chunks())
    names = encoded.dictionary.to_pylist()
    prob = attention_budget(
        np.asarray(raw.column("source").to_numpy()),
        np.asarray(encoded.indices.to_numpy(zero_copy_only=False)),
        np.asarray(raw.column("p").to_numpy()),
        budgets_for(config, names),
    )
    return raw.set_column(raw.schema.get_field_index("p"), "p", pa.array(prob))


def _to_graph(nodes: pa.Table, edges: pa.Table) -> tuple[InfluenceGraph, list[str]]:
    types = edges.column("type").to_pylist()
    names = sorted(set(types))
    code = {t: i for i, t in enumerate(names)}
    graph = from_edges(
        np.asarray(edges.column("source").to_numpy(), dtype=np.int64),
        np.asarray(edges.column("target").to_numpy(), dtype=np.int64),
        np.asarray(edges.column("probability").to_numpy(), dtype=np.float64),
        ids=nodes.column("id").to_pylist(),
        names=nodes.column("name").to_pylist(),
        types=np.array([code[t] for t in types], dtype=np.int16),
        type_names=names,
    )
    return graph, nodes.column("kind").to_pylist()


def load_graph(
    con: duckdb.DuckDBPyConnection,
    *,
    config: InfluenceConfig | None = None,
    rebuild: bool = False,
    cache: bool = True,
    cache_dir: Path | None = None,
) -> GraphBundle:
    """Return the influence graph, from the cache when its inputs have not changed.

    The cache is the knowledge base's tables; while they hold the current graph, it is read
    from their mirror, the NumPy file of the graph's fingerprint under
    ``$TERRITORIA_CACHE_DIR/graphs`` (faster, see ``_graph_blob``), written from them when
    missing. A rebuilt graph is stored in both.

    Parameters
    ----------
    con
        Knowledge base; when it is read-only the graph is built in memory and not cached.
    config
        Probabilities (defaults from ``defaults.toml``).
    rebuild
        Ignore the cache.
    cache
        Store a rebuilt graph in the knowledge base (needs a writable connection).
    cache_dir
        Folder of the graph files (default: the ``cache_dir`` setting).
    """
    start = time.perf_counter()
    config = config or load_config()
    fingerprint = _fingerprint(con, config)
    blob = _graph_blob.path_for(cache_dir or get_settings().cache_dir, fingerprint)
    row = con.execute("SELECT value FROM influence_meta WHERE key = 'fingerprint'").fetchone()
    if not rebuild and row and row[0] == fingerprint:
        # the file mirrors the knowledge base's cache: used only while that one is current
        stored = _graph_blob.read(blob)
        if stored is not None:
            return GraphBundle(*stored, True, time.perf_counter() - start, fingerprint)
        nodes = con.execute(
            "SELECT idx, id, name, kind FROM influence_node ORDER BY idx"
        ).to_arrow_table()
        edges = con.execute(
            "SELECT source, target, probability, type FROM influence_edge"
        ).to_arrow_table()
        graph, kinds = _to_graph(nodes, edges)
        _store_blob(blob, graph, kinds)
        return GraphBundle(graph, kinds, True, time.perf_counter() - start, fingerprint)
    nodes, edges = build_graph(con, config=config)
    if cache:
        try:
            with transaction(con):
                con.execute("DELETE FROM influence_node")
                con.execute("DELETE FROM influence_edge")
                con.execute("INSERT INTO influence_node SELECT * FROM nodes")
                con.execute("INSERT INTO influence_edge SELECT * FROM edges")
                con.execute(
                    "INSERT OR REPLACE INTO influence_meta VALUES ('fingerprint', ?), "
                    "('built_at', current_timestamp::VARCHAR)",
                    [fingerprint],
                )
        except (duckdb.Error, ReadOnlyDatabase):
            # A read-only knowledge base: keep the graph in memory only.
            pass
    graph, kinds = _to_graph(nodes, edges)
    if cache:
        _store_blob(blob, graph, kinds)
    return GraphBundle(graph, kinds, False, time.perf_counter() - start, fingerprint)


def _store_blob(path: Path, graph: InfluenceGraph, kinds: list[str]) -> None:
    # an unwritable cache folder: the knowledge base's tables remain the cache
    with contextlib.suppress(OSError):
        _graph_blob.write(path, graph, kinds)


class GraphMemo:
    """The influence graph kept in memory while its inputs do not change (a serving process).

    :meth:`load` checks the graph's fingerprint (one small query) and returns the graph in
    memory when it still matches; otherwise it loads it with :func:`load_graph`. Thread-safe:
    concurrent plans wait for one load instead of loading the graph each.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bundle: GraphBundle | None = None

    @property
    def current(self) -> GraphBundle | None:
        """The graph in memory, if any."""
        return self._bundle

    def load(
        self, con: duckdb.DuckDBPyConnection, *, config: InfluenceConfig | None = None
    ) -> GraphBundle:
        """Return the graph of ``con``'s knowledge base under ``config``."""
        config = config or load_config()
        start = time.perf_counter()
        with self._lock:
            fingerprint = _fingerprint(con, config)
            kept = self._bundle
            if kept is not None and kept.fingerprint == fingerprint:
                seconds = time.perf_counter() - start
                return GraphBundle(kept.graph, kept.kinds, True, seconds, fingerprint)
            self._bundle = None  # let the old graph go before loading the new one
            self._bundle = load_graph(con, config=config)
            return self._bundle


#: The graphs of this process (the web server and the CLI commands it runs share them).
SERVED_GRAPHS = GraphMemo()


def export_graph(bundle: GraphBundle, out: Path, *, fmt: str = "parquet") -> list[Path]:
    """Write ``nodes.parquet`` (id, name, kind) and ``edges.parquet`` (source, target,
    probability, type) into the folder ``out``, with node ids as in the knowledge base."""
    if fmt != "parquet":
        from territoria.errors import ConfigurationError

        msg = f"unknown graph export format {fmt!r}: use --format parquet"
        raise ConfigurationError(msg)
    out.mkdir(parents=True, exist_ok=True)
    g = bundle.graph
    names = g.names or g.ids
    nodes = pa.table({"id": g.ids, "name": names, "kind": bundle.kinds})
    src = g.sources()
    ids = np.array(g.ids, dtype=object)
    type_names = np.array(g.type_names or ("",), dtype=object)
    types = type_names[g.types] if g.types is not None else np.full(len(src), "", dtype=object)
    edges = pa.table(
        {
            "source": pa.array(ids[src].tolist(), type=pa.string()),
            "target": pa.array(ids[g.indices].tolist(), type=pa.string()),
            "probability": pa.array(g.prob, type=pa.float64()),
            "type": pa.array(types.tolist(), type=pa.string()),
        }
    )
    written = []
    for name, table in (("nodes.parquet", nodes), ("edges.parquet", edges)):
        final = out / name
        partial = out / f".{name}.partial"
        pq.write_table(table, partial)
        partial.replace(final)
        written.append(final)
    return written
