-- Soft deletion of logged actions: a deleted action keeps its row (and its actors) so that it
-- can be restored; lists, reports and the influence graph leave it out.
-- The table is rebuilt rather than altered: DuckDB 1.5.5 cannot replay from its log an
-- ALTER TABLE ... ADD COLUMN on a table with a column default computed by a function
-- (nextval, current_timestamp): the knowledge base would not open after a crash.
CREATE TABLE action_v7 (
    id BIGINT PRIMARY KEY DEFAULT nextval('action_id_seq'),
    date DATE NOT NULL,
    type VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    policy_areas VARCHAR,
    decision_type VARCHAR,
    decision_targeted VARCHAR,
    official_categories VARCHAR,
    hours DOUBLE,
    cost_eur DOUBLE,
    outcome VARCHAR,
    notes VARCHAR,
    created_by VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR                -- who deleted it ('alice', 'cli:root')
);
INSERT INTO action_v7 SELECT *, NULL, NULL FROM action;
DROP TABLE action;
ALTER TABLE action_v7 RENAME TO action;
