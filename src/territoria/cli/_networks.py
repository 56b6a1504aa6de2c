"""``territoria networks list|criticality|isolation|access|services import``, ``territoria
import osm|network`` and ``territoria synth roads``: road and infrastructure networks."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from territoria.cli._common import (
    DbOption,
    QuietOption,
    console,
    handle_errors,
    open_kb,
    print_json,
    step_progress,
)

app = typer.Typer(
    help="Road and infrastructure networks: critical links, isolation, accessibility.",
    no_args_is_help=True,
)
services = typer.Typer(help="Service points accessibility is measured to.", no_args_is_help=True)
app.add_typer(services, name="services")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
NetworkArg = Annotated[str, typer.Argument(help="Network id or name ('networks list').")]


def register(root: typer.Typer) -> None:
    """Add ``networks``, ``import osm``, ``import network`` and ``synth roads``."""
    from territoria.cli import _import
    from territoria.cli._economy import synth_app

    root.add_typer(app, name="networks")
    _import.app.command("osm")(import_osm_command)
    _import.app.command("network")(import_network_command)
    synth_app.command("roads")(synth_roads_command)


def _json(obj: Any) -> Any:
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj  # type: ignore[arg-type]


def _edge_ids(text: str) -> list[int]:
    from territoria.errors import InvalidNetworkRequest

    try:
        return [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError as exc:
        msg = f"--close {text!r}: give edge ids separated by commas (see 'networks criticality')"
        raise InvalidNetworkRequest(msg) from exc


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f} min"


def import_osm_command(
    path: Annotated[Path, typer.Argument(help="An .osm.pbf extract (e.g. from Geofabrik).")],
    name: Annotated[str | None, typer.Option(help="Network name (default: file stem).")] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Import the drivable roads of an OpenStreetMap extract as a road network.

    Kept: highway=motorway, trunk, primary, secondary, tertiary (and their _link), unclassified,
    residential, living_street, road, service (not parking aisles or driveways); left out:
    area=yes, motor_vehicle=no, access=no|private, construction. Re-importing the same name
    replaces it in one transaction.
    """
    from territoria.sources.osm import import_osm

    with open_kb(db, quiet) as con, step_progress(quiet) as progress:
        report = import_osm(con, path, name=name, progress=progress)
    if json_output:
        print_json(report.to_dict())
        return
    label = " (synthetic)" if report.synthetic else ""
    console.print(
        f"network {report.network_id} {report.name!r}{label}: {report.edges:,} edges, "
        f"{report.nodes:,} nodes ({report.nodes_outside:,} outside France), "
        f"{report.length_km:,.0f} km, {report.bridges:,} bridges, {report.tunnels:,} tunnels"
    )


