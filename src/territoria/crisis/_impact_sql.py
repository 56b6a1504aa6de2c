"""The SQL of an impact: one query per part, each with a bounding-box prefilter.

Every query takes the zone as WKT (WGS84) in its first parameter.
"""

from __future__ import annotations

__all__ = [
    "COMMUNES",
    "ESTABLISHMENTS",
    "ESTABLISHMENT_TOTALS",
    "EXECUTIVES",
    "OFFICIALS",
    "PARENTS",
    "SERVICES",
    "TOP",
]

#: Communes the zone touches, with the share of their area inside it. A commune inside the
#: zone's inner box test is not intersected (share 1); others are, with ST_Intersection.
COMMUNES = """
WITH z AS (SELECT ST_GeomFromText($zone) AS g),
zb AS (SELECT g, ST_XMin(g) AS x0, ST_XMax(g) AS x1, ST_YMin(g) AS y0, ST_YMax(g) AS y1 FROM z),
cand AS (
  SELECT t.code, t.name, t.population, t.population_year, t.source_id, t.geom, zb.g
  FROM territory t, zb
  WHERE t.level = 'commune' AND t.geom IS NOT NULL
    AND t.xmax >= zb.x0 AND t.xmin <= zb.x1 AND t.ymax >= zb.y0 AND t.ymin <= zb.y1
    AND ST_Intersects(t.geom, zb.g)),
shared AS (
  SELECT code, name, population, population_year, source_id,
         CASE WHEN ST_Dimension(g) < 2 THEN 0.0
              WHEN ST_Covers(g, geom) THEN 1.0
              ELSE ST_Area(ST_Intersection(geom, g)) / nullif(ST_Area(geom), 0) END AS share
  FROM cand)
SELECT code, name, coalesce(population, 0), population_year, source_id,
       least(greatest(coalesce(share, 0), 0), 1) AS share
FROM shared ORDER BY code
"""

#: The EPCI, département and région of each commune, with the parent's name and population.
PARENTS = """
SELECT m.code, m.parent_level, m.parent_code, p.name, p.population
FROM membership m JOIN territory p ON p.level = m.parent_level AND p.code = m.parent_code
WHERE m.level = 'commune' AND m.parent_level IN ('epci', 'departement', 'region')
  AND m.code IN (SELECT unnest($codes::VARCHAR[]))
"""

#: Geolocated SIRENE establishments (active) inside the zone: count and job estimates.
ESTABLISHMENTS = """
WITH z AS (SELECT ST_GeomFromText($zone) AS g),
zb AS (SELECT g, ST_XMin(g) AS x0, ST_XMax(g) AS x1, ST_YMin(g) AS y0, ST_YMax(g) AS y1 FROM z),
inside AS (
  SELECT e.siret, e.name, e.commune, e.naf, e.headcount_band, e.source_id
  FROM establishment e, zb
  WHERE e.active AND e.lon BETWEEN zb.x0 AND zb.x1 AND e.lat BETWEEN zb.y0 AND zb.y1
    AND ST_Intersects(ST_Point(e.lon, e.lat), zb.g)),
banded AS (
  SELECT i.*, b.low, b.high, b.mid FROM inside i
  LEFT JOIN (SELECT unnest($bands::VARCHAR[]) AS band, unnest($lows::DOUBLE[]) AS low,
                    unnest($highs::DOUBLE[]) AS high, unnest($mids::DOUBLE[]) AS mid) b
    ON b.band = i.headcount_band)
"""

#: Count, jobs (mid, low, high) and the sources of the establishments inside the zone.
ESTABLISHMENT_TOTALS = (
    ESTABLISHMENTS
    + """
SELECT count(*), coalesce(sum(mid), 0), coalesce(sum(low), 0), coalesce(sum(high), 0),
       list(DISTINCT source_id) FILTER (WHERE source_id IS NOT NULL)
FROM banded
"""
)

#: The largest establishments inside the zone by head-count band.
TOP = (
    ESTABLISHMENTS
    + """
SELECT siret, name, commune, naf, headcount_band, coalesce(mid, 0) FROM banded
WHERE coalesce(mid, 0) > 0 ORDER BY mid DESC, siret LIMIT $top
"""
)

#: Town halls of the communes inside the zone, lycées and imported service points inside it.
SERVICES = """
WITH z AS (SELECT ST_GeomFromText($zone) AS g)
SELECT 'mairie', 'Mairie de ' || t.name, t.code FROM territory t, z
WHERE t.level = 'commune' AND t.code IN (SELECT unnest($codes::VARCHAR[]))
  AND (t.point IS NULL OR ST_Intersects(t.point, z.g))
UNION ALL
SELECT 'lycee', l.name, l.commune_code FROM lycee l
WHERE l.commune_code IN (SELECT unnest($inside::VARCHAR[]))
ORDER BY 1, 3, 2
"""

#: Executives of the bodies holding each level's competences (mayors, presidents) and the
#: deputies of the circonscriptions (list_contains: a plain filter on one scan of mandate).
EXECUTIVES = """
WITH wanted AS (
  SELECT unnest($orgs::VARCHAR[]) AS org, unnest($levels::VARCHAR[]) AS level,
         unnest($codes::VARCHAR[]) AS code, unnest($names::VARCHAR[]) AS territory)
SELECT w.level, w.code, w.territory, m.person_id, m.organisation_id,
       coalesce(m.function_label, m.function) AS function, m.function_rank, m.source_id
FROM mandate m JOIN wanted w ON m.organisation_id = w.org
WHERE m.end_date IS NULL AND list_contains($orgs, m.organisation_id)
  AND m.function IN ('maire', 'président', 'président du conseil exécutif')
UNION ALL
SELECT 'circonscription', t.code, t.name, m.person_id, m.organisation_id,
       coalesce(m.role_label, m.role), 0, m.source_id
FROM mandate m JOIN territory t ON t.level = 'circonscription' AND t.code = m.code
WHERE m.end_date IS NULL AND m.role = 'député' AND m.level = 'circonscription'
  AND list_contains($circos, m.code)
"""

#: The officials with their name, body and contact: their body's own, else the town hall of
#: the commune they sit in (their own commune for a mayor).
OFFICIALS = """
WITH e AS (SELECT * FROM execs),
hall AS (
  SELECT m.person_id, min(m.code) AS commune FROM mandate m
  WHERE m.end_date IS NULL AND m.level = 'commune' AND list_contains($persons, m.person_id)
  GROUP BY 1)
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
LEFT JOIN hall h ON h.person_id = e.person_id
LEFT JOIN contact c ON c.level = 'commune' AND c.kind = 'mairie'
  AND c.code = CASE WHEN e.level = 'commune' THEN e.code ELSE h.commune END
LEFT JOIN territory ct ON ct.level = 'commune' AND ct.code = c.code
ORDER BY CASE e.level WHEN 'region' THEN 0 WHEN 'departement' THEN 1 WHEN 'epci' THEN 2
         WHEN 'circonscription' THEN 3 ELSE 4 END, e.code, e.function_rank, 2
"""
