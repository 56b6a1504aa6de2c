"""Export the territories of one level with their figures, as files GIS tools and spreadsheets
open as they are (a territory's officials: :mod:`territoria.roster`).

Every territory of the level is written, with its code, name, population (and its year), area,
density, the codes of the territories it belongs to, the requested indicators as columns and its
geometry in EPSG:4326 (longitude, latitude):

- ``geojson``: GeoJSON as RFC 7946 specifies it (WGS84, counter-clockwise outer rings,
  7 decimals), written by GDAL;
- ``gpkg``: an OGC GeoPackage with one layer named after the level and a spatial index, and an
  attribute table ``indicators`` describing the indicator columns;
- ``parquet``: GeoParquet (WKB geometry, ``geo`` metadata and a bounding-box column; the
  indicator columns described as JSON under the ``territoria`` key of the file's metadata);
- ``csv``: the same columns without the geometry, text cells a spreadsheet would evaluate
  neutralised (:mod:`territoria._csv_safe`);
- ``xlsx``: an Excel workbook, one sheet of territories (no geometry) and a sheet ``indicateurs``
  with each indicator's label, unit, period, source and coverage.

``indicators="all"`` exports every indicator with values at the level, each at its latest
period.

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

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from territoria import _csv_safe
from territoria._xlsx import Sheet, write_workbook
from territoria.errors import (
    EmptyKnowledgeBase,
    ExportError,
    UnknownIndicator,
    UnknownLevel,
    UnknownPeriod,
)
from territoria.kb.territories import territories_of_level

Format = Literal["geojson", "gpkg", "parquet", "csv", "xlsx"]

#: Export formats and the file suffix each one usually carries.
FORMATS: dict[str, str] = {
    "geojson": ".geojson",
    "gpkg": ".gpkg",
    "parquet": ".parquet",
    "csv": ".csv",
    "xlsx": ".xlsx",
}
#: Media types of the formats, for downloads.
MEDIA_TYPES: dict[str, str] = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
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
    ``.geoparquet`` GeoParquet, ``.csv`` CSV, ``.xlsx`` Excel.
    """
    suffix = path.suffix.lower()
    if suffix in {".csv", ".xlsx"}:
        return "csv" if suffix == ".csv" else "xlsx"
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
    indicators: list[str] | Literal["all"] | None = None,
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
        ``"geojson"`` (RFC 7946), ``"gpkg"`` (GeoPackage), ``"parquet"`` (GeoParquet),
        ``"csv"`` or ``"xlsx"`` (no geometry).
    out
        File to write; replaced atomically if it exists. Its folder must exist.
    indicators
        Indicator codes to add as columns (each with a ``<code>_period`` column), or
        ``"all"``: every indicator with values at this level.
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
    wanted = _all_indicators(con, level) if indicators == "all" else list(indicators or [])
    periods = _indicator_periods(con, level, wanted, period)
    frame = _frame(con, level, periods, with_geometry=fmt not in ("csv", "xlsx"))
    described = describe_indicators(con, level, periods)
    _write_atomic(frame, fmt=fmt, out=out, layer=level, indicators=described)
    return out


@dataclass(frozen=True)
class IndicatorColumn:
    """What an indicator column of an export holds."""

    column: str
    indicator: str
    label: str
    unit: str | None
    period: str
    source: str | None
    source_date: str | None
    territories: int


def _all_indicators(con: duckdb.DuckDBPyConnection, level: str) -> list[str]:
    rows = con.execute(
        "SELECT DISTINCT indicator FROM indicator_value WHERE level = ? ORDER BY indicator",
        [level],
    ).fetchall()
    return [str(r[0]) for r in rows]


def describe_indicators(
    con: duckdb.DuckDBPyConnection, level: str, periods: dict[str, str]
) -> list[IndicatorColumn]:
    """Label, unit, period, source and coverage of each exported indicator, in column order."""
    names = _column_names(periods)
    found: list[IndicatorColumn] = []
    for indicator, when in periods.items():
        row = con.execute(
            """
            SELECT any_value(d.label), any_value(coalesce(d.unit, v.unit)), count(*),
                   string_agg(DISTINCT concat_ws(' ', s.name, s.version), ', '),
                   max(coalesce(s.reference_date, strftime(s.retrieved_at, '%Y-%m-%d')))
            FROM indicator_value v
            LEFT JOIN indicator_definition d ON d.indicator = v.indicator
            LEFT JOIN source s ON s.id = v.source_id
            WHERE v.level = ? AND v.indicator = ? AND v.period = ?
            """,
            [level, indicator, when],
        ).fetchone()
        label, unit, count, source, source_date = row if row else (None, None, 0, None, None)
        found.append(
            IndicatorColumn(
                column=names[indicator],
                indicator=indicator,
                label=label or indicator,
                unit=unit,
                period=when,
                source=source,
                source_date=source_date,
                territories=int(count or 0),
            )
        )
    return found


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


