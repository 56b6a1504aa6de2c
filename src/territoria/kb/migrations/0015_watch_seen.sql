-- Watch (veille): what a sitemap or folder source has already seen, so that a fetch hands the
-- pipeline only new addresses (sitemap) or new and changed files (folder). See
-- territoria.watch.fetch.
CREATE TABLE watch_seen (
    source_id BIGINT NOT NULL,
    key VARCHAR NOT NULL,             -- sitemap: the address; folder: the file's relative path
    hash VARCHAR,                     -- sitemap: its lastmod; folder: SHA-256 of the file
    seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source_id, key)
);
