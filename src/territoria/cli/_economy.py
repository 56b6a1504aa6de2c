"""Economic fabric commands: ``import sirene``, ``synth sirene``, ``economy ...``, ``poles ...``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from territoria.cli._common import (
    DbOption,
    QuietOption,
    chosen_level,
    console,
    context,
    err_console,
    handle_errors,
    parse_date_option,
    print_json,
    step_progress,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
RegionOption = Annotated[
    str | None, typer.Option("--region", help="Région code (e.g. 53 for Bretagne).")
]
DepartementOption = Annotated[
    str | None, typer.Option("--departement", help="Département code (e.g. 35, 2A, 971).")
]
SectorLevelOption = Annotated[
    str,
    typer.Option(
        "--sector-level", help="NAF level: section, division, group (3 digits), class, subclass."
    ),
]
NafOption = Annotated[
    str | None,
    typer.Option(
        "--naf",
        help="Nomenclature of the sectors: rev2 (NAF rév. 2) or 2025 (NAF 2025); default rev2 "
        "until 2026-12-31, 2025 from 2027-01-01 (when NAF 2025 becomes the APE).",
    ),
]
MeasureOption = Annotated[
    str,
    typer.Option(
        "--measure",
        help="employment (estimated from head-count bands) or establishments (counts).",
    ),
]

economy_app = typer.Typer(
    help="Economic fabric: specialisation, related sectors (SIRENE establishments).",
    no_args_is_help=True,
)
poles_app = typer.Typer(
    help="Poles of related firms and the actors around them.", no_args_is_help=True
)
synth_app = typer.Typer(help="Synthetic data in the formats of real sources.", no_args_is_help=True)

SYNTHETIC_BANNER = (
    "[bold yellow]SYNTHETIC DATA[/] — these figures describe generated, not real, establishments"
)


def _banner(result: dict[str, Any], quiet: bool) -> None:
    if result.get("synthetic") and not quiet:
        console.print(SYNTHETIC_BANNER)


def _num(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}".replace(",", "\u202f")


# --------------------------------------------------------------------------- import sirene


def import_sirene_command(
    etablissements: Annotated[
        Path,
        typer.Option(
            "--etablissements",
            help="StockEtablissement file as INSEE publishes it (CSV, CSV.gz, Parquet or zip).",
            show_default=False,
        ),
    ],
    unites_legales: Annotated[
        Path | None,
        typer.Option("--unites-legales", help="StockUniteLegale file (legal units)."),
    ] = None,
    geolocalisation: Annotated[
        Path | None,
        typer.Option(
            "--geolocalisation",
            help="GeolocalisationEtablissement_Sirene_pour_etudes_statistiques file "
            "(Lambert-93/UTM x, y and epsg, or WGS84): reprojected to WGS84.",
        ),
    ] = None,
    historique: Annotated[
        Path | None,
        typer.Option("--historique", help="StockEtablissementHistorique file (periods)."),
    ] = None,
    region: RegionOption = None,
    departement: DepartementOption = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Stop and import nothing at the first kind of bad row (unknown commune or NAF "
            "code, bad siret, coordinates outside France ...); default: keep the good rows and "
            "report the bad ones.",
        ),
    ] = False,
    synthetic: Annotated[
        bool | None,
        typer.Option(
            "--synthetic/--real",
            help="Record the rows as synthetic or real (default: synthetic when the folder "
            "holds the synthetic.json of 'territoria synth sirene').",
            show_default=False,
        ),
    ] = None,
    memory_limit: Annotated[
        str | None,
        typer.Option(
            "--memory-limit",
            help="DuckDB memory limit during the import (default: $TERRITORIA_MEMORY_LIMIT "
            "or 1500MB); DuckDB spills to disk beyond it.",
        ),
    ] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Import SIRENE establishments (and legal units, history, geolocation) from INSEE's files.

    The import replaces the previous SIRENE snapshot in one transaction: if anything fails, the
    knowledge base stays as it was. Head-count bands become an estimated employment (band
    midpoints). Run 'territoria import france' first: establishments are placed in its communes.
    """
    from territoria.sources.sirene import import_sirene

    ctx = context(db, quiet)
    with handle_errors(), step_progress(ctx.quiet) as progress:
        con = ctx.connect()
        try:
            report = import_sirene(
                con,
                establishments=etablissements,
                legal_units=unites_legales,
                geolocation=geolocalisation,
                history=historique,
                region=region,
                departement=departement,
                strict=strict,
                synthetic=synthetic,
                memory_limit=memory_limit or ctx.settings.memory_limit or "1500MB",
                progress=progress,
            )
        finally:
            con.close()
    if json_output:
        print_json(report.to_dict())
        return
    if ctx.quiet:
        return
    if report.synthetic:
        console.print(SYNTHETIC_BANNER)
    table = Table(title=f"SIRENE → {ctx.db}", title_justify="left")
    table.add_column("what")
    table.add_column("rows", justify="right")
    table.add_row("establishments", _num(report.establishments))
    table.add_row("  active", _num(report.active))
    table.add_row("  geolocated", _num(report.geolocated))
    table.add_row("estimated employment (active)", _num(report.employment))
    table.add_row("legal units", _num(report.legal_units))
    table.add_row("history periods", _num(report.history_periods))
    console.print(table)
    if report.problems:
        problems = Table(title="rows with problems (kept or dropped as said)", title_justify="left")
        problems.add_column("problem")
        problems.add_column("rows", justify="right")
        problems.add_column("examples", overflow="fold")
        for name, problem in report.problems.items():
            problems.add_row(
                f"{name}: {problem.text}", _num(problem.count), ", ".join(problem.examples)
            )
        console.print(problems)
    console.print(
        f"snapshot {report.reference_date or 'date unknown'} · done in "
        f"{sum(report.timings.values()):.1f} s",
        style="dim",
    )


