-- Influence module: imported relations, actions log, cached whole-France influence graph.

CREATE SEQUENCE IF NOT EXISTS relation_id_seq START 1;

-- A typed, dated, sourced link between two actors (person or organisation ids).
CREATE TABLE relation (
    id BIGINT PRIMARY KEY DEFAULT nextval('relation_id_seq'),
    source_actor VARCHAR NOT NULL,
    target_actor VARCHAR NOT NULL,
    type VARCHAR NOT NULL,            -- member_of, presides, works_with, supplies, funds, partner, knows ...
    strength DOUBLE NOT NULL,         -- in [0, 1]
    date DATE,
    origin VARCHAR,                   -- free text: where the link is known from
    source_id INTEGER NOT NULL
);

-- Actors that are neither officials nor councils: companies, associations, federations,
-- universities, research centres, media, and "us" (the user's own organisation).
CREATE TABLE actor (
    id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,            -- company, association, federation, university, ... , self
    name VARCHAR NOT NULL,
    siren VARCHAR,
    level VARCHAR,
    code VARCHAR,
    source_id INTEGER NOT NULL
);

CREATE SEQUENCE IF NOT EXISTS action_id_seq START 1;

-- Lobbying actions log (the content of the annual HATVP activity report).
CREATE TABLE action (
    id BIGINT PRIMARY KEY DEFAULT nextval('action_id_seq'),
    date DATE NOT NULL,
    type VARCHAR NOT NULL,            -- meeting, letter, event, petition, consultation, call, email
    subject VARCHAR NOT NULL,
    policy_areas VARCHAR,             -- comma-separated HATVP policy areas
    decision_type VARCHAR,            -- legislative, regulatory, individual, contract, other
    decision_targeted VARCHAR,
    official_categories VARCHAR,      -- comma-separated categories of public officials
    hours DOUBLE,
    cost_eur DOUBLE,
    outcome VARCHAR,                  -- positive, neutral, negative, unknown
    notes VARCHAR,
    created_by VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE action_actor (
    action_id BIGINT NOT NULL,
    actor_id VARCHAR NOT NULL
);

-- Cached influence graph (rebuilt when its inputs change; see influence.network).
CREATE TABLE influence_node (
    idx INTEGER NOT NULL,
    id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL             -- person or the organisation kind
);

CREATE TABLE influence_edge (
    source INTEGER NOT NULL,
    target INTEGER NOT NULL,
    probability DOUBLE NOT NULL,
    type VARCHAR NOT NULL
);

CREATE TABLE influence_meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR
);
