"""``territoria export ...``: the territories of one level with their indicators (GeoJSON,
GeoPackage, GeoParquet, CSV, XLSX), and ``export officials``: a territory's officials."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from territoria.cli._common import (
    DbOption,
    QuietOption,
    chosen_level,
    console,
    context,
    fail,
    handle_errors,
)
from territoria.errors import ExportError


class _ExportGroup(TyperGroup):
    """``export LEVEL ...`` runs the level export; ``export officials CODE`` the roster."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["level", *args]
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=_ExportGroup,
    no_args_is_help=True,
    help="Export every territory of a level with its indicators (territoria export epci -o "
    "epci.gpkg), or a territory's officials (territoria export officials 35238 -o elus.xlsx).",
)


class ExportFormat(StrEnum):
    """File formats of ``territoria export LEVEL``."""

    geojson = "geojson"
    gpkg = "gpkg"
    parquet = "parquet"
    csv = "csv"
    xlsx = "xlsx"


class RosterFormat(StrEnum):
    """File formats of ``territoria export officials``."""

    csv = "csv"
    xlsx = "xlsx"


OutOption = Annotated[
    Path,
    typer.Option(
        "--output", "-o", help="File to write (replaced whole if it exists).", show_default=False
    ),
]


@app.command("level")
def export_command(
    level: Annotated[
        str,
        typer.Argument(
            help="Level to export: commune, epci, departement, region, canton, "
            "circonscription, arrondissement_municipal ...",
            show_default=False,
        ),
    ],
    out: OutOption,
    fmt: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="geojson (RFC 7946), gpkg (GeoPackage), parquet (GeoParquet), csv or xlsx "
            "(without geometry); default: from the file's suffix.",
        ),
    ] = None,
    all_indicators: Annotated[
        bool,
        typer.Option(
            "--indicators",
            help="Add every indicator with values at this level, each at its latest period "
            "(described in the file: a sheet, a table or the Parquet metadata).",
        ),
    ] = False,
    indicator: Annotated[
        list[str] | None,
        typer.Option(
            "--indicator",
            "-i",
            help="Indicator code to add as a column (repeat it, or separate codes with commas: "
            "P_POP,MED21).",
        ),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(help="Period of the indicators (default: the latest of each)."),
    ] = None,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Export every territory of a level with population, area, parents, indicators and
    geometry (EPSG:4326), in a file QGIS, GeoPandas or a spreadsheet open as is."""
    from territoria.export import export_level, format_from_suffix

    chosen = fmt.value if fmt is not None else format_from_suffix(out)
    if chosen is None:
        fail(
            ExportError(
                f"cannot tell the format of {str(out)!r} from its suffix: pass --format "
                "geojson, gpkg, parquet, csv or xlsx"
            )
        )
    codes = [c.strip() for value in indicator or [] for c in value.split(",") if c.strip()]
    if all_indicators and codes:
        fail(ExportError("pass either --indicators (all of them) or --indicator CODE, not both"))
    wanted: Any = "all" if all_indicators else (codes or None)
    ctx = context(db, quiet)
    with handle_errors():
        con = ctx.connect(read_only=True)
        try:
            written = export_level(
                con, level, fmt=chosen, out=out, indicators=wanted, period=period
            )
        finally:
            con.close()
    if not ctx.quiet:
        size = written.stat().st_size / 1e6
        console.print(f"wrote {written} ({chosen}, {size:.1f} MB)", highlight=False)


@app.command("officials")
def officials_command(
    code: Annotated[
        str,
        typer.Argument(
            help="Official code of the territory: 35238 (commune), 243500139 (EPCI), 35, 53.",
            show_default=False,
        ),
    ],
    out: OutOption,
    level: Annotated[
        str | None,
        typer.Option(
            "--level", "-l", help="Level when the code is ambiguous (53: departement or region)."
        ),
    ] = None,
    fmt: Annotated[
        RosterFormat | None,
        typer.Option("--format", "-f", help="csv or xlsx; default: from the file's suffix."),
    ] = None,
    english: Annotated[bool, typer.Option("--english", help="English column headers.")] = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Export every current official of a territory's councils (conseil municipal,
    communautaire, départemental, régional, or the body with a special status that replaces
    it), then its deputies and senators: name, title in the person's gender, body, start date
    (with the source's date defects flagged), group, party, source and its date."""
    from territoria.roster import export_officials, roster

    suffix = out.suffix.lower()
    chosen = fmt.value if fmt is not None else {".csv": "csv", ".xlsx": "xlsx"}.get(suffix)
    if chosen is None:
        fail(
            ExportError(
                f"cannot tell the format of {str(out)!r} from its suffix: pass --format csv or xlsx"
            )
        )
    ctx = context(db, quiet)
    with handle_errors():
        con = ctx.connect(read_only=True)
        try:
            found = roster(con, code, level=chosen_level(con, code, level))
        finally:
            con.close()
        written = export_officials(
            found,
            fmt=chosen,  # type: ignore[arg-type]
            out=out,
            lang="en" if english else "fr",
        )
    if not ctx.quiet:
        console.print(
            f"wrote {written} ({chosen}): {len(found.officials)} officials of {found.name} "
            f"({found.level} {found.code})",
            highlight=False,
            soft_wrap=True,
        )
        for body in found.bodies:
            if body.note:
                console.print(f"  {body.name}: {body.note}", highlight=False, soft_wrap=True)


def register(root: typer.Typer) -> None:
    """Add ``territoria export`` to the application."""
    root.add_typer(app, name="export")
