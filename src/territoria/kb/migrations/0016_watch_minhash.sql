-- Near-duplicate search of the watch (territoria.watch.dedup): each item's MinHash signature
-- of its word 3-shingles and its locality-sensitive bands. Two items whose shingle sets have
-- a Jaccard resemblance s share at least one of the 20 bands of 3 values with probability
-- 1 - (1 - s^3)^20 (0.992 at s = 0.6, 0.15 at s = 0.2): the candidates are found with an
-- equality join on (band, hash), then their signatures (and texts) decide.
CREATE TABLE watch_minhash (
    item_id BIGINT NOT NULL,
    signature UBIGINT[] NOT NULL      -- 60 minimum hashes of the shingles, one per hash function
);
CREATE TABLE watch_band (
    item_id BIGINT NOT NULL,
    band TINYINT NOT NULL,            -- 0 … 19
    hash UBIGINT NOT NULL             -- of the band's 3 values of the signature
);
