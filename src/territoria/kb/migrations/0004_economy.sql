-- Territoria knowledge base, schema version 4: the economic fabric (SIRENE, NAF rev. 2,
-- sector groups). Every row points to a row of `source`. Bulk tables carry no PRIMARY KEY
-- (see 0001): the SIRENE importer guarantees one row per siret / siren and tests check it.

-- NAF rev. 2, from the package data (territoria/data/naf/naf_rev2.csv).
CREATE TABLE naf (
    code VARCHAR NOT NULL,            -- 'J', '62', '62.0', '62.01', '62.01Z'
    level VARCHAR NOT NULL,           -- section, division, group, class, subclass
    label VARCHAR NOT NULL,           -- French label (INSEE)
    section VARCHAR NOT NULL,
    division VARCHAR,
    naf_group VARCHAR,
    naf_class VARCHAR,
    parent VARCHAR,
    source_id INTEGER NOT NULL
);

-- SIRENE establishments (StockEtablissement), one row per siret.
CREATE TABLE establishment (
    siret VARCHAR NOT NULL,
    siren VARCHAR NOT NULL,
    commune VARCHAR,                  -- current commune (arrondissements, communes déléguées and
                                      -- associées mapped to their commune); NULL when unknown
    commune_raw VARCHAR,              -- codeCommuneEtablissement as published
    naf VARCHAR,                      -- NAF rev. 2 sous-classe, e.g. '62.01Z'; NULL when the code is
                                      -- in an older nomenclature or unknown
    naf_raw VARCHAR,                  -- activitePrincipaleEtablissement as published
    naf_nomenclature VARCHAR,         -- NAFRev2, NAFRev1, NAF1993, NAPv2
    section VARCHAR,                  -- 'J'
    division VARCHAR,                 -- '62'
    naf_group VARCHAR,                -- '62.0'
    headcount_band VARCHAR,           -- trancheEffectifsEtablissement (NN, 00, 01 ... 53)
    headcount_year INTEGER,           -- anneeEffectifsEtablissement
    employment DOUBLE NOT NULL,       -- estimated salaried employment: midpoint of the band
    active BOOLEAN NOT NULL,          -- etatAdministratifEtablissement = 'A'
    created DATE,                     -- dateCreationEtablissement
    closed DATE,                      -- start of the current period when closed (dateDebut)
    head_office BOOLEAN,              -- etablissementSiege
    employer BOOLEAN,                 -- caractereEmployeurEtablissement = 'O'
    diffusion VARCHAR,                -- statutDiffusionEtablissement (O: public, P: partial)
    name VARCHAR,                     -- enseigne1Etablissement or denominationUsuelleEtablissement
    lon DOUBLE,                       -- WGS84, reprojected from the published coordinates
    lat DOUBLE,
    geo_quality VARCHAR,              -- qualite_xy of the geolocation file, when given
    source_id INTEGER NOT NULL
);

-- SIRENE legal units (StockUniteLegale), one row per siren.
CREATE TABLE legal_unit (
    siren VARCHAR NOT NULL,
    name VARCHAR,                     -- denomination, or the usual name of a natural person
                                      -- whose record is public
    legal_form VARCHAR,               -- categorieJuridiqueUniteLegale (e.g. 5710 SAS, 1000 EI)
    category VARCHAR,                 -- categorieEntreprise: PME, ETI, GE
    ess BOOLEAN,                      -- economieSocialeSolidaireUniteLegale = 'O'
    mission BOOLEAN,                  -- societeMissionUniteLegale = 'O'
    headcount_band VARCHAR,
    employment DOUBLE,
    naf VARCHAR,                      -- activitePrincipaleUniteLegale (NAF rev. 2 only)
    active BOOLEAN NOT NULL,
    created DATE,
    head_office_nic VARCHAR,
    diffusion VARCHAR,
    source_id INTEGER NOT NULL
);

-- Periods of establishments (StockEtablissementHistorique): state and activity over time.
CREATE TABLE establishment_history (
    siret VARCHAR NOT NULL,
    start_date DATE,                  -- dateDebut (NULL: since the creation)
    end_date DATE,                    -- dateFin (NULL: current period)
    active BOOLEAN NOT NULL,
    naf VARCHAR,                      -- NAF rev. 2 sous-classe during the period, when rev. 2
    naf_raw VARCHAR,
    naf_nomenclature VARCHAR,
    source_id INTEGER NOT NULL
);

-- Sector groups defined by users (CSV) or saved from a relatedness analysis.
CREATE TABLE sector_group (
    scheme VARCHAR NOT NULL,          -- name of the grouping, e.g. 'filieres-bretagne'
    group_id VARCHAR NOT NULL,
    label VARCHAR,
    sector VARCHAR NOT NULL,          -- a NAF code at any level ('62', '62.0', '62.01Z')
    source_id INTEGER NOT NULL
);

-- Input-output or other user-supplied links between sectors.
CREATE TABLE sector_link (
    scheme VARCHAR NOT NULL,
    sector_from VARCHAR NOT NULL,
    sector_to VARCHAR NOT NULL,
    weight DOUBLE NOT NULL,
    source_id INTEGER NOT NULL
);
