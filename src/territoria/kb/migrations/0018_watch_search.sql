-- Watch (veille): the full-text index of the items, kept by territoria.watch.search in the same
-- transaction as the items it indexes (no rebuild, no lag). The stems come from
-- territoria.watch.query.analyse: lower case, accents removed, French Snowball stems.

-- One row per indexed item: its length in stems (BM25).
CREATE TABLE watch_doc (
    item_id BIGINT NOT NULL,
    length INTEGER NOT NULL
);

-- One row per (item, stem): how often the stem occurs (BM25) and where (1-based positions
-- among the item's stems: a phrase is a run of consecutive positions).
CREATE TABLE watch_term (
    item_id BIGINT NOT NULL,
    term VARCHAR NOT NULL,
    tf INTEGER NOT NULL,
    positions INTEGER[] NOT NULL
);

-- The index is fastest when watch_term is stored in stem order (DuckDB's zone maps then skip
-- all but the row groups of the stems a query asks for). New items append their rows at the
-- end; territoria.watch.search.compact rewrites the table in stem order when that tail grows
-- past a quarter of the rest. One row: how many items the ordered part held at the last
-- rewrite.
CREATE TABLE watch_index_state (
    compacted_docs BIGINT NOT NULL,
    compacted_at TIMESTAMP
);
INSERT INTO watch_index_state VALUES (0, NULL);
