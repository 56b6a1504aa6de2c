-- Delegations of vice-presidents and adjoints (territoria delegations import): which official
-- of a body holds which portfolio. The decision map gives a larger share of a body's weight to
-- the officials whose delegation names the project's sub-theme (see territoria.influence.decision).
CREATE TABLE delegation (
    person_id VARCHAR NOT NULL,       -- person (p-…) holding the delegation
    organisation_id VARCHAR NOT NULL, -- the body (cm-35238, cc-243500139, cr-53 …)
    text VARCHAR NOT NULL,            -- the delegation as the body words it
    themes VARCHAR[] NOT NULL,        -- decision-map sub-theme (or theme) ids it covers
    origin VARCHAR,                   -- where it was read (arrêté de délégation, web page …)
    date DATE,                        -- date of the delegation
    line INTEGER NOT NULL,            -- line of the imported file
    source_id INTEGER NOT NULL
);
