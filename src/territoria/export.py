"""Export the territories of one level with their figures, as files GIS tools open as they are.

Every territory of the level is written, with its code, name, population (and its year), area,
density, the codes of the territories it belongs to, the requested indicators as columns and its
geometry in EPSG:4326 (longitude, latitude):

- ``geojson``: GeoJSON as RFC 7946 specifies it (WGS84, counter-clockwise outer rings,
  7 decimals), written by GDAL;
- ``gpkg``: an OGC GeoPackage with one layer named after the level and a spatial index;
- ``parquet``: GeoParquet (WKB geometry, ``geo`` metadata and a bounding-box column).

Parent columns are those that apply to the level: ``commune_code`` for arrondissements and
communes déléguées/associées, ``epci_code``, ``departement_code`` and ``region_code`` (through
the parent commune for the former). An EPCI spanning several départements lists their codes
separated by commas.

Each indicator ``X`` gives two columns: ``X`` (the value) and ``X_period`` (the period it
describes: the latest period with values at this level unless one is asked for). A column
whose name would clash with another is prefixed with ``indicator_``. Territories without
geometry (secteurs municipaux, a few cantons) are kept, with an empty geometry.

The file appears whole or not at all: it is written in a temporary folder next to the target,
then renamed over it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

import duckdb
import geopandas as gpd
import pandas as pd
import pyarrow as pa

from territoria._csv_safe import neutralised_column
from territoria.errors import (
    EmptyKnowledgeBase,
    ExportError,
    UnknownIndicator,
    UnknownLevel,
    UnknownPeriod,
)
from territoria.kb.territories import territories_of_level

Format = Literal["geojson", "gpkg", "parquet"]

#: Export formats and the file suffix each one usually carries.
FORMATS: dict[str, str] = {"geojson": ".geojson", "gpkg": ".gpkg", "parquet": ".parquet"}
#: Parent levels written as ``<level>_code`` columns, in this order.
PARENT_LEVELS = ("commune", "epci", "departement", "region")
_BASE_COLUMNS = (
    "code",
    "name",
    "population",
    "population_year",
    "area_km2",
    "density",
    "geometry",
    *(f"{p}_code" for p in PARENT_LEVELS),
)


def format_from_suffix(path: Path) -> Format | None:
    """Return the export format a file's suffix implies, or ``None``.

    ``.geojson`` and ``.json`` are GeoJSON, ``.gpkg`` GeoPackage, ``.parquet`` and
    ``.geoparquet`` GeoParquet.
    """
    suffix = path.suffix.lower()
    if suffix in {".geojson", ".json"}:
        return "geojson"
    if suffix == ".gpkg":
        return "gpkg"
    if suffix in {".parquet", ".geoparquet"}:
        return "parquet"
    return None


def export_level(
    con: duckdb.DuckDBPyConnection,
    level: str,
    *,
    fmt: Format,
    out: Path,
    indicators: list[str] | None = None,
    period: str | None = None,
) -> Path:
    """Write every territory of ``level`` with its figures and geometry to ``out``.

    Parameters
    ----------
    con
        Open knowledge base (read-only is enough).
    level
        Territorial level: ``commune``, ``epci``, ``departement``, ``region``, ``canton`` ...
    fmt
        ``"geojson"`` (RFC 7946), ``"gpkg"`` (GeoPackage) or ``"parquet"`` (GeoParquet).
    out
        File to write; replaced atomically if it exists. Its folder must exist.
    indicators
        Indicator codes to add as columns (each with a ``<code>_period`` column).
    period
        Period of the indicator values; default: for each indicator, its latest period with
        values at this level.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    UnknownLevel
        ``level`` is not a level of the knowledge base.
    EmptyKnowledgeBase
        No territory of this level has been imported.
    UnknownIndicator
        An indicator has no value at this level.
    UnknownPeriod
        An indicator has no value for ``period`` at this level.
    ExportError
        Unknown format, missing folder, or the file cannot be written.
    """
    if fmt not in FORMATS:
        msg = f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}"
        raise ExportError(msg)
    out = Path(out)
    if not out.parent.is_dir():
        msg = f"folder {str(out.parent)!r} does not exist: create it or choose another -o path"
        raise ExportError(msg)
    _check_level(con, level)
    periods = _indicator_periods(con, level, indicators or [], period)
    frame = _frame(con, level, periods)
    _write_atomic(frame, fmt=fmt, out=out, layer=level)
    return out


def _check_level(con: duckdb.DuckDBPyConnection, level: str) -> None:
    known = [r[0] for r in con.execute("SELECT level FROM level ORDER BY rank").fetchall()]
    if level not in known:
        msg = f"unknown level {level!r}: use one of {', '.join(known)}"
        raise UnknownLevel(msg)
    if territories_of_level(con, level, columns=("code",)).limit(1).fetchone() is None:
        msg = (
            f"the knowledge base holds no territory of level {level!r}: "
            "run 'territoria import france' first"
        )
        raise EmptyKnowledgeBase(msg)


def _indicator_periods(
    con: duckdb.DuckDBPyConnection, level: str, indicators: list[str], period: str | None
) -> dict[str, str]:
    """The period to export for each indicator; raise for an indicator without values."""
    found: dict[str, str] = {}
    for indicator in dict.fromkeys(indicators):
        rows = con.execute(
            "SELECT period FROM indicator_value WHERE level = ? AND indicator = ? "
            "GROUP BY period ORDER BY period DESC",
            [level, indicator],
        ).fetchall()
        if not rows:
            raise UnknownIndicator(_unknown_indicator(con, level, indicator))
        available = [r[0] for r in rows]
        if period is None:
            found[indicator] = available[0]
        elif period in available:
            found[indicator] = period
        else:
            msg = (
                f"indicator {indicator!r} has no value for period {period!r} at level "
                f"{level!r}: its periods are {', '.join(available[:10])}"
            )
            raise UnknownPeriod(msg)
    return found


def _unknown_indicator(con: duckdb.DuckDBPyConnection, level: str, indicator: str) -> str:
    levels = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT level FROM indicator_value WHERE indicator = ? ORDER BY level",
            [indicator],
        ).fetchall()
    ]
    if levels:
        return (
            f"indicator {indicator!r} has no value at level {level!r} (it has at: "
            f"{', '.join(levels)}): export one of those levels or import values for {level!r}"
        )
    known = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT indicator FROM indicator_value WHERE level = ? ORDER BY 1 LIMIT 10",
            [level],
        ).fetchall()
    ]
    hint = f"indicators at this level: {', '.join(known)}" if known else "none at this level"
    return (
        f"unknown indicator {indicator!r} ({hint}): import it with 'territoria import indicators'"
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _frame(con: duckdb.DuckDBPyConnection, level: str, periods: dict[str, str]) -> gpd.GeoDataFrame:
    parents = [
        r[0]
        for r in con.execute(
            """
            SELECT DISTINCT parent_level FROM membership WHERE level = $1
            UNION SELECT DISTINCT m.parent_level FROM membership d
            JOIN membership m ON m.level = 'commune' AND m.code = d.parent_code
            WHERE d.level = $1 AND d.parent_level = 'commune'
            """,
            [level],
        ).fetchall()
    ]
    parents = [p for p in PARENT_LEVELS if p in parents and p != level]
    taken = set(_BASE_COLUMNS)
    names: dict[str, str] = {}
    for indicator in periods:
        name = indicator if indicator not in taken else f"indicator_{indicator}"
        taken.update({name, f"{name}_period"})
        names[indicator] = name
    params: list[object] = [level, level]
    parent_cols = "".join(
        f", string_agg(DISTINCT parent_code, ',' ORDER BY parent_code) "
        f"FILTER (WHERE parent_level = '{p}') AS {p}_code"
        for p in parents
    )
    value_cols = ""
    for indicator, when in periods.items():
        column = _quote(names[indicator])
        value_cols += f", max(value) FILTER (WHERE indicator = ? AND period = ?) AS {column}"
        params += [indicator, when]
    params += [level, list(periods) or [""]]
    select_parents = "".join(f", p.{p}_code" for p in parents)
    select_values = "".join(f", v.{_quote(names[i])}" for i in periods)
    extra = con.sql(
        f"""
        WITH parents AS (
            SELECT code, parent_level, parent_code FROM membership WHERE level = ?
            UNION
            SELECT d.code, m.parent_level, m.parent_code FROM membership d
            JOIN membership m ON m.level = 'commune' AND m.code = d.parent_code
            WHERE d.level = ? AND d.parent_level = 'commune'
              AND m.parent_level IN ('epci', 'departement', 'region')
        ),
        p AS (SELECT code{parent_cols} FROM parents GROUP BY code),
        v AS (
            SELECT code{value_cols} FROM indicator_value
            WHERE level = ? AND list_contains(?, indicator) GROUP BY code
        )
        SELECT code AS extra_code{select_parents}{select_values}
        FROM p FULL JOIN v USING (code)
        """,
        params=params,
    )
    base = territories_of_level(
        con,
        level,
        columns=(
            *("code", "name", "population", "population_year", "area_km2", "density"),
            "geometry",
        ),
    )
    columns = [
        *("code", "name", "population", "population_year", "area_km2", "density"),
        *(f"{p}_code" for p in parents),
        *(
            f"{_quote(names[i])}, {_sql_text(when)} AS {_quote(names[i] + '_period')}"
            for i, when in periods.items()
        ),
        "geometry",
    ]
    joined = base.join(extra, "code = extra_code", how="left")
    table = joined.project(", ".join(columns)).order("code").to_arrow_table()
    wkb = table.column("geometry").to_numpy(zero_copy_only=False)
    attributes = table.drop_columns(["geometry"]).to_pandas(types_mapper=_nullable)
    geometry = gpd.GeoSeries.from_wkb(wkb, crs="EPSG:4326")
    return gpd.GeoDataFrame(attributes, geometry=geometry, crs="EPSG:4326")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _nullable(kind: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    """Keep integer columns with missing values as integers (not floats) in pandas."""
    if pa.types.is_int64(kind):
        return pd.Int64Dtype()
    if pa.types.is_int32(kind):
        return pd.Int32Dtype()
    return None


def _write_atomic(frame: gpd.GeoDataFrame, *, fmt: str, out: Path, layer: str) -> None:
    try:
        folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        msg = f"cannot write into {str(out.parent)!r} ({exc.strerror}): choose another -o path"
        raise ExportError(msg) from exc
    try:
        tmp = folder / out.name
        if fmt == "geojson":
            frame.to_file(
                tmp,
                driver="GeoJSON",
                layer=layer,
                engine="pyogrio",
                layer_options={"RFC7946": "YES"},
            )
        elif fmt == "gpkg":
            frame.to_file(tmp, driver="GPKG", layer=layer, engine="pyogrio")
        else:
            frame.to_parquet(tmp, index=False, write_covering_bbox=True)
        os.replace(tmp, out)
    except OSError as exc:
        msg = f"cannot write {str(out)!r}: {exc}"
        raise ExportError(msg) from exc
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def parquet_to_csv(con: duckdb.DuckDBPyConnection, parquet: Path, out: Path) -> Path:
    """Write a (Geo)Parquet export as CSV without its geometry column; return ``out``."""
    columns = [
        (str(r[0]), str(r[1]))
        for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(parquet)]).fetchall()
        if r[0] != "geometry" and not str(r[1]).startswith(("STRUCT", "BLOB", "GEOMETRY"))
    ]
    # text cells a spreadsheet would run as formulas are neutralised; numbers stay numbers
    select = ", ".join(neutralised_column(name, sql_type) for name, sql_type in columns)
    target = str(out).replace("'", "''")
    con.execute(
        f"COPY (SELECT {select} FROM read_parquet(?)) TO '{target}' (HEADER, DELIMITER ',')",
        [str(parquet)],
    )
    return out