# --------------------------------------------------------------------------- synth sirene


@synth_app.command("sirene")
def synth_sirene_command(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder to write the files into.", show_default=False),
    ],
    region: RegionOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same files).")] = 0,
    rows: Annotated[
        int | None,
        typer.Option(
            "--rows", min=100, help="Establishments to generate (default: population/10)."
        ),
    ] = None,
    planted: Annotated[
        int | None,
        typer.Option("--planted", min=0, max=10, help="Planted concentrations (default: by size)."),
    ] = None,
    date: Annotated[
        str, typer.Option("--date", help="Reference date of the snapshot (YYYY-MM-DD).")
    ] = "2025-01-01",
    history: Annotated[
        bool, typer.Option("--history/--no-history", help="Also write the history file.")
    ] = True,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Write SYNTHETIC SIRENE files (exact INSEE format) for the communes of the knowledge base.

    Establishments follow population, their sector mix varies with density, and a few planted
    concentrations of related sectors (listed in planted.json) grow or not. Import them with
    'territoria import sirene --etablissements DIR/StockEtablissement_utf8.csv ...': they are
    recorded as synthetic.
    """
    from territoria.synth import synth_sirene

    ctx = context(db, quiet)
    with handle_errors(), step_progress(ctx.quiet) as progress:
        day = parse_date_option(date, "--date")
        con = ctx.connect(read_only=True)
        try:
            result = synth_sirene(
                con,
                out,
                region=region,
                seed=seed,
                rows=rows,
                planted=planted,
                reference_date=day,
                history=history,
                progress=progress,
            )
        finally:
            con.close()
    if json_output:
        print_json(result)
        return
    if ctx.quiet:
        return
    console.print(SYNTHETIC_BANNER)
    console.print(
        f"{_num(result['rows'])} establishments ({_num(result['active'])} active) in "
        f"{_num(result['communes'])} communes → {out} in {result['seconds']} s"
    )
    console.print(result["naf2025"], style="dim", highlight=False)
    table = Table(title="planted concentrations (planted.json)", title_justify="left")
    for column in ("id", "theme", "centre", "communes", "establishments", "growing"):
        table.add_column(column)
    for p in result["planted"]:
        table.add_row(
            p["id"],
            p["label"],
            f"{p['centre']['name']} ({p['centre']['commune']})",
            str(len(p["communes"])),
            _num(p["establishments"]),
            "yes" if p["growing"] else "no",
        )
    console.print(table)
    first = Path(out)
    console.print(
        "import them with: territoria import sirene "
        f"--etablissements {first / 'StockEtablissement_utf8.csv'} "
        f"--unites-legales {first / 'StockUniteLegale_utf8.csv'} "
        f"--geolocalisation "
        f"{first / 'GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv'}"
        + (f" --historique {first / 'StockEtablissementHistorique_utf8.csv'}" if history else ""),
        style="dim",
        soft_wrap=True,
    )


# --------------------------------------------------------------------------- economy


@economy_app.command("profile")
def economy_profile_command(
    code: Annotated[str, typer.Argument(help="Territory code, e.g. 35238, 243500139, 35, 53.")],
    level: Annotated[
        str | None,
        typer.Option("--level", "-l", help="Level when the code is ambiguous (epci, region ...)."),
    ] = None,
    sector_level: SectorLevelOption = "division",
    measure: MeasureOption = "employment",
    reference: Annotated[
        str,
        typer.Option(
            "--reference", help="Compare with the nation or a parent level (departement, region)."
        ),
    ] = "nation",
    since: Annotated[
        str | None,
        typer.Option("--since", help="Start of the shift-share, YYYY-MM-DD (default: 5 years)."),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Sectors per ranking.")] = 10,
    naf: NafOption = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Economic profile of a territory: specialisation (LQ), indices, shift-share.

    The output names the nomenclature used and the reference actually compared with: when the
    knowledge base holds the establishments of one région only, the "nation" is that région
    and a warning says so.
    """
    from territoria.analysis.specialisation import specialisation_profile

    ctx = context(db, quiet)
    with handle_errors():
        start = parse_date_option(since, "--since")
        con = ctx.connect(read_only=True)
        try:
            result = specialisation_profile(
                con,
                code,
                level=chosen_level(con, code, level),
                sector_level=sector_level,
                measure=measure,
                reference=reference,
                since=start,
                top=top,
                naf=naf,
            ).to_dict()
        finally:
            con.close()
    if json_output:
        print_json(result)
        return
    _banner(result, ctx.quiet)
    t = result["territory"]
    console.print(
        f"[bold]{t['name']}[/] ({t['level']} {t['code']}) — {measure}, "
        f"{result['nomenclature_name']} {sector_level}"
    )
    for warning in result["warnings"]:
        console.print(f"[bold yellow]warning[/]: {warning}", soft_wrap=True)
    if not result.get("sectors", True) and not result.get("largest"):
        console.print("no establishment in this territory")
        return
    totals, idx = result["totals"], result["indices"]
    console.print(
        f"{_num(totals['establishments'])} active establishments · {measure} "
        f"{_num(totals['value'])} · reference {result['reference_scope']['name']}"
    )
    console.print(
        f"Krugman {idx['krugman']:.3f} · specialisation Gini {idx['gini']:.3f} · Herfindahl "
        f"{idx['herfindahl']:.4f} (reference {idx['herfindahl_reference']:.4f}) · traded share "
        f"{result['traded_share']:.1%}"
    )
    for key, title in (("specialised", "most specialised"), ("largest", "largest")):
        table = Table(title=title, title_justify="left")
        for column in ("sector", "label", measure, "share", "LQ", "traded"):
            table.add_column(column, overflow="fold")
        for e in result[key]:
            table.add_row(
                e["sector"],
                e["label"] or "",
                _num(e["value"], 1),
                f"{e['share']:.2%}",
                f"{e['lq']:.2f}" if e["lq"] is not None else "—",
                "yes" if e["traded"] else "",
            )
        console.print(table)
    shift = result.get("shift_share")
    if shift:
        tt = shift["totals"]
        console.print(
            f"shift-share {shift['start']} → {shift['end']}: change {_num(tt['change'], 1)} = "
            f"national {_num(tt['national'], 1)} + industry mix {_num(tt['industry_mix'], 1)} + "
            f"regional {_num(tt['regional'], 1)} (national growth {shift['national_growth']:.1%})"
        )
        if shift.get("caveat"):
            console.print(f"note: {shift['caveat']}", style="dim", soft_wrap=True)
    sources = ", ".join(
        f"{s['dataset']} ({s['reference_date'] or s['version']})" for s in result["sources"]
    )
    console.print(f"sources: {sources}", style="dim", soft_wrap=True)


