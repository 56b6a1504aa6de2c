-- Server-side sessions of the web application: signing out, a password or role change, a
-- removal or an administrator's revocation end a session at once (the cookie carries only the
-- session's random id, stored here as its SHA-256 digest, never in clear).
-- app_user.session_epoch (0003) is superseded by this table and no longer read.

CREATE TABLE app_session (
    id_hash VARCHAR PRIMARY KEY,      -- hex SHA-256 of the session id held by the cookie
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,    -- UTC
    expires_at TIMESTAMP NOT NULL,    -- UTC: created_at + TERRITORIA_SESSION_HOURS
    revoked_at TIMESTAMP,             -- UTC: signed out or revoked
    address VARCHAR,                  -- client address at sign-in
    user_agent VARCHAR
);

-- When the user last signed in (UTC), kept when old sessions are purged.
-- The table is rebuilt rather than altered: DuckDB 1.5.5 cannot replay from its log an
-- ALTER TABLE ... ADD COLUMN on a table with a column default computed by a function
-- (current_timestamp, nextval): the knowledge base would not open after a crash.
CREATE TABLE app_user_v6 (
    name VARCHAR PRIMARY KEY,
    role VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL,
    session_epoch INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    password_changed_at TIMESTAMP,
    last_sign_in_at TIMESTAMP
);
INSERT INTO app_user_v6 SELECT *, NULL FROM app_user;
DROP TABLE app_user;
ALTER TABLE app_user_v6 RENAME TO app_user;
