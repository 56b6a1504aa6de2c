-- Territoria knowledge base, schema version 21: NAF 2025 next to NAF rev. 2.
-- SIRENE files carry activitePrincipaleNAF25Etablissement (and ...NAF25UniteLegale) since
-- late 2025; NAF 2025 becomes the APE on 1 January 2027. Both codes are kept per establishment
-- so that every index can be computed in either nomenclature. Rows point to `source`.

ALTER TABLE establishment ADD COLUMN naf25 VARCHAR;          -- NAF 2025 sous-classe, '62.10Y';
                                                            -- NULL when absent or unknown
ALTER TABLE establishment ADD COLUMN naf25_raw VARCHAR;      -- activitePrincipaleNAF25Etablissement
ALTER TABLE establishment ADD COLUMN naf25_section VARCHAR;  -- NACE Rev. 2.1 section, 'K'
ALTER TABLE establishment ADD COLUMN naf25_division VARCHAR; -- '62'
ALTER TABLE establishment ADD COLUMN naf25_group VARCHAR;    -- '62.1'
ALTER TABLE legal_unit ADD COLUMN naf25 VARCHAR;             -- activitePrincipaleNAF25UniteLegale

-- NAF 2025 sous-classes, from the package data (territoria/data/naf/naf_2025.csv).
CREATE TABLE naf_2025 (
    code VARCHAR NOT NULL,            -- '62.10Y'
    label VARCHAR NOT NULL,           -- French label (INSEE)
    section VARCHAR NOT NULL,
    division VARCHAR NOT NULL,
    naf_group VARCHAR NOT NULL,
    naf_class VARCHAR NOT NULL,
    source_id INTEGER NOT NULL
);

-- INSEE's correspondence NAF rev. 2 -> NAF 2025 (territoria/data/naf/naf_rev2_naf2025.csv).
CREATE TABLE naf_correspondence (
    naf_rev2 VARCHAR NOT NULL,        -- '63.11Z'
    naf_2025 VARCHAR NOT NULL,        -- '63.10Y'
    kind VARCHAR NOT NULL,            -- unique (whole rev. 2 sous-classe) | multiple (a part)
    source_id INTEGER NOT NULL
);