@economy_app.command("groups")
def economy_groups_command(
    sector_level: SectorLevelOption = "group",
    measure: MeasureOption = "employment",
    territory_level: Annotated[
        str,
        typer.Option("--territory-level", help="Territories of the co-location (commune, epci)."),
    ] = "commune",
    min_correlation: Annotated[
        float, typer.Option("--min-correlation", help="Weakest relatedness linking two sectors.")
    ] = 0.2,
    resolution: Annotated[
        float, typer.Option(help="Louvain resolution (>1: smaller groups).")
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="Louvain seed.")] = 0,
    import_file: Annotated[
        Path | None,
        typer.Option("--import", help="Import your own groups: CSV group_id,sector[,label]."),
    ] = None,
    import_links: Annotated[
        Path | None,
        typer.Option(
            "--import-links", help="Import input-output links: sector_from,sector_to,weight."
        ),
    ] = None,
    scheme: Annotated[
        str | None,
        typer.Option("--scheme", help="Name of an imported scheme (to import, or to show)."),
    ] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Groups of related sectors (co-location relatedness + Louvain), or your own definitions."""
    from territoria.analysis.relatedness import (
        import_sector_groups,
        import_sector_links,
        sector_groups,
    )

    ctx = context(db, quiet)
    with handle_errors():
        if (import_file or import_links) and not scheme:
            err_console.print("[bold red]error:[/] --import and --import-links need --scheme NAME")
            raise typer.Exit(code=2)
        con = ctx.connect(read_only=not (import_file or import_links))
        try:
            if import_file is not None and scheme:
                result: Any = import_sector_groups(con, import_file, scheme=scheme)
            elif import_links is not None and scheme:
                links = import_sector_links(con, import_links, scheme=scheme)
                result = {
                    **links,
                    "groups": sector_groups(con, links=scheme, resolution=resolution, seed=seed),
                }
            else:
                result = sector_groups(
                    con,
                    scheme=scheme,
                    min_correlation=min_correlation,
                    resolution=resolution,
                    seed=seed,
                    level=territory_level,
                    sector_level=sector_level,
                    measure=measure,
                )
        finally:
            con.close()
    if json_output:
        print_json(result)
        return
    groups = result if isinstance(result, list) else result.get("groups")
    if not isinstance(groups, list):
        console.print(f"imported scheme {result['scheme']!r}: {result}")
        return
    table = Table(title="groups of related sectors", title_justify="left")
    for column in ("id", "label", "sectors", "cohesion"):
        table.add_column(column, overflow="fold")
    for g in groups:
        cohesion = g.get("cohesion")
        table.add_row(
            g["id"],
            g["label"],
            ", ".join(g["sectors"]),
            f"{cohesion:.2f}" if cohesion is not None else "—",
        )
    console.print(table)


# --------------------------------------------------------------------------- poles


@poles_app.command("detect")
def poles_detect_command(
    region: RegionOption = None,
    departement: DepartementOption = None,
    scheme: Annotated[
        str | None, typer.Option("--scheme", help="Use an imported sector-group scheme.")
    ] = None,
    method: Annotated[
        str, typer.Option("--method", help="hotspot (commune adjacency) or hdbscan (coordinates).")
    ] = "hotspot",
    measure: MeasureOption = "employment",
    min_lq: Annotated[float, typer.Option("--min-lq", help="Smallest location quotient.")] = 2.0,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level (Poisson).")] = 1e-4,
    min_establishments: Annotated[
        int, typer.Option("--min-establishments", help="Smallest pole (establishments).")
    ] = 10,
    reach_km: Annotated[
        float, typer.Option("--reach-km", help="Distance of the actors listed around a pole.")
    ] = 10.0,
    top: Annotated[
        int, typer.Option("--top", min=0, help="Firms and actors listed per pole.")
    ] = 10,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Detect poles: concentrations of related sectors, rated 0 to 3 stars, with their actors.

    Stars follow the European Cluster Observatory: size (top decile of the comparable EPCIs for
    the share of the sectors' national employment), specialisation (LQ >= 2), focus (top decile
    for the sectors' share of local employment); each pole lists why it has each star or not.
    Without --region or --departement, all of France. With --json: a list of poles, each with
    id, sectors (NAF codes), communes, establishments, employment, label ("3-star" ...), stars,
    star_reasons, growth, knowledge_actors, public_actors and hull (GeoJSON).
    """
    from territoria.analysis.poles import detect_poles

    ctx = context(db, quiet)
    with handle_errors():
        con = ctx.connect(read_only=True)
        try:
            poles = detect_poles(
                con,
                region=region,
                departement=departement,
                scheme=scheme,
                method=method,
                measure=measure,
                min_lq=min_lq,
                alpha=alpha,
                min_establishments=min_establishments,
                reach_km=reach_km,
                top=top,
            )
        finally:
            con.close()
    if json_output:
        print_json(poles)
        return
    if poles and poles[0].get("synthetic") and not ctx.quiet:
        console.print(SYNTHETIC_BANNER)
    if not poles:
        console.print("no pole found")
        return
    table = Table(title=f"{len(poles)} poles", title_justify="left")
    for column in (
        "id",
        "stars",
        "emerging",
        "centre",
        "communes",
        "estab.",
        measure[:6] + ".",
        "LQ",
        "growth",
        "know.",
        "public",
    ):
        table.add_column(column, overflow="fold")
    for p in poles:
        rate = p["growth"]["rate"]
        table.add_row(
            p["id"],
            "★" * p["stars"] + "☆" * (3 - p["stars"]),
            "yes" if p["emerging"] else "",
            p["centre"]["name"],
            str(len(p["communes"])),
            _num(p["establishments"]),
            _num(p["employment"] if measure == "employment" else p["establishments"]),
            f"{p['lq']:.1f}",
            _growth(rate),
            _num(p["knowledge_actor_count"]),
            _num(p["public_actor_count"]),
        )
    console.print(table)
    for p in poles:
        console.print(f"{p['id']}: {p['group']['label']} — {', '.join(p['sectors'])}", style="dim")
        for reason in p["star_reasons"]:
            console.print(f"  {reason['reason']}", style="dim", soft_wrap=True)


def _growth(rate: float | None) -> str:
    """A growth rate as a person reads it: "+12%", or "×38" once it is more than tenfold."""
    if rate is None:
        return "new"
    if rate >= 9.0:
        return f"×{1 + rate:,.0f}".replace(",", " ")
    return f"{rate:+.0%}"


def register(app: typer.Typer) -> None:
    """Add the economic commands to the ``territoria`` application."""
    from territoria.cli import _import

    _import.app.command("sirene")(import_sirene_command)
    app.add_typer(economy_app, name="economy")
    app.add_typer(poles_app, name="poles")
    app.add_typer(synth_app, name="synth")
