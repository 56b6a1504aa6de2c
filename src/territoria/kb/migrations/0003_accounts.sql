-- Accounts of the web application: users with a role, and API tokens for scripts.
-- Passwords are stored as argon2id hashes, API tokens as SHA-256 digests (never in clear).

CREATE TABLE app_user (
    name VARCHAR PRIMARY KEY,
    role VARCHAR NOT NULL,            -- admin, analyst, viewer
    password_hash VARCHAR NOT NULL,   -- argon2id (PHC string)
    session_epoch INTEGER NOT NULL DEFAULT 0,  -- bumped on password change: old sessions end
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    password_changed_at TIMESTAMP
);

CREATE TABLE api_token (
    token_hash VARCHAR PRIMARY KEY,   -- hex SHA-256 of the token
    user_name VARCHAR NOT NULL,
    label VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
