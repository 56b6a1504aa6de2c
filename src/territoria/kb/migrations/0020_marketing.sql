-- Territorial marketing and benchmarking: the good-practices catalogue and the assets registry
-- (territoria.marketing). Rows are imported (a source row per catalogue file) or added by hand
-- (a source row per entry, naming who added it); deletion is soft (deleted_at, deleted_by).

CREATE SEQUENCE practice_id_seq START 1;
CREATE TABLE practice (
    id BIGINT PRIMARY KEY DEFAULT nextval('practice_id_seq'),
    title VARCHAR NOT NULL,
    level VARCHAR NOT NULL,           -- the territory that carries the practice
    code VARCHAR NOT NULL,
    themes VARCHAR[] NOT NULL,        -- theme ids (territoria/data/marketing/themes.json)
    description VARCHAR NOT NULL DEFAULT '',
    results VARCHAR NOT NULL DEFAULT '',
    contact VARCHAR NOT NULL DEFAULT '',
    address VARCHAR NOT NULL DEFAULT '',
    date DATE,                        -- when the practice started or was reported
    reference VARCHAR NOT NULL DEFAULT '',  -- the catalogue's own "source" column (who reports it)
    line INTEGER,                     -- line of the imported file (NULL when added by hand)
    source_id INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by VARCHAR,
    updated_at TIMESTAMP,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);

-- The practices' French full-text index (stems of territoria.watch.query.analyse: lower case,
-- accents removed, Snowball French), rewritten with the practice in the same transaction.
CREATE TABLE practice_term (
    practice_id BIGINT NOT NULL,
    term VARCHAR NOT NULL,
    tf INTEGER NOT NULL
);
CREATE TABLE practice_doc (
    practice_id BIGINT NOT NULL,
    length INTEGER NOT NULL
);

CREATE SEQUENCE asset_id_seq START 1;
CREATE TABLE asset (
    id BIGINT PRIMARY KEY DEFAULT nextval('asset_id_seq'),
    kind VARCHAR NOT NULL,            -- savoir_faire, produit, label, entreprise_phare, ...
    name VARCHAR NOT NULL,
    level VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    label VARCHAR NOT NULL DEFAULT '',    -- AOP, IGP, Label Rouge … (kind 'label')
    description VARCHAR NOT NULL DEFAULT '',
    address VARCHAR NOT NULL DEFAULT '',
    date DATE,                        -- date of the fact (label granted, first edition …)
    reference VARCHAR NOT NULL DEFAULT '',
    line INTEGER,
    source_id INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by VARCHAR,
    updated_at TIMESTAMP,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);