def import_network_command(
    path: Annotated[Path, typer.Argument(help="GeoJSON or GeoPackage layer of lines (WGS84).")],
    kind: Annotated[str, typer.Option(help="rail, power or telecom.")],
    name: Annotated[str | None, typer.Option(help="Network name (default: file stem).")] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Import a rail, power or telecom network: one line feature per edge between junctions."""
    from territoria.sources.network_layers import import_network

    with open_kb(db) as con:
        report = import_network(con, path, kind=kind, name=name)
    if json_output:
        print_json(report.to_dict())
        return
    console.print(f"network {report.network_id} {report.name!r} ({kind}): {report.features} edges")


def synth_roads_command(
    departement: Annotated[str, typer.Option(help="Département code, e.g. 35.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The .osm.pbf file to write.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    streets: Annotated[
        int, typer.Option(help="k: a k x k street grid around each town hall (file size).")
    ] = 0,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Write a SYNTHETIC road network over the communes' town halls of one département, in
    OSM PBF format (Delaunay links, a planted river with a few bridges, planted isolated
    communes); every way is tagged territoria:synthetic=yes."""
    from territoria.synth.roads import synth_roads

    with open_kb(db) as con:  # writable: brings an older schema up to date first
        report = synth_roads(con, departement, output, seed=seed, streets=streets)
    if json_output:
        print_json(report.to_dict())
        return
    planted = ", ".join(f"{name} ({code})" for code, name, _ in report.planted)
    console.print(
        f"synthetic network of {report.communes} communes ({report.town_halls} town halls, "
        f"{report.points_on_surface} points on surface): {report.nodes:,} nodes, "
        f"{report.ways:,} ways -> {output}; planted isolated communes: {planted}"
    )


@app.command("list")
def list_command(json_output: JsonOption = False, db: DbOption = None) -> None:
    """The networks of the knowledge base and their sources."""
    from territoria.networks import list_networks

    with open_kb(db, read_only=True) as con:
        found = list_networks(con)
    if json_output:
        print_json([_json(n) for n in found])
        return
    table = Table("id", "name", "kind", "edges", "nodes", "source", "date")
    for n in found:
        label = f"{n.source} (synthetic)" if n.synthetic else n.source
        table.add_row(str(n.id), n.name, n.kind, f"{n.edges:,}", f"{n.nodes:,}", label,
                      n.source_date or "—")  # fmt: skip
    console.print(table)


@app.command("criticality")
def criticality_command(
    network: NetworkArg,
    top: Annotated[int, typer.Option(help="Number of links shown.")] = 20,
    commune: Annotated[
        list[str] | None, typer.Option("--commune", "-c", help="Only links in this commune.")
    ] = None,
    recompute: Annotated[bool, typer.Option(help="Ignore the cached results.")] = False,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The critical links: bridges and the communes they isolate, then the links whose loss
    slows trips between communes most (population-weighted mean seconds per trip)."""
    from territoria.networks.criticality import criticality

    with open_kb(db) as con:
        result = criticality(con, network, top=top, communes=commune, recompute=recompute)
    if json_output:
        print_json(_json(result))
        return
    table = Table("edge", "road", "bridge", "isolates", "detour", "delta/trip", "usage")
    for link in result.top:
        isolates = ", ".join(f"{n} ({c})" for c, n, _ in link.isolated) or "—"
        table.add_row(
            str(link.edge), link.name or link.highway or "—",
            "graph" if link.is_bridge else ("OSM" if link.osm_bridge else ""), isolates,
            _minutes(link.detour_s),
            "—" if link.delta_s is None else f"{link.delta_s:.1f} s{'' if link.exact else ' ≤'}",
            f"{link.usage:.1%}",
        )  # fmt: skip
    console.print(table)
    console.print(
        f"{result.links:,} links ({result.edges:,} edges), {result.bridges:,} bridges, "
        f"{result.articulation_points:,} articulation points; source: {result.network.source}"
    )


@app.command("isolation")
def isolation_command(
    network: NetworkArg,
    close: Annotated[str, typer.Option(help="Closed edge ids, comma-separated.")] = "",
    zone: Annotated[
        str | None, typer.Option(help="WKT polygon or line: the edges it cuts are closed too.")
    ] = None,
    flooded: Annotated[
        str, typer.Option(help="Commune codes inside the zone (kept apart), comma-separated.")
    ] = "",
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Communes isolated when edges are closed, detours of the others, services cut off."""
    from territoria.networks import edges_cut_by, isolation, network_info

    with handle_errors():
        edges = _edge_ids(close)
    with open_kb(db, read_only=True) as con:
        if zone:
            edges += edges_cut_by(con, network_info(con, network).id, zone).tolist()
        result = isolation(
            con, network, edges, flooded_communes=[c for c in flooded.split(",") if c]
        )
    if json_output:
        print_json(_json(result))
        return
    console.print(f"{len(result.closed_edges)} edges closed; source: {result.network.source}")
    for code, name, pop in result.isolated:
        console.print(f"isolated: {name} ({code}), {pop:,} inhabitants")
    for code, name, pop in result.inside_zone:
        console.print(f"inside the zone: {name} ({code}), {pop:,} inhabitants")
    for code, name, before, after in result.detours[:20]:
        console.print(f"detour: {name} ({code}) {_minutes(before)} -> {_minutes(after)}")
    for kind, name, code in result.unreachable_services:
        console.print(f"out of reach: {kind} {name} ({code})")


@app.command("access")
def access_command(
    network: NetworkArg,
    kind: Annotated[str, typer.Option(help="mairie_epci, lycee or an imported kind.")],
    top: Annotated[int, typer.Option(help="Communes shown (slowest first).")] = 20,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Travel time from every commune to its nearest service of a kind (slowest first)."""
    from territoria.networks.access import access

    with open_kb(db, read_only=True) as con:
        result = access(con, network, kind)
    if json_output:
        print_json(_json(result))
        return
    table = Table("commune", "code", "population", "time")
    for row in result.communes[:top]:
        table.add_row(row.name, row.code, f"{row.population:,}", _minutes(row.time_s))
    console.print(table)
    console.print(
        f"{result.services} services ({result.service_source}); population-weighted mean "
        f"{_minutes(result.mean_s)}; unreachable population {result.unreachable_population:,}"
    )


@services.command("import")
def services_import_command(
    path: Annotated[Path, typer.Argument(help="GeoJSON or GeoPackage layer of points (WGS84).")],
    kind: Annotated[str, typer.Option(help="Your kind, e.g. hopital, caserne.")],
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Import service points (replacing the previous points of that kind)."""
    from territoria.sources.network_layers import import_services

    with open_kb(db) as con:
        report = import_services(con, path, kind=kind)
    if json_output:
        print_json(report.to_dict())
        return
    console.print(f"{report.features} points of kind {kind!r} ({report.outside} outside France)")
