-- The actions log in the vocabulary of the HATVP register of interest representatives (AGORA),
-- the exercise's figures and the clients (tiers) for whom actions are done: see
-- territoria.influence.agora for the official lists and their sources.
--
-- Old action types are mapped to the closest official type; the type as it was logged is kept
-- in `type_original` ('call: Téléphoner'), and a precision in `type_detail` (what the
-- official type "Autres : à préciser" asks for; 'Téléphoner' for a migrated call):
--   meeting      -> meeting          (Organiser des discussions informelles ou des réunions en
--                                     tête-à-tête)
--   call         -> meeting          (a telephone conversation is a meeting at a distance: the
--                                     HATVP counts it as an "entrée en communication")
--   email        -> correspondence   (Etablir une correspondance régulière …)
--   letter       -> correspondence   (a letter to an official is correspondence; an open letter
--                                     is "Envoyer des pétitions, lettres ouvertes, tracts")
--   petition     -> petition         (Envoyer des pétitions, lettres ouvertes, tracts)
--   event        -> event            (Inviter ou organiser des évènements, des rencontres …)
--   consultation -> information      (answering a consultation transmits information and
--                                     expertise to the decision-makers)
-- Old decision types: legislative -> law, regulatory -> regulatory, individual -> individual,
-- contract -> public_procurement (the original kept in `decision_type_original`), other -> other.
-- The table is rebuilt rather than altered: DuckDB 1.5.5 cannot replay from its log an
-- ALTER TABLE ... ADD COLUMN on a table with a column default computed by a function
-- (nextval, current_timestamp): the knowledge base would not open after a crash.
CREATE TABLE action_v11 (
    id BIGINT PRIMARY KEY DEFAULT nextval('action_id_seq'),
    date DATE NOT NULL,
    type VARCHAR NOT NULL,            -- key of territoria.influence.agora.ACTION_TYPES
    subject VARCHAR NOT NULL,
    policy_areas VARCHAR,
    decision_type VARCHAR,            -- key of territoria.influence.agora.DECISION_TYPES
    decision_targeted VARCHAR,
    official_categories VARCHAR,      -- register categories of the officials met, when logged
    hours DOUBLE,
    cost_eur DOUBLE,
    outcome VARCHAR,
    notes VARCHAR,
    created_by VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR,
    type_detail VARCHAR,              -- the user's own words for the type ('Téléphoner')
    type_original VARCHAR,            -- 'key: label' as logged before this migration
    decision_type_original VARCHAR,   -- idem for the decision type
    client VARCHAR                    -- the tiers for whom the action was done (NULL: our own)
);
INSERT INTO action_v11
SELECT id, date,
       CASE type WHEN 'call' THEN 'meeting' WHEN 'email' THEN 'correspondence'
                 WHEN 'letter' THEN 'correspondence' WHEN 'consultation' THEN 'information'
                 ELSE type END,
       subject, policy_areas,
       CASE decision_type WHEN 'legislative' THEN 'law' WHEN 'contract' THEN 'public_procurement'
                          ELSE decision_type END,
       decision_targeted, official_categories, hours, cost_eur, outcome, notes, created_by,
       created_at, deleted_at, deleted_by,
       CASE type WHEN 'call' THEN 'Téléphoner' WHEN 'letter' THEN 'Lettre'
                 WHEN 'email' THEN 'Courriel'
                 WHEN 'consultation' THEN 'Répondre à une consultation publique' END,
       type || ': ' || CASE type
           WHEN 'meeting' THEN 'Organiser des discussions informelles ou des réunions en tête-à-tête'
           WHEN 'letter' THEN 'Envoyer des pétitions, lettres, tracts'
           WHEN 'email' THEN 'Établir une correspondance régulière (par courriel, par courrier…)'
           WHEN 'call' THEN 'Téléphoner'
           WHEN 'event' THEN 'Organiser des séminaires, conférences, colloques, réceptions'
           WHEN 'petition' THEN 'Lancer des pétitions'
           WHEN 'consultation' THEN 'Répondre à une consultation publique'
           ELSE type END,
       decision_type || ': ' || CASE decision_type
           WHEN 'legislative' THEN 'Lois, y compris constitutionnelles'
           WHEN 'regulatory' THEN 'Actes réglementaires'
           WHEN 'individual' THEN 'Décisions individuelles'
           WHEN 'contract' THEN 'Contrats, marchés publics, concessions'
           WHEN 'other' THEN 'Autres décisions publiques'
           ELSE decision_type END,
       NULL
FROM action;
DROP TABLE action;
ALTER TABLE action_v11 RENAME TO action;

-- One exercise of the register (an accounting year, the calendar year by default): the
-- figures the annual declaration gives beside its activities.
CREATE TABLE IF NOT EXISTS register_exercise (
    year INTEGER PRIMARY KEY,         -- the year the exercise ends in
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    spend_eur DOUBLE,                 -- amount spent on interest representation, if known
    spend_bracket VARCHAR,            -- or directly the register's bracket
    staff INTEGER,                    -- persons employed in interest representation
    fte DOUBLE,                       -- their full-time equivalent
    turnover_bracket VARCHAR,         -- firms and consultancies: the register's bracket
    updated_by VARCHAR,
    updated_at TIMESTAMP
);

-- The clients (tiers) of an exercise, for consultancies and anyone acting for others.
CREATE TABLE IF NOT EXISTS register_client (
    year INTEGER NOT NULL,
    position INTEGER NOT NULL,
    name VARCHAR NOT NULL,
    identifier VARCHAR                -- SIREN or other national identifier, if given
);
