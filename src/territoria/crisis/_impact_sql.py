"""The SQL of an impact: one query per part, each with a bounding-box prefilter.

Every query takes the zone as WKT (WGS84) in its first parameter.
"""

from __future__ import annotations

__all__ = [
    "COMMUNES",
    "ESTABLISHMENTS",
    "EXECUTIVES",
    "OFFICIALS",
    "PARENTS",
    "SERVICES",
    "TOP",
]

#: Communes whose bounding box meets the zone's (the geometry tests run in shapely, prepared).
COMMUNES = """
WITH z AS (SELECT ST_GeomFromText($zone) AS g),
zb AS (SELECT ST_XMin(g) AS x0, ST_XMax(g) AS x1, ST_YMin(g) AS y0, ST_YMax(g) AS y1 FROM z)
SELECT t.code, t.name, coalesce(t.population, 0), t.population_year, t.source_id,
       ST_AsWKB(t.geom), ST_X(t.point), ST_Y(t.point)
FROM territory t, zb
WHERE t.level = 'commune' AND t.geom IS NOT NULL
  AND t.xmax >= zb.x0 AND t.xmin <= zb.x1 AND t.ymax >= zb.y0 AND t.ymin <= zb.y1
ORDER BY t.code
"""

#: The EPCI, département and région of each commune, with the parent's name and population.
PARENTS = """
SELECT m.code, m.parent_level, m.parent_code, p.name, p.population
FROM membership m JOIN territory p ON p.level = m.parent_level AND p.code = m.parent_code
WHERE m.level = 'commune' AND m.parent_level IN ('epci', 'departement', 'region')
  AND m.code IN (SELECT unnest($codes::VARCHAR[]))
"""

#: Active geolocated SIRENE establishments in the zone's bounding box, with their band's
#: estimate, low and high (the point-in-zone test runs in shapely, prepared).
ESTABLISHMENTS = """
WITH z AS (SELECT ST_GeomFromText($zone) AS g),
zb AS (SELECT ST_XMin(g) AS x0, ST_XMax(g) AS x1, ST_YMin(g) AS y0, ST_YMax(g) AS y1 FROM z),
b AS (SELECT unnest($bands::VARCHAR[]) AS band, unnest($lows::DOUBLE[]) AS low,
             unnest($highs::DOUBLE[]) AS high, unnest($mids::DOUBLE[]) AS mid)
SELECT e.lon, e.lat, coalesce(b.mid, 0) AS mid, coalesce(b.low, 0) AS low,
       coalesce(b.high, 0) AS high, e.source_id, e.rowid AS row
FROM establishment e CROSS JOIN zb LEFT JOIN b ON b.band = e.headcount_band
WHERE e.active AND e.lon BETWEEN zb.x0 AND zb.x1 AND e.lat BETWEEN zb.y0 AND zb.y1
"""

#: The establishments of the given row ids (the largest inside the zone).
TOP = """
SELECT rowid, siret, name, commune, naf, headcount_band FROM establishment
WHERE rowid IN (SELECT unnest($rows::BIGINT[]))
"""

#: Town halls of the communes inside the zone and their lycées.
SERVICES = """
SELECT 'mairie', 'Mairie de ' || t.name, t.code FROM territory t
WHERE t.level = 'commune' AND t.code IN (SELECT unnest($codes::VARCHAR[]))
UNION ALL
SELECT 'lycee', l.name, l.commune_code FROM lycee l
WHERE l.commune_code IN (SELECT unnest($inside::VARCHAR[]))
ORDER BY 1, 3, 2
"""

#: Executives of the bodies holding each level's competences (mayors, presidents) and the
#: deputies of the circonscriptions (hash joins on the wanted lists).
EXECUTIVES = """
WITH wanted AS (
  SELECT unnest($orgs::VARCHAR[]) AS org, unnest($levels::VARCHAR[]) AS level,
         unnest($codes::VARCHAR[]) AS code, unnest($names::VARCHAR[]) AS territory)
SELECT w.level, w.code, w.territory, m.person_id, m.organisation_id,
       coalesce(m.function_label, m.function) AS function, m.function_rank, m.source_id
FROM mandate m JOIN wanted w ON m.organisation_id = w.org
WHERE m.end_date IS NULL
  AND m.function IN ('maire', 'président', 'président du conseil exécutif')
UNION ALL
SELECT 'circonscription', t.code, t.name, m.person_id, m.organisation_id,
       coalesce(m.role_label, m.role), 0, m.source_id
FROM mandate m JOIN territory t ON t.level = 'circonscription' AND t.code = m.code
WHERE m.end_date IS NULL AND m.role = 'député' AND m.level = 'circonscription'
  AND m.code IN (SELECT unnest($circos::VARCHAR[]))
"""

#: The officials with their name, body and contact: their body's own, else, for a mayor or an
#: adjoint, their town hall. A président de région, of a département or an EPCI, or a deputy is
#: never given the town hall of the commune where they also sit: an alert meant for them would go
#: to that mairie's general inbox (the source holds no contact for those councils).
OFFICIALS = """
WITH e AS (SELECT * FROM execs)
SELECT e.person_id, trim(coalesce(p.first_name, '') || ' ' || coalesce(p.last_name, '')),
       e.function, e.territory, e.level, e.code, e.organisation_id, coalesce(o.name, ''),
       e.source_id, coalesce(bc.address, c.address), coalesce(bc.email, c.email),
       coalesce(bc.phone, c.phone), coalesce(bc.website, c.website),
       CASE WHEN bc.organisation_id IS NOT NULL THEN 'siège' WHEN c.code IS NOT NULL
            THEN 'mairie de ' || ct.name END
FROM e
JOIN person p ON p.id = e.person_id
LEFT JOIN organisation o ON o.id = e.organisation_id
LEFT JOIN contact bc ON bc.organisation_id = e.organisation_id AND bc.level <> 'person'
LEFT JOIN contact c ON c.level = 'commune' AND c.kind = 'mairie'
  AND c.code = CASE WHEN e.level = 'commune' THEN e.code END  -- an equality: a hash join
LEFT JOIN territory ct ON ct.level = 'commune' AND ct.code = c.code
ORDER BY CASE e.level WHEN 'region' THEN 0 WHEN 'departement' THEN 1 WHEN 'epci' THEN 2
         WHEN 'circonscription' THEN 3 ELSE 4 END, e.code, e.function_rank, 2
"""
