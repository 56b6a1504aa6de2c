-- Runtime: a commit counter used to recover from a kill during a checkpoint, the audit log of
-- every write, and persisted jobs (influence plans, and later watch fetches and reports).

-- One row. Every write transaction of the library (kb.transaction) increments `generation`,
-- so that after a crash the knowledge base can tell whether its write-ahead log was already
-- checkpointed into the file (see kb/_recovery.py).
CREATE TABLE kb_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL,
    written_at TIMESTAMP NOT NULL
);
INSERT INTO kb_state VALUES (1, 0, current_timestamp);

CREATE SEQUENCE audit_id_seq START 1;
-- Who wrote what, when: imports, accounts, actions, relations, jobs.
CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY DEFAULT nextval('audit_id_seq'),
    "at" TIMESTAMP NOT NULL DEFAULT current_timestamp,
    actor VARCHAR NOT NULL,          -- 'web:alice', 'cli:root', 'system'
    event VARCHAR NOT NULL,          -- 'import.france', 'user.passwd', 'action.delete', ...
    target VARCHAR,                  -- what it touched: a user name, an action id, a source id
    detail VARCHAR                   -- JSON with the figures of the write
);

-- Background jobs, persisted so that they survive a restart with their status and result.
CREATE TABLE job (
    id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,           -- 'plan'
    owner VARCHAR NOT NULL,          -- user name
    params VARCHAR NOT NULL,         -- JSON, as validated at submission
    status VARCHAR NOT NULL,         -- queued, running, done, failed, cancelled
    progress DOUBLE,
    step VARCHAR,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    result VARCHAR,                  -- JSON
    error VARCHAR                    -- JSON {code, message, status}
);