def _column_names(periods: dict[str, str]) -> dict[str, str]:
    """The column of each indicator: its code, prefixed when it would clash with another."""
    taken = set(_BASE_COLUMNS)
    names: dict[str, str] = {}
    for indicator in periods:
        name = indicator if indicator not in taken else f"indicator_{indicator}"
        taken.update({name, f"{name}_period"})
        names[indicator] = name
    return names


def _frame(
    con: duckdb.DuckDBPyConnection,
    level: str,
    periods: dict[str, str],
    *,
    with_geometry: bool = True,
) -> gpd.GeoDataFrame:
    """The territories of the level with their figures, as a GeoDataFrame (geometries left
    empty without ``with_geometry``: a table export does not read them)."""
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
    names = _column_names(periods)
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
            *(("geometry",) if with_geometry else ()),
        ),
    )
    columns = [
        *("code", "name", "population", "population_year", "area_km2", "density"),
        *(f"{p}_code" for p in parents),
        *(
            f"{_quote(names[i])}, {_sql_text(when)} AS {_quote(names[i] + '_period')}"
            for i, when in periods.items()
        ),
        "geometry" if with_geometry else "NULL::BLOB AS geometry",
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


def _write_atomic(
    frame: gpd.GeoDataFrame,
    *,
    fmt: str,
    out: Path,
    layer: str,
    indicators: list[IndicatorColumn] | None = None,
) -> None:
    try:
        folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        msg = f"cannot write into {str(out.parent)!r} ({exc.strerror}): choose another -o path"
        raise ExportError(msg) from exc
    described = indicators or []
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
            if described:
                _gpkg_indicators(tmp, described)
        elif fmt == "parquet":
            frame.to_parquet(tmp, index=False, write_covering_bbox=True)
            if described:
                _parquet_indicators(tmp, described)
        elif fmt == "csv":
            _write_csv(frame, tmp)
        else:
            _write_xlsx(frame, tmp, layer=layer, indicators=described)
        os.replace(tmp, out)
    except OSError as exc:
        msg = f"cannot write {str(out)!r}: {exc}"
        raise ExportError(msg) from exc
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _attributes(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """The columns without the geometry, missing values as ``None``."""
    table = pd.DataFrame(frame.drop(columns="geometry"))
    return table.astype(object).where(table.notna(), None)


def _write_csv(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Write the columns without the geometry with DuckDB's CSV writer (some ten times faster
    than pandas'), text cells a spreadsheet would run as formulas neutralised."""
    table = pa.Table.from_pandas(pd.DataFrame(frame.drop(columns="geometry")), preserve_index=False)
    with duckdb.connect() as local:
        local.register("export_rows", table)
        columns = local.execute("DESCRIBE export_rows").fetchall()
        select = ", ".join(_csv_safe.neutralised_column(str(c[0]), str(c[1])) for c in columns)
        target = str(path).replace("'", "''")
        local.execute(f"COPY (SELECT {select} FROM export_rows) TO '{target}' (HEADER)")


_INDICATOR_HEADERS = (
    "colonne", "indicateur", "libellé", "unité", "période", "source", "date de la source",
    "territoires renseignés",
)  # fmt: skip


def _indicator_rows(described: list[IndicatorColumn]) -> list[list[Any]]:
    return [
        [
            c.column, c.indicator, c.label, c.unit, c.period, c.source, c.source_date,
            c.territories,
        ]
        for c in described
    ]  # fmt: skip


def _write_xlsx(
    frame: gpd.GeoDataFrame, path: Path, *, layer: str, indicators: list[IndicatorColumn]
) -> None:
    # the sheet "indicateurs" gives each indicator's period: no period column beside each
    periods = [f"{c.column}_period" for c in indicators]
    table = _attributes(frame.drop(columns=[c for c in periods if c in frame.columns]))
    sheets = [
        Sheet(
            name=layer, headers=[str(c) for c in table.columns], rows=table.itertuples(index=False)
        )
    ]
    if indicators:
        sheets.append(
            Sheet(name="indicateurs", headers=_INDICATOR_HEADERS, rows=_indicator_rows(indicators))
        )
    write_workbook(path, sheets)


def _gpkg_indicators(path: Path, described: list[IndicatorColumn]) -> None:
    """Add the attribute table ``indicators`` (one row per indicator column) to a GeoPackage."""
    import pyogrio

    table = pd.DataFrame([asdict(c) for c in described])
    pyogrio.write_dataframe(table, path, layer="indicators", driver="GPKG")


def _parquet_indicators(path: Path, described: list[IndicatorColumn]) -> None:
    """Describe the indicator columns under the ``territoria`` key of the file's metadata."""
    table = pq.read_table(path)
    metadata = dict(table.schema.metadata or {})
    metadata[b"territoria"] = json.dumps(
        {"indicators": [asdict(c) for c in described]}, ensure_ascii=False
    ).encode()
    pq.write_table(table.replace_schema_metadata(metadata), path)
