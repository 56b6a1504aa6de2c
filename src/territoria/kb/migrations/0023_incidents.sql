-- Incidents (territoria.crisis): a Sahana-like record that CAP 1.2 alerts import into and
-- export from, the network edges an incident closes, and a cache of computed impacts.
-- Deletion is soft (deleted_at, deleted_by); every write is audited ('incident.*').
CREATE SEQUENCE incident_id_seq START 1;
CREATE TABLE incident (
    id BIGINT PRIMARY KEY DEFAULT nextval('incident_id_seq'),
    title VARCHAR NOT NULL,
    type VARCHAR NOT NULL,            -- territoria.crisis.incidents.INCIDENT_TYPES key
    severity INTEGER NOT NULL,        -- 1 (minor) .. 5 (extreme)
    status VARCHAR NOT NULL,          -- CAP status: Actual, Exercise, System, Test, Draft
    exercise BOOLEAN NOT NULL,
    start_at TIMESTAMP NOT NULL,      -- UTC
    end_at TIMESTAMP,
    geom GEOMETRY NOT NULL,           -- WGS84 lon/lat polygon, line or point buffer
    geom_kind VARCHAR NOT NULL,       -- 'polygon', 'line', 'point' (buffered by radius_m)
    radius_m DOUBLE,
    xmin DOUBLE, ymin DOUBLE, xmax DOUBLE, ymax DOUBLE,
    description VARCHAR NOT NULL DEFAULT '',
    cap_identifier VARCHAR,           -- the CAP <identifier> (imported or given at export)
    cap_sender VARCHAR,
    network_id INTEGER,               -- the road network the incident was set on, if any
    source_id INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by VARCHAR,
    deleted_at TIMESTAMP,
    deleted_by VARCHAR
);

CREATE TABLE incident_closed_edge (
    incident_id BIGINT NOT NULL,
    network_id INTEGER NOT NULL,
    edge BIGINT NOT NULL,
    origin VARCHAR NOT NULL           -- 'cut' (the geometry crosses it) or 'listed'
);

CREATE TABLE incident_impact_cache (
    incident_id BIGINT NOT NULL,
    network_id INTEGER,
    generation BIGINT NOT NULL,       -- kb_state.generation the impact was computed at
    payload VARCHAR NOT NULL,         -- the Impact as JSON
    computed_at TIMESTAMP NOT NULL
);
