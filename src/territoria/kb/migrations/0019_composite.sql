-- Composite indices (territoria index build): saved definitions and their builds with
-- provenance. A definition is soft-deleted (deleted_at/deleted_by); its builds stay.

CREATE SEQUENCE IF NOT EXISTS composite_index_id_seq START 1;
CREATE SEQUENCE IF NOT EXISTS composite_build_id_seq START 1;

-- One row per definition; a name is unique among the live (not deleted) definitions.
CREATE TABLE composite_index (
    id INTEGER PRIMARY KEY DEFAULT nextval('composite_index_id_seq'),
    name VARCHAR NOT NULL,
    level VARCHAR NOT NULL,          -- territory level ranked (commune, epci, departement …)
    period VARCHAR,                  -- period asked for (NULL: each indicator's latest)
    method VARCHAR NOT NULL,         -- JSON: indicators, polarity, weights, every choice, runs, seed
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    created_by VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);

-- One row per build of a definition: what it used and what it found.
CREATE TABLE composite_build (
    id INTEGER PRIMARY KEY DEFAULT nextval('composite_build_id_seq'),
    index_id INTEGER NOT NULL,
    built_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    built_by VARCHAR NOT NULL,
    weights VARCHAR NOT NULL,        -- JSON {indicator: weight used}
    provenance VARCHAR NOT NULL,     -- JSON per indicator: label, unit, period(s), source rows
    treatments VARCHAR NOT NULL,     -- JSON per indicator: outlier treatment applied
    sensitivity VARCHAR,             -- JSON Sobol' first-order and total indices per input
    design VARCHAR,                  -- Monte-Carlo design (N, D, runs)
    runs INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    ranked INTEGER NOT NULL,         -- territories ranked
    dropped INTEGER NOT NULL         -- territories of the level left out (too few indicators)
);

-- Scores of a build (bulk: no key).
CREATE TABLE composite_score (
    build_id INTEGER NOT NULL,
    code VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    score DOUBLE,
    rank INTEGER NOT NULL,
    median_rank DOUBLE,
    rank_low INTEGER,
    rank_high INTEGER
);
