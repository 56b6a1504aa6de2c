-- Territoria knowledge base, schema version 24: NAF 2025 imported from INSEE's own files.
-- 'territoria import naf2025' reads INSEE's "Structure NAF 2025" workbook, which names every
-- level; naf_2025 (migration 21) keeps the sous-classes, this table the levels above them.
-- Rows point to `source` (name 'naf-2025'), replaced together with naf_2025 and
-- naf_correspondence.

CREATE TABLE naf_2025_level (
    code VARCHAR NOT NULL,            -- 'K' (section letter), '62', '62.1', '62.10'
    level VARCHAR NOT NULL,           -- section | division | group | class
    label VARCHAR NOT NULL,           -- intitulé, as INSEE writes it
    source_id INTEGER NOT NULL
);
