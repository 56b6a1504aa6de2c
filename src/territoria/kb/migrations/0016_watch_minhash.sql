-- Near-duplicate search of the watch (territoria.watch.dedup): each item's MinHash signature
-- of its word 3-shingles and its locality-sensitive bands. Two items whose shingle sets have
-- a Jaccard resemblance s share at least one of the 16 bands of 4 values with probability
-- 1 - (1 - s^4)^16 (0.99 at s = 0.6, 0.02 at s = 0.2): the candidates are found with an
-- equality join on (band, hash), then their signatures (and texts) decide.
CREATE TABLE watch_minhash (
    item_id BIGINT NOT NULL,
    signature UBIGINT[] NOT NULL      -- 64 minimum hashes of the shingles, one per permutation
);
CREATE TABLE watch_band (
    item_id BIGINT NOT NULL,
    band TINYINT NOT NULL,            -- 0 … 15
    hash UBIGINT NOT NULL             -- of the band's 4 values of the signature
);
