-- The State's services and agencies as bodies (préfectures, rectorats, ARS, agences de l'eau,
-- DREAL, ADEME, Bpifrance, ANCT, SNCF Réseau, IDFM, European Commission): see
-- territoria.sources._state_bodies. Their scope is in body_territory (competence = the service
-- key), their address in contact (level/code = the seat commune, kind = the service key).

-- A contact row may belong to one body (several services share a seat commune: the préfecture
-- d'Ille-et-Vilaine and the préfecture de la région Bretagne are both in Rennes). contact has
-- no column default computed by a function, so ADD COLUMN replays safely from the log.
ALTER TABLE contact ADD COLUMN organisation_id VARCHAR;

-- The offices to meet in a body ("Préfet(e) de région", "Secrétaire général(e) pour les
-- affaires régionales (SGAR)" ...): offices, not names; `rank` orders them as the body lists
-- them.
CREATE TABLE body_office (
    organisation_id VARCHAR NOT NULL,
    rank INTEGER NOT NULL,
    office VARCHAR NOT NULL,
    description VARCHAR,
    source_id INTEGER NOT NULL
);
