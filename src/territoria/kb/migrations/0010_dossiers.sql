-- Dossiers: the persistent place where a lobbying project lives (its decision and calendar,
-- stakeholders and their stances, plan versions, actions, next steps, links and notes).
-- See territoria.influence.dossiers. Every row records who wrote it and when; deleting is soft
-- (deleted_at, deleted_by) for the dossier and for each of its items.
CREATE SEQUENCE dossier_id_seq START 1;
CREATE TABLE dossier (
    id BIGINT PRIMARY KEY DEFAULT nextval('dossier_id_seq'),
    title VARCHAR NOT NULL,
    theme VARCHAR NOT NULL,           -- decision-map (sub-)theme id ('roads', 'secondary-schools')
    level VARCHAR NOT NULL,           -- the project's territory
    code VARCHAR NOT NULL,
    objective VARCHAR NOT NULL DEFAULT '',
    decision VARCHAR NOT NULL DEFAULT '',  -- the public decision sought, in words
    status VARCHAR NOT NULL,          -- actif, suspendu, gagne, perdu, clos
    owner VARCHAR NOT NULL,           -- who leads it (a user name)
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);

-- One sequence for every item of every dossier: an item id names one item across kinds.
CREATE SEQUENCE dossier_item_id_seq START 1;

-- Partner collectivities (a territory) and poles (a pole id of 'territoria poles detect').
CREATE TABLE dossier_partner (
    id BIGINT PRIMARY KEY DEFAULT nextval('dossier_item_id_seq'),
    dossier_id BIGINT NOT NULL,
    kind VARCHAR NOT NULL,            -- 'territory' or 'pole'
    level VARCHAR,                    -- a territory's level (NULL for a pole)
    code VARCHAR NOT NULL,            -- a territory's code, or a pole id
    label VARCHAR NOT NULL DEFAULT '',
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);

-- Stakeholders' stances, history kept: a new stance is a new row, the current one the latest.
CREATE TABLE dossier_stance (
    id BIGINT PRIMARY KEY DEFAULT nextval('dossier_item_id_seq'),
    dossier_id BIGINT NOT NULL,
    actor_id VARCHAR NOT NULL,        -- a person (p-…), an organisation or an imported actor
    position VARCHAR NOT NULL,        -- soutien, oppose, indecis, inconnu
    salience DOUBLE NOT NULL,         -- how much the project matters to them, in [0, 1]
    source VARCHAR NOT NULL DEFAULT '',  -- where the stance is known from
    stance_date DATE,                 -- when it was expressed or observed
    camp VARCHAR,                     -- 'majorite' or 'opposition' in their council, when known
    notes VARCHAR NOT NULL DEFAULT '',
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);

-- The decision's calendar: deliberations, deadlines, consultations.
CREATE TABLE dossier_event (
    id BIGINT PRIMARY KEY DEFAULT nextval('dossier_item_id_seq'),
    dossier_id BIGINT NOT NULL,
    date DATE NOT NULL,
    kind VARCHAR NOT NULL,            -- deliberation, echeance, consultation, reunion, autre
    label VARCHAR NOT NULL,
    status VARCHAR NOT NULL,          -- prevu, fait, reporte, annule
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);

-- Next steps, with who does them and by when.
CREATE TABLE dossier_step (
    id BIGINT PRIMARY KEY DEFAULT nextval('dossier_item_id_seq'),
    dossier_id BIGINT NOT NULL,
    label VARCHAR NOT NULL,
    owner VARCHAR NOT NULL DEFAULT '',
    due_date DATE,
    status VARCHAR NOT NULL,          -- a_faire, en_cours, fait, abandonne
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);

CREATE TABLE dossier_link (
    id BIGINT PRIMARY KEY DEFAULT nextval('dossier_item_id_seq'),
    dossier_id BIGINT NOT NULL,
    url VARCHAR NOT NULL,             -- http(s) only
    label VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);

CREATE TABLE dossier_note (
    id BIGINT PRIMARY KEY DEFAULT nextval('dossier_item_id_seq'),
    dossier_id BIGINT NOT NULL,
    text VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);

-- Actions of the log (table action) linked to the dossier.
CREATE TABLE dossier_action (
    id BIGINT PRIMARY KEY DEFAULT nextval('dossier_item_id_seq'),
    dossier_id BIGINT NOT NULL,
    action_id BIGINT NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);

-- Versions of the plan: each a persisted job (table job, kind 'plan') whose result is the plan.
CREATE TABLE dossier_plan (
    id BIGINT PRIMARY KEY DEFAULT nextval('dossier_item_id_seq'),
    dossier_id BIGINT NOT NULL,
    job_id VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);
