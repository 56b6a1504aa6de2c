"""Synthetic SIRENE files, in the exact format INSEE publishes, for demos, tests and benchmarks.

No real SIRENE file can be had offline, so ``territoria synth sirene`` writes establishments,
legal units, their history and their geolocation for the communes of the knowledge base, with
the official file names and columns. The files import through the same code path as real ones
(``territoria import sirene``); a ``synthetic.json`` manifest next to them makes every import
record its rows as synthetic, and every establishment is named "SYNTHÉTIQUE ...".

How the economy is generated (all of it seeded: the same seed gives the same files)
-----------------------------------------------------------------------------------
1. **Establishments per commune** follow population: the background establishments are drawn
   from a multinomial distribution with probabilities proportional to population (+5, so that
   every commune can get some).
2. **Sector mix varies with density**: each NAF sous-classe has a weight (its division's share of
   the register, split among the division's sous-classes by a Dirichlet draw) and an urbanity
   ``u`` in [-1, 1]; in a commune of standardised log-density ``z`` (clipped to [-2, 2]) its
   probability is proportional to ``weight * exp(BETA * u * z)`` (``_model.py``).
3. **Head-count bands** are drawn from one of three distributions (small-firm activities, others,
   industry and public services); a third of the closed establishments have no employee
   (``NN``).
4. **Dates**: ages are exponential (mean 12 years, at most 75); about half of the establishments
   are closed, at a uniform date between their creation and the reference date.
5. **Planted concentrations**: a few themes of related activities (``THEMES``: five sous-classes
   in five NAF groups each) are planted around centre communes at least 25 km apart (when the
   territory allows), within a 5-12 km radius, with larger head-counts. Every other one is
   **growing**: its establishments opened within the last five years; the others are older than
   eight years. A disc holds at most 15 % of the territory's population (it is shrunk next to
   a large city), so that a concentration stays local. ``planted.json`` lists them (theme,
   sectors, centre, communes, counts, growth) so anyone can check a detector against them.
6. **Identifiers**: siren and siret pass the Luhn check; a tenth of the establishments are
   secondary establishments of another legal unit.
7. **Coordinates**: uniform in a disc around the commune's representative point, of radius 0.6
   times the radius of a disc of the commune's area, clipped to the commune's bounding box;
   written in Lambert-93 (or the overseas UTM projection) with their WGS84 equivalent.
8. **NAF 2025**: each establishment and legal unit also carries
   ``activitePrincipaleNAF25Etablissement`` / ``...NAF25UniteLegale``, mapped from its NAF rev. 2
   code through INSEE's correspondence as imported in the knowledge base (``territoria import
   naf2025``): the one target of a whole sous-classe; for a split one, the target in the same
   class if any, otherwise one of its targets by row. Without the imported correspondence the
   NAF 2025 columns are left empty, and the manifest and summary say so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyproj

from territoria import __version__
from territoria.errors import EmptyKnowledgeBase, InvalidAnalysisRequest, UnknownTerritory
from territoria.kb.naf import naf_codes
from territoria.kb.naf2025 import naf_correspondence
from territoria.synth._columns import (
    ESTABLISHMENT_FILE,
    GEOLOCATION_FILE,
    HISTORY_FILE,
    LEGAL_UNIT_FILE,
    establishment_select,
    geolocation_select,
    history_select,
    legal_unit_select,
)
from territoria.synth._model import (
    BAND_PROBABILITIES,
    BANDS,
    BETA,
    DEFAULT_WEIGHT,
    DIVISION_WEIGHTS,
    LARGE_SECTIONS,
    SMALL,
    THEME_BACKGROUND,
    THEMES,
    URBANITY,
)

__all__ = ["synth_sirene"]

MANIFEST = "synthetic.json"
PLANTED = "planted.json"
EPOCH = date(1970, 1, 1)
#: Largest share of the territory's population a planted concentration's disc may hold.
MAX_DISC_SHARE = 0.15
#: Projection of the coordinates by département (Lambert-93 elsewhere).
EPSG_BY_DEP = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    return None


class _Communes:
    """The communes the synthetic establishments are placed in, as NumPy arrays."""

    def __init__(self, con: duckdb.DuckDBPyConnection, region: str | None) -> None:
        where = "" if region is None else "AND r.parent_code = ?"
        table = con.execute(
            f"""
            SELECT t.code, upper(t.name) AS name, coalesce(t.population, 0) AS population,
                   coalesce(t.area_km2, 1.0) AS area, ST_X(t.point) AS lon, ST_Y(t.point) AS lat,
                   t.xmin, t.ymin, t.xmax, t.ymax, d.parent_code AS dep
            FROM territory t
            LEFT JOIN membership d ON d.level = 'commune' AND d.code = t.code
                 AND d.parent_level = 'departement'
            LEFT JOIN membership r ON r.level = 'commune' AND r.code = t.code
                 AND r.parent_level = 'region'
            WHERE t.level = 'commune' AND t.point IS NOT NULL {where}
            ORDER BY t.code
            """,
            [] if region is None else [region],
        ).to_arrow_table()
        if table.num_rows == 0:
            if region is None:
                msg = "the knowledge base has no communes: run 'territoria import france' first"
                raise EmptyKnowledgeBase(msg)
            msg = f"no commune in région {region!r}: run 'territoria search' to find the code"
            raise UnknownTerritory(msg)
        self.code = np.asarray(table["code"].to_pylist(), dtype=object)
        self.name = np.asarray(table["name"].to_pylist(), dtype=object)
        self.dep = np.asarray([d or "" for d in table["dep"].to_pylist()], dtype=object)
        self.population = table["population"].to_numpy().astype(np.float64)
        self.area = np.maximum(table["area"].to_numpy().astype(np.float64), 0.01)
        self.lon = table["lon"].to_numpy()
        self.lat = table["lat"].to_numpy()
        self.box = np.column_stack([table[c].to_numpy() for c in ("xmin", "ymin", "xmax", "ymax")])
        self.n = len(self.code)

    def distances_km(self, index: int) -> np.ndarray:
        """Distance from commune ``index`` to every commune (equirectangular, km)."""
        lat0 = np.radians(self.lat[index])
        dx = (self.lon - self.lon[index]) * 111.32 * np.cos(lat0)
        dy = (self.lat - self.lat[index]) * 110.57
        return np.asarray(np.hypot(dx, dy))


class _Sectors:
    """NAF sous-classes with their background weight, urbanity and size class."""

    def __init__(self, rng: np.random.Generator) -> None:
        subclasses = [c for c in naf_codes().values() if c.level == "subclass"]
        self.code = np.asarray([c.code for c in subclasses], dtype=object)
        self.label = np.asarray([c.label for c in subclasses], dtype=object)
        division = np.asarray([c.division for c in subclasses], dtype=object)
        section = np.asarray([c.section for c in subclasses], dtype=object)
        self.index = {c: i for i, c in enumerate(self.code)}
        weights = np.zeros(len(subclasses))
        for div in np.unique(division):
            members = np.flatnonzero(division == div)
            share = rng.dirichlet(np.ones(len(members)))
            weights[members] = DIVISION_WEIGHTS.get(str(div), DEFAULT_WEIGHT) * share
        for theme in THEMES:
            for code in theme.sectors:
                weights[self.index[code]] *= THEME_BACKGROUND
        self.weight = weights / weights.sum()
        self.urbanity = np.asarray([URBANITY.get(str(d), 0.0) for d in division])
        size = np.full(len(subclasses), 1, dtype=np.int8)  # medium
        size[np.isin(division, sorted(SMALL))] = 0
        size[np.isin(section, sorted(LARGE_SECTIONS))] = 2
        self.size = size


def _luhn(base: np.ndarray, digits: int) -> np.ndarray:
    """Append the Luhn check digit to the ``digits``-digit integers of ``base``."""
    total = np.zeros(len(base), dtype=np.int64)
    rest = base.astype(np.int64)
    for position in range(digits):  # loop over digit positions, vectorised over rows
        digit = rest % 10
        rest = rest // 10
        if position % 2 == 0:
            digit = digit * 2
            digit = np.where(digit > 9, digit - 9, digit)
        total += digit
    return base.astype(np.int64) * 10 + (10 - total % 10) % 10


def _choice(rng: np.random.Generator, probabilities: np.ndarray, size: int) -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float64)
    return rng.choice(len(p), size=size, p=p / p.sum())


def synth_sirene(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    *,
    region: str | None = None,
    seed: int = 0,
    rows: int | None = None,
    planted: int | None = None,
    reference_date: date = date(2025, 1, 1),
    history: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write synthetic SIRENE files for the communes of the knowledge base.

    Parameters
    ----------
    con
        Knowledge base with territories (``territoria import france``); read only.
    out_dir
        Folder to write into (created if needed): ``StockEtablissement_utf8.csv``,
        ``StockUniteLegale_utf8.csv``, ``GeolocalisationEtablissement_Sirene_pour_etudes_
        statistiques_utf8.csv``, ``StockEtablissementHistorique_utf8.csv``, ``planted.json``,
        ``synthetic.json``.
    region
        Only the communes of this région (all of France when omitted).
    seed
        Seed of the random generator: the same seed gives the same files.
    rows
        Number of establishments (default: one for ten inhabitants).
    planted
        Number of planted concentrations (default: one per 150 communes, between 3 and 10).
    reference_date
        Date the synthetic snapshot describes (last processing date of every row).
    history
        Also write the establishments' history file.
    progress
        Called with the name of each step as it starts.

    Returns
    -------
    dict
        Files written, row counts, timings and the planted concentrations.
    """
    say = progress or _noop
    started = time.perf_counter()
    say("communes")
    communes = _Communes(con, region)
    rng = np.random.default_rng(seed)
    sectors = _Sectors(rng)
    total = int(rows if rows is not None else max(1000, round(communes.population.sum() / 10)))
    count = int(planted if planted is not None else min(len(THEMES), max(3, communes.n // 150)))
    if total < 100 or not 0 <= count <= len(THEMES):
        msg = (
            f"cannot generate {total} rows with {count} planted concentrations: ask for at "
            f"least 100 rows and at most {len(THEMES)} concentrations"
        )
        raise InvalidAnalysisRequest(msg)
    ref = (reference_date - EPOCH).days
    say("planted concentrations")
    plants, p_rows = _plant(rng, communes, sectors, count=count, total=total, ref=ref)
    say("background establishments")
    b_rows = _background(rng, communes, sectors, n=total - len(p_rows["commune"]), ref=ref)
    data = {k: np.concatenate([b_rows[k], p_rows[k]]) for k in b_rows}
    order = rng.permutation(total)
    data = {k: v[order] for k, v in data.items()}
    say("identifiers and coordinates")
    _identifiers(rng, data)
    _coordinates(rng, communes, data)
    out_dir.mkdir(parents=True, exist_ok=True)
    say("writing files")
    files = _write(con, out_dir, communes, sectors, data, ref=ref, history=history)
    planted_out = list(plants)
    (out_dir / PLANTED).write_text(
        json.dumps(planted_out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    naf25 = _naf25_note(con)
    manifest = {
        "synthetic": True,
        "generator": "territoria synth sirene",
        "version": __version__,
        "seed": seed,
        "region": region,
        "rows": total,
        "reference_date": reference_date.isoformat(),
        "files": sorted([*files, PLANTED]),
        "note": "SYNTHETIC DATA: these are not real establishments; generated by documented, "
        "seeded code (territoria.synth.sirene) in the SIRENE file format.",
        "naf2025": naf25,
    }
    (out_dir / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return {
        "synthetic": True,
        "out_dir": str(out_dir),
        "files": files,
        "rows": total,
        "active": int(np.count_nonzero(data["active"])),
        "legal_units": int(np.count_nonzero(data["rank"] == 0)),
        "communes": communes.n,
        "planted": planted_out,
        "seed": seed,
        "region": region,
        "reference_date": reference_date.isoformat(),
        "naf2025": naf25,
        "seconds": round(time.perf_counter() - started, 2),
    }


# --------------------------------------------------------------------------- generation


def _dates(
    rng: np.random.Generator, n: int, ref: int, *, mean_age: float = 12.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Creation day, closing day (-1 when open) and active flag of ``n`` establishments."""
    age = np.minimum(rng.exponential(mean_age, n), 75.0)
    created = (ref - age * 365.25).astype(np.int32)
    p_closed = 0.75 * (1.0 - np.exp(-age / 10.0))
    closed_flag = rng.random(n) < p_closed
    closed = np.where(
        closed_flag, created + (rng.random(n) * (ref - created)).astype(np.int32) + 1, -1
    ).astype(np.int32)
    return created, closed, ~closed_flag


def _bands(rng: np.random.Generator, size_class: np.ndarray) -> np.ndarray:
    band = np.zeros(len(size_class), dtype=np.int8)
    for value, name in enumerate(("small", "medium", "large")):
        mask = size_class == value
        band[mask] = _choice(rng, np.asarray(BAND_PROBABILITIES[name]), int(mask.sum()))
    return band


def _background(
    rng: np.random.Generator, communes: _Communes, sectors: _Sectors, *, n: int, ref: int
) -> dict[str, np.ndarray]:
    weight = communes.population + 5.0
    per_commune = rng.multinomial(n, weight / weight.sum())
    commune = np.repeat(np.arange(communes.n, dtype=np.int32), per_commune)
    density = np.log1p(communes.population / communes.area)
    z = np.clip((density - density.mean()) / max(float(density.std()), 1e-9), -2.0, 2.0)
    edges = np.linspace(-2.0, 2.0, 10)
    z_bin = np.clip(np.digitize(z, edges[1:-1]), 0, 8)
    centres = (edges[:-1] + edges[1:]) / 2
    sector = np.zeros(n, dtype=np.int32)
    row_bin = z_bin[commune]
    for b in range(9):  # loop over density classes, vectorised over establishments
        mask = row_bin == b
        if mask.any():
            p = sectors.weight * np.exp(BETA * sectors.urbanity * centres[b])
            sector[mask] = _choice(rng, p, int(mask.sum()))
    created, closed, active = _dates(rng, n, ref)
    band = _bands(rng, sectors.size[sector])
    # A third of the closed establishments report no employee; the others keep the band they
    # had, so that employment at past dates stays plausible.
    band[(~active) & (rng.random(n) < 0.3)] = 0
    return {
        "commune": commune,
        "sector": sector,
        "band": band,
        "created": created,
        "closed": closed,
        "active": active,
        "planted": np.full(n, -1, dtype=np.int16),
    }


def _plant(
    rng: np.random.Generator,
    communes: _Communes,
    sectors: _Sectors,
    *,
    count: int,
    total: int,
    ref: int,
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    themes = [THEMES[i] for i in rng.permutation(len(THEMES))[:count]]
    per_plant = max(40, round(0.03 * total / max(count, 1)))
    weight = np.sqrt(communes.population + 1.0)
    share = communes.population / max(float(communes.population.sum()), 1.0)
    centres: list[int] = []
    plants: list[dict[str, Any]] = []
    parts: list[dict[str, np.ndarray]] = []
    for k, theme in enumerate(themes):  # a handful of concentrations
        # A concentration is local: its disc holds at most MAX_DISC_SHARE of the population.
        allowed = (communes.population > 0) & (share <= MAX_DISC_SHARE)
        if not allowed.any():
            allowed = communes.population > 0
        far = allowed.copy()
        nearest = np.full(communes.n, np.inf)
        for c in centres:
            d = communes.distances_km(c)
            nearest = np.minimum(nearest, d)
            far &= d >= 25.0
        if far.any():
            candidates = np.flatnonzero(far)
            centre = int(rng.choice(candidates, p=weight[candidates] / weight[candidates].sum()))
        else:  # a small territory: the allowed commune farthest from the other centres
            spread = np.where(allowed, np.where(np.isfinite(nearest), nearest, 0.0), -1.0)
            centre = int(np.argmax(spread))
        centres.append(centre)
        dist = communes.distances_km(centre)
        radius = float(rng.uniform(5.0, 12.0))
        for _ in range(12):  # shrink the disc of a concentration next to a large city
            if share[dist <= radius].sum() <= MAX_DISC_SHARE:
                break
            radius *= 0.8
        members = np.flatnonzero(dist <= radius)
        if not len(members):
            members = np.asarray([centre])
        weights = np.exp(-dist[members] / max(radius, 0.1)) * np.sqrt(
            communes.population[members] + 1.0
        )
        counts = rng.multinomial(per_plant, weights / weights.sum())
        commune = np.repeat(members.astype(np.int32), counts)
        theme_idx = np.asarray([sectors.index[c] for c in theme.sectors], dtype=np.int32)
        sector = theme_idx[rng.integers(0, len(theme_idx), per_plant)]
        band = _choice(rng, np.asarray(BAND_PROBABILITIES["planted"]), per_plant).astype(np.int8)
        growing = k % 2 == 0
        if growing:
            created = (ref - rng.uniform(0.05, 5.0, per_plant) * 365.25).astype(np.int32)
        else:
            created = (ref - (8.0 + rng.exponential(10.0, per_plant)) * 365.25).astype(np.int32)
        active = rng.random(per_plant) < (0.97 if growing else 0.9)
        closed = np.where(active, -1, ref - rng.integers(1, 365 * 3, per_plant)).astype(np.int32)
        closed = np.where(active, -1, np.maximum(closed, created + 1)).astype(np.int32)
        parts.append(
            {
                "commune": commune,
                "sector": sector,
                "band": band,
                "created": created,
                "closed": closed,
                "active": active,
                "planted": np.full(per_plant, k, dtype=np.int16),
            }
        )
        mid = np.asarray([BAND_MIDPOINTS[int(b)] for b in range(len(BANDS))])
        employment = float(mid[band[active]].sum())
        plants.append(
            {
                "id": f"planted-{k + 1}",
                "theme": theme.key,
                "label": theme.label,
                "sectors": list(theme.sectors),
                "groups": sorted({c[:4] for c in theme.sectors}),
                "divisions": sorted({c[:2] for c in theme.sectors}),
                "centre": {
                    "commune": str(communes.code[centre]),
                    "name": str(communes.name[centre]),
                    "lon": round(float(communes.lon[centre]), 5),
                    "lat": round(float(communes.lat[centre]), 5),
                },
                "radius_km": round(radius, 2),
                "communes": sorted(str(c) for c in communes.code[np.unique(commune)]),
                "establishments": per_plant,
                "active_establishments": int(active.sum()),
                "employment": employment,
                "growing": growing,
                "opened": "within the last 5 years" if growing else "more than 8 years ago",
            }
        )
    if not parts:
        empty: dict[str, np.ndarray] = {
            "commune": np.zeros(0, np.int32),
            "sector": np.zeros(0, np.int32),
            "band": np.zeros(0, np.int8),
            "created": np.zeros(0, np.int32),
            "closed": np.zeros(0, np.int32),
            "active": np.zeros(0, bool),
            "planted": np.zeros(0, np.int16),
        }
        return plants, empty
    return plants, {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


#: Midpoint employment of each band, in BANDS order (same figures as the importer).
BAND_MIDPOINTS = (
    0.0,
    0.0,
    1.5,
    4.0,
    7.5,
    14.5,
    34.5,
    74.5,
    149.5,
    224.5,
    374.5,
    749.5,
    1499.5,
    3499.5,
    7499.5,
    10000.0,
)


def _identifiers(rng: np.random.Generator, data: dict[str, np.ndarray]) -> None:
    """Give every establishment a siren (Luhn), a rank within it and a siret (Luhn)."""
    n = len(data["commune"])
    heads = max(1, round(0.9 * n))
    owner = np.arange(n, dtype=np.int64)
    secondary = np.arange(heads, n)
    owner[secondary] = rng.integers(0, heads, len(secondary))
    step = max(1, (9 * 10**7) // heads)
    base = 10**7 + np.arange(heads, dtype=np.int64) * step + rng.integers(0, step, heads)
    siren = _luhn(base, 8)[owner]
    order = np.argsort(owner, kind="stable")
    sorted_owner = owner[order]
    start = np.r_[0, np.flatnonzero(np.diff(sorted_owner)) + 1]
    run = np.diff(np.r_[start, n])
    rank_sorted = np.arange(n) - np.repeat(start, run)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = rank_sorted
    siret = _luhn(siren * 10**4 + rank + 1, 13)
    data["siren"] = siren
    data["siret"] = siret
    data["rank"] = rank
    data["owner"] = owner


def _coordinates(
    rng: np.random.Generator, communes: _Communes, data: dict[str, np.ndarray]
) -> None:
    commune = data["commune"]
    n = len(commune)
    radius = 0.6 * np.sqrt(communes.area[commune] / np.pi) * np.sqrt(rng.random(n))
    angle = rng.random(n) * 2 * np.pi
    lat0 = communes.lat[commune]
    lon = communes.lon[commune] + radius * np.cos(angle) / (111.32 * np.cos(np.radians(lat0)))
    lat = lat0 + radius * np.sin(angle) / 110.57
    box = communes.box[commune]
    lon = np.clip(lon, box[:, 0], box[:, 2])
    lat = np.clip(lat, box[:, 1], box[:, 3])
    dep = communes.dep[commune]
    epsg = np.full(n, 2154, dtype=np.int32)
    for d, code in EPSG_BY_DEP.items():
        epsg[dep == d] = code
    x = np.empty(n)
    y = np.empty(n)
    for code in np.unique(epsg):  # one projection per overseas département
        mask = epsg == code
        transformer = pyproj.Transformer.from_crs(4326, int(code), always_xy=True)
        x[mask], y[mask] = transformer.transform(lon[mask], lat[mask])
    data["lon"], data["lat"], data["x"], data["y"], data["epsg"] = lon, lat, x, y, epsg


# --------------------------------------------------------------------------- writing


def _write(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    communes: _Communes,
    sectors: _Sectors,
    data: dict[str, np.ndarray],
    *,
    ref: int,
    history: bool,
) -> list[str]:
    n = len(data["commune"])
    rows = pa.table(
        {
            "row": pa.array(np.arange(n, dtype=np.int64)),
            "siren": pa.array(data["siren"]),
            "siret": pa.array(data["siret"]),
            "rank": pa.array(data["rank"]),
            "commune": pa.array(data["commune"]),
            "sector": pa.array(data["sector"]),
            "band": pa.array(data["band"].astype(np.int32)),
            "created": pa.array(data["created"]),
            "closed": pa.array(data["closed"]),
            "active": pa.array(data["active"]),
            "x": pa.array(np.round(data["x"], 1)),
            "y": pa.array(np.round(data["y"], 1)),
            "lon": pa.array(np.round(data["lon"], 6)),
            "lat": pa.array(np.round(data["lat"], 6)),
            "epsg": pa.array(data["epsg"]),
            "owner_row": pa.array(data["owner"]),
        }
    )
    dims = {
        "d_commune": pa.table(
            {
                "commune": pa.array(np.arange(communes.n, dtype=np.int32)),
                "code": pa.array(communes.code.tolist(), type=pa.string()),
                "name": pa.array(communes.name.tolist(), type=pa.string()),
            }
        ),
        "d_sector": pa.table(
            {
                "sector": pa.array(np.arange(len(sectors.code), dtype=np.int32)),
                "naf": pa.array(sectors.code.tolist(), type=pa.string()),
            }
        ),
        "d_band": pa.table(
            {
                "band": pa.array(np.arange(len(BANDS), dtype=np.int32)),
                "band_code": pa.array(list(BANDS), type=pa.string()),
            }
        ),
    }
    corr = naf_correspondence(con)
    dims["d_corr"] = pa.table(
        {
            "naf_rev2": pa.array([c.naf_rev2 for c in corr], type=pa.string()),
            "naf_2025": pa.array([c.naf_2025 for c in corr], type=pa.string()),
        }
    )
    processed = (EPOCH + timedelta(days=ref)).isoformat() + "T03:00:00"
    con.register("synth_rows", rows)
    for name, table in dims.items():
        con.register(name, table)
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP VIEW synth_etab AS
            SELECT r.*, c.code AS commune_code, c.name AS commune_name, s.naf, b.band_code,
                   coalesce(k.same, k.t25[(r.row % len(k.t25)) + 1]) AS naf25,
                   DATE '1970-01-01' + r.created AS created_date,
                   CASE WHEN r.closed >= 0 THEN DATE '1970-01-01' + r.closed END AS closed_date,
                   '{processed}' AS processed
            FROM synth_rows r
            JOIN d_commune c USING (commune) JOIN d_sector s USING (sector)
            JOIN d_band b USING (band)
            LEFT JOIN ({_NAF25_TARGETS}) k ON k.naf_rev2 = s.naf
            """
        )
        written = []
        jobs = [
            (ESTABLISHMENT_FILE, establishment_select(ref_year=_year(ref)), ","),
            (LEGAL_UNIT_FILE, legal_unit_select(), ","),
            (GEOLOCATION_FILE, geolocation_select(), ";"),
        ]
        if history:
            jobs.append((HISTORY_FILE, history_select(), ","))
        for filename, select, delimiter in jobs:
            target = out_dir / filename
            con.execute(
                f"COPY ({select}) TO '{_quote(str(target))}' "
                f"(FORMAT csv, HEADER true, DELIMITER '{delimiter}', QUOTE '\"')"
            )
            written.append(filename)
    finally:
        con.execute("DROP VIEW IF EXISTS synth_etab")
        con.unregister("synth_rows")
        for name in dims:
            con.unregister(name)
    return written


#: NAF 2025 code of a synthetic establishment, through INSEE's correspondence: the only target
#: of a "unique" rev. 2 sous-classe; for a split one, the target in the same class if any (its
#: main content), otherwise one of the targets chosen by row, so the split stays spread.
_NAF25_TARGETS = """
    SELECT naf_rev2, list(naf_2025 ORDER BY naf_2025) AS t25,
           min(naf_2025) FILTER (left(naf_2025, 5) = left(naf_rev2, 5)) AS same
    FROM d_corr GROUP BY naf_rev2
"""


def _naf25_note(con: duckdb.DuckDBPyConnection) -> str:
    """What the NAF 2025 columns of the generated files hold."""
    row = con.execute(
        "SELECT min(s.version), count(*) FROM naf_correspondence c "
        "JOIN source s ON s.id = c.source_id"
    ).fetchone()
    if not row or not row[1]:
        return (
            "NAF 2025 columns left empty: the knowledge base holds no NAF rév. 2 – NAF 2025 "
            "correspondence (territoria import naf2025)"
        )
    return f"NAF 2025 columns mapped through INSEE's correspondence {row[0]} ({row[1]:,} pairs)"


def _year(day: int) -> int:
    return (EPOCH + timedelta(days=day)).year


def _quote(text: str) -> str:
    return text.replace("'", "''")
