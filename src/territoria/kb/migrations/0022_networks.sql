-- Infrastructure networks (roads from OpenStreetMap, rail/power/telecom from GeoJSON/GeoPackage
-- layers): one `network` row per imported network, its nodes and its edges, the service points
-- accessibility is measured to, and the criticality results cached per network version.
CREATE TABLE network (
    id INTEGER NOT NULL,              -- stable across re-imports of the same name
    name VARCHAR NOT NULL,            -- given with --name, default the file's stem
    kind VARCHAR NOT NULL,            -- 'road', 'rail', 'power', 'telecom'
    version INTEGER NOT NULL,         -- the source id of the import: criticality caches key on it
    nodes BIGINT NOT NULL,
    edges BIGINT NOT NULL,
    nodes_outside BIGINT NOT NULL,    -- nodes in no commune of the knowledge base
    source_id INTEGER NOT NULL
);

CREATE TABLE network_node (
    network_id INTEGER NOT NULL,
    node BIGINT NOT NULL,             -- dense 0..n-1 within the network
    osm_id BIGINT,                    -- the OSM node id (NULL for layer networks)
    lon DOUBLE NOT NULL,
    lat DOUBLE NOT NULL,
    commune_code VARCHAR,             -- the commune the node lies in; NULL outside France
    source_id INTEGER NOT NULL
);

CREATE TABLE network_edge (
    network_id INTEGER NOT NULL,
    edge BIGINT NOT NULL,             -- dense 0..m-1 within the network
    u BIGINT NOT NULL,                -- network_node.node
    v BIGINT NOT NULL,
    osm_way_id BIGINT,
    highway VARCHAR,                  -- OSM highway class (or the layer's class)
    name VARCHAR,
    ref VARCHAR,
    oneway BOOLEAN NOT NULL,          -- true: u -> v only
    length_m DOUBLE NOT NULL,         -- geodesic (WGS84 ellipsoid)
    speed_kmh DOUBLE NOT NULL,
    speed_from VARCHAR NOT NULL,      -- 'maxspeed' or 'default'
    time_s DOUBLE NOT NULL,
    bridge BOOLEAN NOT NULL,
    tunnel BOOLEAN NOT NULL,
    geom GEOMETRY NOT NULL,           -- WGS84 (lon, lat) line string
    xmin DOUBLE, ymin DOUBLE, xmax DOUBLE, ymax DOUBLE,
    source_id INTEGER NOT NULL
);

CREATE TABLE network_service (
    kind VARCHAR NOT NULL,            -- user kind given at import (e.g. 'hopital', 'caserne')
    name VARCHAR NOT NULL,
    commune_code VARCHAR,
    lon DOUBLE NOT NULL,
    lat DOUBLE NOT NULL,
    source_id INTEGER NOT NULL
);

CREATE TABLE network_criticality (
    network_id INTEGER NOT NULL,
    version INTEGER NOT NULL,         -- network.version the row was computed on
    edge BIGINT NOT NULL,
    link BIGINT NOT NULL,             -- the contracted link (degree-2 chain) the edge belongs to
    is_bridge BOOLEAN NOT NULL,
    usage DOUBLE NOT NULL,            -- share of population-weighted commune pairs using the link
    detour_s DOUBLE,                  -- shortest way round the link between its ends; NULL: none (bridge)
    delta_s DOUBLE,                   -- population-weighted mean increase of a trip between communes (s)
    exact BOOLEAN NOT NULL,           -- delta_s recomputed exactly (else the detour bound)
    isolated_communes INTEGER NOT NULL,
    isolated_population BIGINT NOT NULL,
    isolated_codes VARCHAR[],
    computed_at TIMESTAMP NOT NULL
);
