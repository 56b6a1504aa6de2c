"""Internals of :mod:`territoria.analysis.poles`: what a detected pole carries (label, growth,
firms, footprint, knowledge and public actors within reach)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import shapely

from territoria.analysis._poles_candidates import Pole, local_xy
from territoria.analysis._poles_counts import Counts, Scope, group_membership, star_rating
from territoria.analysis._specialisation_sql import PAST_EMPLOYMENT_CAVEAT, stock_sql
from territoria.kb.naf import naf_codes, naf_label

#: Knowledge actors: scientific research and development, higher and post-secondary education.
KNOWLEDGE = ("72", "85.4")
#: Public actors: public administration (collectivities, State services).
PUBLIC = ("84",)


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def describe_pole(
    pole: Pole,
    *,
    scope: Scope,
    groups: list[dict[str, Any]],
    counts: Counts,
    past: Counts,
    thresholds: list[dict[str, float]],
    measure: str,
    since: dt.date,
    synthetic: bool,
) -> dict[str, Any]:
    g, communes = pole.group, pole.communes
    group = groups[g]
    weight = counts.e[communes, g] if measure == "employment" else counts.n[communes, g]
    centre = communes[int(np.argmax(weight))]
    value_now = pole.e if measure == "employment" else pole.n
    past_values = past.e if measure == "employment" else past.n
    value_then = float(past_values[communes, g].sum())
    nation_now = counts.e_nation[g] if measure == "employment" else counts.n_nation[g]
    nation_then = past.e_nation[g] if measure == "employment" else past.n_nation[g]
    rate = value_now / value_then - 1.0 if value_then > 0 else None
    national_rate = nation_now / nation_then - 1.0 if nation_then > 0 else None
    emerging = bool(
        value_now > 0 and (rate is None or (national_rate is not None and rate > national_rate))
    )
    t = thresholds[g]
    total = counts.e_total if measure == "employment" else counts.n_total
    size = value_now / nation_now if nation_now > 0 else 0.0
    focus = value_now / float(total[communes].sum()) if total[communes].sum() > 0 else 0.0
    stars, reasons = star_rating(size, pole.lq, focus, t)
    # Shift-share of the pole: what it gained beyond growing at its sectors' national rate.
    expected = value_then * (1.0 + national_rate) if national_rate is not None else None
    code = str(scope.codes[centre])
    return {
        "id": f"{group['id']}-{code}",
        "name": f"{group['label']} — {scope.names[centre]}",
        "label": f"{stars}-star",
        "stars": stars,
        "star_reasons": reasons,
        "size_share": size,
        "focus_share": focus,
        "group": {"id": group["id"], "label": group["label"]},
        "sectors": list(group["sectors"]),
        "centre": {
            "commune": code,
            "name": str(scope.names[centre]),
            "lon": float(scope.lon[centre]),
            "lat": float(scope.lat[centre]),
        },
        "communes": sorted(str(c) for c in scope.codes[communes]),
        "commune_names": {
            str(c): str(n)
            for c, n in sorted(zip(scope.codes[communes], scope.names[communes], strict=True))
        },
        "establishments": int(pole.n),
        "employment": round(pole.e, 1),
        "measure": measure,
        "lq": round(pole.lq, 3),
        "p_value": pole.p,
        "thresholds": {k: (v if np.isfinite(v) else None) for k, v in t.items()},
        "growth": {
            "since": since.isoformat(),
            "start": value_then,
            "end": value_now,
            "rate": rate,
            "national_rate": national_rate,
            "emerging": emerging,
            "regional_shift": value_now - expected if expected is not None else None,
            "note": PAST_EMPLOYMENT_CAVEAT,
        },
        "emerging": emerging,
        "synthetic": synthetic,
        "_communes_idx": communes,
        "_group_idx": g,
    }


def attach_establishments(
    con: duckdb.DuckDBPyConnection,
    poles: list[dict[str, Any]],
    scope: Scope,
    groups: list[dict[str, Any]],
    *,
    top: int,
    reach_km: float,
) -> None:
    """Add firms, footprint (hull) and knowledge and public actors within reach to each pole."""
    subclasses = np.asarray(
        sorted(c for c, v in naf_codes().items() if v.level == "subclass"), dtype=object
    )
    member = group_membership(subclasses, groups).tocsc()
    pole_communes = [
        (i, str(c)) for i, p in enumerate(poles) for c in scope.codes[p["_communes_idx"]]
    ]
    pole_sectors = []
    for i, p in enumerate(poles):
        codes = sorted(groups[p["_group_idx"]]["sectors"], key=len, reverse=True)
        for sub in subclasses[member[:, p["_group_idx"]].indices]:
            code = next(
                (c for c in codes if str(sub).startswith(c) or naf_codes()[str(sub)].section == c),
                str(sub),
            )
            pole_sectors.append((i, str(sub), code))
    con.execute("CREATE OR REPLACE TEMP TABLE p_pole_commune (pole INTEGER, commune VARCHAR)")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE p_pole_sector (pole INTEGER, sector VARCHAR, code VARCHAR)"
    )
    con.executemany("INSERT INTO p_pole_commune VALUES (?, ?)", [list(x) for x in pole_communes])
    con.executemany("INSERT INTO p_pole_sector VALUES (?, ?, ?)", [list(x) for x in pole_sectors])
    stock = stock_sql(con, sector_level="subclass")
    members = (
        f"SELECT pc.pole, s.siret, s.sector, s.commune, s.employment, s.lon, s.lat "
        f"FROM ({stock}) s JOIN p_pole_commune pc ON pc.commune = s.commune "
        f"JOIN p_pole_sector ps ON ps.pole = pc.pole AND ps.sector = s.sector"
    )
    firms = con.execute(
        f"""
        SELECT m.pole, m.siret, coalesce(e.name, u.name) AS name, m.sector, m.commune,
               m.employment, u.name AS legal_unit
        FROM ({members}) m JOIN establishment e USING (siret)
        LEFT JOIN legal_unit u ON u.siren = e.siren
        QUALIFY row_number() OVER (PARTITION BY m.pole ORDER BY m.employment DESC, m.siret) <= {top}
        """
    ).fetchall()
    by_pole: dict[int, list[dict[str, Any]]] = {}
    for r in firms:
        by_pole.setdefault(int(r[0]), []).append(
            {
                "siret": r[1],
                "name": r[2],
                "sector": r[3],
                "label": naf_label(str(r[3])),
                "commune": r[4],
                "employment": float(r[5]),
                "legal_unit": r[6],
            }
        )
    points = con.execute(
        f"SELECT pole, lon, lat FROM ({members}) m WHERE lon IS NOT NULL ORDER BY pole"
    ).fetchnumpy()
    pole_of = np.asarray(points["pole"], dtype=np.int64)
    lon = np.asarray(points["lon"], np.float64)
    lat = np.asarray(points["lat"], np.float64)
    breakdown = con.execute(
        f"""
        SELECT m.pole, ps.code, count(*), sum(m.employment)
        FROM ({members}) m JOIN p_pole_sector ps ON ps.pole = m.pole AND ps.sector = m.sector
        GROUP BY ALL ORDER BY 1, 4 DESC, 2
        """
    ).fetchall()
    for pole, code, n, e in breakdown:
        poles[int(pole)].setdefault("sector_breakdown", []).append(
            {
                "sector": code,
                "label": naf_label(str(code)),
                "establishments": int(n),
                "employment": float(e),
            }
        )
    actors = load_actors(con)
    for i, pole in enumerate(poles):
        mine = pole_of == i
        hull_ll, hull_local, lat0 = footprint(
            lon[mine], lat[mine], scope.lon[pole["_communes_idx"]], scope.lat[pole["_communes_idx"]]
        )
        pole["hull"] = shapely.geometry.mapping(hull_ll)
        pole["hull"] = {
            "type": pole["hull"]["type"],
            "coordinates": as_lists(pole["hull"]["coordinates"]),
        }
        pole["firm_count"] = int(pole["establishments"])
        pole["firms"] = by_pole.get(i, [])
        for key, kind in (("knowledge_actors", "knowledge"), ("public_actors", "public")):
            found = actors_within(actors[kind], hull_local, lat0, reach_km)
            pole[f"{key.removesuffix('s')}_count"] = len(found)
            pole[key] = found[:top]
        pole.setdefault("sector_breakdown", [])
        del pole["_communes_idx"], pole["_group_idx"]


def as_lists(value: Any) -> Any:
    """GeoJSON coordinates as nested lists (shapely gives tuples)."""
    if isinstance(value, tuple | list):
        return [as_lists(v) for v in value]
    return float(value)


def footprint(
    lon: np.ndarray, lat: np.ndarray, c_lon: np.ndarray, c_lat: np.ndarray
) -> tuple[Any, Any, float]:
    """Footprint of a pole in WGS84 and in local km, and the latitude of the local projection."""
    if len(lon) < 3:  # too few located establishments: the communes' points
        lon, lat = np.concatenate([lon, c_lon]), np.concatenate([lat, c_lat])
    lat0 = float(np.mean(lat))
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([lon, lat])))
    local = shapely.convex_hull(shapely.multipoints(local_xy(lon, lat, lat0)))
    return hull, local, lat0


@dataclass
class Actors:
    siret: np.ndarray
    name: np.ndarray
    sector: np.ndarray
    commune: np.ndarray
    employment: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    tree: shapely.STRtree


def load_actors(con: duckdb.DuckDBPyConnection) -> dict[str, Actors]:
    found = {}
    for kind, codes in (("knowledge", KNOWLEDGE), ("public", PUBLIC)):
        cond = " OR ".join(f"starts_with(e.naf, '{c}')" for c in codes)
        table = con.execute(
            f"""
            SELECT e.siret, coalesce(e.name, u.name, '') AS name, e.naf, e.commune, e.employment,
                   e.lon, e.lat
            FROM establishment e LEFT JOIN legal_unit u ON u.siren = e.siren
            WHERE e.active AND e.lon IS NOT NULL AND ({cond})
            ORDER BY e.employment DESC, e.siret
            """
        ).fetchnumpy()
        lon = np.asarray(table["lon"], np.float64)
        lat = np.asarray(table["lat"], np.float64)
        found[kind] = Actors(
            siret=np.asarray(table["siret"], dtype=object),
            name=np.asarray(table["name"], dtype=object),
            sector=np.asarray(table["naf"], dtype=object),
            commune=np.asarray(table["commune"], dtype=object),
            employment=np.asarray(table["employment"], np.float64),
            lon=lon,
            lat=lat,
            tree=shapely.STRtree(shapely.points(lon, lat)),
        )
    return found


def actors_within(
    actors: Actors, hull_local: Any, lat0: float, reach_km: float
) -> list[dict[str, Any]]:
    """Actors within ``reach_km`` of the footprint, largest first."""
    minx, miny, maxx, maxy = shapely.bounds(hull_local)
    scale = 111.32 * np.cos(np.radians(lat0))
    box = shapely.box(
        (minx - reach_km) / scale,
        (miny - reach_km) / 110.57,
        (maxx + reach_km) / scale,
        (maxy + reach_km) / 110.57,
    )
    idx = np.sort(actors.tree.query(box))
    if not len(idx):
        return []
    pts = shapely.points(local_xy(actors.lon[idx], actors.lat[idx], lat0))
    dist = np.asarray(shapely.distance(hull_local, pts))
    keep = idx[dist <= reach_km]
    d = dist[dist <= reach_km]
    return [
        {
            "siret": str(actors.siret[k]),
            "name": str(actors.name[k]) or None,
            "sector": str(actors.sector[k]),
            "label": naf_label(str(actors.sector[k])),
            "commune": str(actors.commune[k]),
            "employment": float(actors.employment[k]),
            "distance_km": round(float(dk), 2),
        }
        for k, dk in zip(keep, d, strict=True)
    ]
