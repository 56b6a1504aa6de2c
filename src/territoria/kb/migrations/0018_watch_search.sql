-- Watch (veille): the full-text index of the items, kept by territoria.watch.search in the same
-- transaction as the items it indexes (no rebuild, no lag). The stems come from
-- territoria.watch.query.analyse: lower case, accents removed, French Snowball stems.

-- One row per indexed item: its stems in order, space-padded (' ligne renn saint malo ... '),
-- so that a phrase is a substring test, and its length in stems (BM25).
CREATE TABLE watch_doc (
    item_id BIGINT NOT NULL,
    length INTEGER NOT NULL,
    stems VARCHAR NOT NULL
);

-- One row per (item, stem): how often the stem occurs in the item (BM25, term lookups).
CREATE TABLE watch_term (
    item_id BIGINT NOT NULL,
    term VARCHAR NOT NULL,
    tf INTEGER NOT NULL
);
