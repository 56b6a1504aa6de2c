-- Watch (veille): sources, fetch log, items with their links to the knowledge base, topics,
-- the home territory; alert subscriptions and their delivery log (shared by watch and crisis).
-- See territoria.watch and territoria.alerts. Deleting is soft (deleted_at, deleted_by).
-- No column default is computed by a function other than nextval (replays safely from the log).

CREATE SEQUENCE watch_source_id_seq START 1;
CREATE TABLE watch_source (
    id BIGINT PRIMARY KEY DEFAULT nextval('watch_source_id_seq'),
    kind VARCHAR NOT NULL,            -- 'feed' (RSS/Atom), 'page', 'sitemap', 'folder'
    url VARCHAR NOT NULL,             -- feed/page/sitemap address, or a folder's absolute path
    name VARCHAR NOT NULL,
    selector VARCHAR,                 -- 'page': CSS selector of the part watched (NULL: whole page)
    interval_minutes INTEGER NOT NULL DEFAULT 60,
    tags VARCHAR[] NOT NULL DEFAULT [],
    -- conditional GET and change detection state
    etag VARCHAR,
    last_modified VARCHAR,
    content_hash VARCHAR,             -- 'page': hash of the watched text at the last fetch
    content_text VARCHAR,             -- 'page': the watched text at the last fetch (for the diff)
    -- scheduling and health
    last_fetch_at TIMESTAMP,
    next_fetch_at TIMESTAMP,
    last_status VARCHAR,              -- ok, not_modified, error, refused, robots, timeout, too_large
    last_error VARCHAR,
    failures INTEGER NOT NULL DEFAULT 0,  -- consecutive failures (backoff)
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);

-- One row per fetch attempt of a source: what happened, for the per-source status page.
CREATE SEQUENCE watch_fetch_id_seq START 1;
CREATE TABLE watch_fetch (
    id BIGINT PRIMARY KEY DEFAULT nextval('watch_fetch_id_seq'),
    source_id BIGINT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL,          -- as watch_source.last_status
    http_status INTEGER,
    attempt INTEGER NOT NULL DEFAULT 1,
    items_new INTEGER NOT NULL DEFAULT 0,
    items_duplicate INTEGER NOT NULL DEFAULT 0,
    items_unchanged INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER,
    error VARCHAR,
    job_id VARCHAR
);

-- An item: an article of a feed, a document of a folder or sitemap, or a change of a page.
CREATE SEQUENCE watch_item_id_seq START 1;
CREATE TABLE watch_item (
    id BIGINT PRIMARY KEY DEFAULT nextval('watch_item_id_seq'),
    source_id BIGINT NOT NULL,
    kind VARCHAR NOT NULL,            -- 'article', 'document', 'change'
    url VARCHAR NOT NULL,             -- the address it was fetched from (after redirects)
    canonical_url VARCHAR NOT NULL,   -- normalised (rel=canonical, tracking parameters removed)
    title VARCHAR NOT NULL DEFAULT '',
    text VARCHAR NOT NULL DEFAULT '', -- the main text extracted
    summary VARCHAR NOT NULL DEFAULT '',
    author VARCHAR,
    language VARCHAR,                 -- ISO 639-1 ('fr')
    published TIMESTAMP,              -- as the item states it (UTC); NULL if it states none
    fetched_at TIMESTAMP NOT NULL,
    content_hash VARCHAR NOT NULL,    -- of the normalised text (exact duplicates)
    simhash UBIGINT,                  -- 64-bit SimHash of word shingles (near duplicates)
    duplicate_of BIGINT,              -- the item this one repeats (NULL: an original)
    duplicate_score DOUBLE,           -- similarity with it (1.0: same canonical URL or text)
    diff VARCHAR,                     -- 'change': unified diff against the previous version
    tags VARCHAR[] NOT NULL DEFAULT [],
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);

-- A link from an item to the knowledge base: a territory, a person, an organisation, a pole.
CREATE TABLE watch_link (
    item_id BIGINT NOT NULL,
    type VARCHAR NOT NULL,            -- 'territory', 'person', 'organisation', 'pole'
    level VARCHAR,                    -- a territory's level (NULL otherwise)
    code VARCHAR NOT NULL,            -- territory code, person id (p-…), organisation or pole id
    name VARCHAR NOT NULL,            -- as the knowledge base writes it
    score DOUBLE NOT NULL,            -- confidence in [0, 1]
    mention VARCHAR NOT NULL,         -- the text as the item writes it
    start_char INTEGER,               -- first mention's offset in title + '\n\n' + text
    end_char INTEGER,
    mentions INTEGER NOT NULL DEFAULT 1
);

-- Saved topics: a Boolean query, optional territory and person filters, tags.
CREATE SEQUENCE watch_topic_id_seq START 1;
CREATE TABLE watch_topic (
    id BIGINT PRIMARY KEY DEFAULT nextval('watch_topic_id_seq'),
    name VARCHAR NOT NULL,
    query VARCHAR NOT NULL,           -- "ligne Rennes Saint-Malo" AND (TER OR train) NOT bus
    territory_level VARCHAR,
    territory_code VARCHAR,
    person_id VARCHAR,
    tags VARCHAR[] NOT NULL DEFAULT [],
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);

CREATE TABLE watch_item_topic (
    item_id BIGINT NOT NULL,
    topic_id BIGINT NOT NULL,
    matched_at TIMESTAMP NOT NULL
);

-- The home territory: items linked inside it (or to a body or person of it) are endogenous.
CREATE TABLE watch_home (
    level VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    set_by VARCHAR NOT NULL,
    set_at TIMESTAMP NOT NULL
);

-- Alerts (shared by watch and crisis): who is told what, how, and how often.
CREATE SEQUENCE alert_subscription_id_seq START 1;
CREATE TABLE alert_subscription (
    id BIGINT PRIMARY KEY DEFAULT nextval('alert_subscription_id_seq'),
    owner VARCHAR NOT NULL,           -- the user it belongs to
    name VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,         -- 'watch' or 'crisis'
    channel VARCHAR NOT NULL,         -- 'email' or 'webhook'
    target VARCHAR NOT NULL,          -- e-mail address or webhook URL
    frequency VARCHAR NOT NULL,       -- 'immediate', 'daily', 'weekly'
    filters VARCHAR NOT NULL DEFAULT '{}',  -- JSON: topic_ids, territory (level, code), person_id, scope
    secret VARCHAR,                   -- webhook: HMAC-SHA256 key of the X-Territoria-Signature header
    language VARCHAR NOT NULL DEFAULT 'fr',
    last_digest_at TIMESTAMP,         -- the end of the period the last digest covered
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);

-- Every message to send and what became of it: attempts, next retry, last error.
CREATE SEQUENCE alert_delivery_id_seq START 1;
CREATE TABLE alert_delivery (
    id BIGINT PRIMARY KEY DEFAULT nextval('alert_delivery_id_seq'),
    subscription_id BIGINT NOT NULL,
    kind VARCHAR NOT NULL,            -- 'alert' or 'digest'
    dedup_key VARCHAR NOT NULL,       -- one message per subscription and key ('item:42', 'digest:2026-12-02')
    subject VARCHAR NOT NULL,
    body_text VARCHAR NOT NULL,
    body_html VARCHAR,
    payload VARCHAR,                  -- webhook: the JSON sent
    item_ids BIGINT[] NOT NULL DEFAULT [],
    status VARCHAR NOT NULL,          -- 'pending', 'sent', 'retrying', 'failed'
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    last_error VARCHAR,
    response_status INTEGER,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
