"""``territoria export ...``: territories of one level as GeoJSON, GeoPackage or GeoParquet."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from territoria.cli._common import DbOption, QuietOption, console, context, fail, handle_errors
from territoria.errors import ExportError


class ExportFormat(StrEnum):
    """File formats of ``territoria export``."""

    geojson = "geojson"
    gpkg = "gpkg"
    parquet = "parquet"


def export_command(
    level: Annotated[
        str,
        typer.Argument(
            help="Level to export: commune, epci, departement, region, canton, "
            "circonscription, arrondissement_municipal ...",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="File to write (replaced whole if it exists).",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="geojson (RFC 7946), gpkg (GeoPackage) or parquet (GeoParquet); default: "
            "from the file's suffix.",
        ),
    ] = None,
    indicators: Annotated[
        str | None,
        typer.Option(help="Comma-separated indicator codes to add as columns (e.g. P_POP,MED21)."),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(help="Period of the indicators (default: the latest of each)."),
    ] = None,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Export every territory of a level with population, area, parents, indicators and
    geometry (EPSG:4326), in a file QGIS and GeoPandas open as is."""
    from territoria.export import export_level, format_from_suffix

    chosen = fmt.value if fmt is not None else format_from_suffix(out)
    if chosen is None:
        fail(
            ExportError(
                f"cannot tell the format of {str(out)!r} from its suffix: pass --format "
                "geojson, gpkg or parquet"
            )
        )
    codes = [c.strip() for c in indicators.split(",") if c.strip()] if indicators else None
    ctx = context(db, quiet)
    with handle_errors():
        con = ctx.connect(read_only=True)
        try:
            written = export_level(con, level, fmt=chosen, out=out, indicators=codes, period=period)
        finally:
            con.close()
    if not ctx.quiet:
        size = written.stat().st_size / 1e6
        console.print(f"wrote {written} ({chosen}, {size:.1f} MB)", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``territoria export`` to the application."""
    app.command("export")(export_command)
