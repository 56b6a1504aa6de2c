"""``territoria incidents add|import|export|list|show|impact|delete``: incidents (CAP 1.2 in and
out) and their impact. ``report``, ``alert`` and ``deliveries`` come from
:mod:`territoria.cli._crisis`, added to :data:`incidents_app` at the end of this module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from territoria.cli._common import DbOption, QuietOption, console, open_kb, print_json
from territoria.crisis._model import Impact, Incident

__all__ = ["incidents_app", "register"]

incidents_app = typer.Typer(
    help="Incidents (floods, closed roads, closures …): record, CAP 1.2 import/export, impact.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
IncidentArg = Annotated[int, typer.Argument(help="The incident's id ('incidents list').")]
NetworkOpt = Annotated[
    str | None,
    typer.Option("--network", help="Road network id or name ('networks list'): closed roads, "
                 "isolation."),
]  # fmt: skip


def register(root: typer.Typer) -> None:
    """Add ``territoria incidents``."""
    root.add_typer(incidents_app, name="incidents")


def _print_incident(inc: Incident) -> None:
    banner = " [EXERCICE]" if inc.exercise else ""
    end = inc.end.isoformat(sep=" ") if inc.end else "—"
    console.print(f"incident {inc.id}{banner} : {inc.title}")
    console.print(f"  type {inc.type} · gravité {inc.severity}/5 · statut CAP {inc.status}")
    console.print(f"  du {inc.start.isoformat(sep=' ')} au {end} (UTC) · zone {inc.geometry_kind}")
    if inc.network_id is not None:
        console.print(f"  réseau {inc.network_id} : {len(inc.closed_edges)} tronçon(s) coupé(s)")
    console.print(f"  source : {inc.source}")


@incidents_app.command("add")
def add_command(
    type_: Annotated[
        str,
        typer.Option(
            "--type",
            help="flood, storm, bridge_failure, "
            "road_closure, wildfire, industrial_closure, other …",
        ),
    ],
    severity: Annotated[int, typer.Option("--severity", help="1 (minor) to 5 (extreme).")],
    geometry: Annotated[
        str,
        typer.Option(
            "--geometry",
            help="A .geojson file or WKT text "
            "(WGS84 lon/lat): polygon, line, or point with --radius.",
        ),
    ],
    start: Annotated[str, typer.Option("--start", help="Start, ISO 8601 (UTC unless offset).")],
    end: Annotated[str | None, typer.Option("--end", help="End, ISO 8601.")] = None,
    title: Annotated[str, typer.Option("--title", help="Title (default: type and date).")] = "",
    exercise: Annotated[
        bool, typer.Option("--exercise", help="An exercise (CAP Exercise).")
    ] = False,
    radius: Annotated[float | None, typer.Option("--radius", help="Radius (m) of a point.")] = None,
    network: NetworkOpt = None,
    edge: Annotated[
        list[int] | None, typer.Option("--edge", help="Also close this edge of --network (repeat).")
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Record an incident; on --network, the roads its zone cuts are closed."""  # fmt: skip
    from territoria.crisis._geometry import read_geometry_argument
    from territoria.crisis.incidents import IncidentInput, add_incident

    with open_kb(db, quiet) as con:
        zone = read_geometry_argument(geometry)
        req = IncidentInput(type=type_, severity=severity, geometry=zone, start=start, end=end,
                            title=title, exercise=exercise, radius_m=radius, network_id=network,
                            closed_edges=tuple(edge or ()))  # fmt: skip
        inc = add_incident(con, req)
    if as_json:
        print_json(inc.to_dict())
    elif not quiet:
        _print_incident(inc)


@incidents_app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="A CAP 1.2 XML file.")],
    network: NetworkOpt = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Import a CAP 1.2 alert as an incident (validated against the OASIS schema)."""
    from territoria.crisis.cap import import_cap, read_cap_file

    with open_kb(db, quiet) as con:
        inc = import_cap(con, read_cap_file(path), where=str(path), network_id=network)
    if as_json:
        print_json(inc.to_dict())
    elif not quiet:
        _print_incident(inc)


@incidents_app.command("export")
def export_command(
    incident_id: IncidentArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="The CAP 1.2 file to write.")],
    sender: Annotated[str, typer.Option(help="CAP <sender> (e.g. your e-mail).")] = "territoria",
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Export an incident as CAP 1.2 XML (validated against the OASIS schema)."""
    from territoria.crisis.cap import export_cap

    with open_kb(db, quiet, read_only=True) as con:
        data = export_cap(con, incident_id, sender=sender)
    output.write_bytes(data)
    if not quiet:
        console.print(f"incident {incident_id} exporté en CAP 1.2 : {output}")


@incidents_app.command("list")
def list_command(
    deleted: Annotated[bool, typer.Option(help="Include deleted incidents.")] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """The incidents, newest first."""
    from territoria.crisis.incidents import list_incidents

    with open_kb(db, quiet, read_only=True) as con:
        found = list_incidents(con, deleted=deleted)
    if as_json:
        print_json([i.to_dict() for i in found])
        return
    table = Table(title="incidents", title_justify="left")
    for column in ("n°", "titre", "type", "gravité", "statut", "début (UTC)", "supprimé"):
        table.add_column(column)
    for i in found:
        status = "exercice" if i.exercise else i.status
        table.add_row(str(i.id), i.title, i.type, str(i.severity), status,
                      i.start.isoformat(sep=" "), "oui" if i.deleted else "")  # fmt: skip
    console.print(table)


@incidents_app.command("show")
def show_command(
    incident_id: IncidentArg, as_json: JsonOption = False, db: DbOption = None,
    quiet: QuietOption = False,
) -> None:  # fmt: skip
    """One incident."""
    from territoria.crisis.incidents import get_incident

    with open_kb(db, quiet, read_only=True) as con:
        inc = get_incident(con, incident_id)
    if as_json:
        print_json(inc.to_dict())
    else:
        _print_incident(inc)


def _print_impact(found: Impact) -> None:
    _print_incident(found.incident)
    console.print(f"population touchée : {found.population_affected} ({found.population_method})")
    console.print(
        f"établissements : {found.establishments} ; emplois estimés "
        f"{found.jobs_estimated:.0f} ({found.jobs_low:.0f} à {found.jobs_high:.0f})"
    )
    table = Table(title="territoires touchés", title_justify="left")
    for column in ("niveau", "code", "nom", "population touchée", "part"):
        table.add_column(column)
    for t in found.territories:
        table.add_row(t.level, t.code, t.name, str(t.population_affected), f"{t.share:.1%}")
    console.print(table)
    if found.network_id is not None:
        isolated = ", ".join(c["name"] for c in found.isolated_communes) or "aucune"
        inside = ", ".join(c["name"] for c in found.inside_zone_communes) or "aucune"
        console.print(f"communes isolées : {isolated}")
        console.print(f"communes dans la zone (non comptées isolées) : {inside}")
    officials = Table(title="élus à prévenir", title_justify="left")
    for column in ("nom", "fonction", "territoire", "contact"):
        officials.add_column(column)
    for o in found.officials:
        contact = o.contact or {}
        officials.add_row(
            o.name,
            o.function,
            o.territory,
            " · ".join(str(contact[k]) for k in ("phone", "email") if contact.get(k)),
        )
    console.print(officials)
    console.print(f"calculé en {found.computed_in_ms:.0f} ms")


@incidents_app.command("impact")
def impact_command(
    incident_id: IncidentArg, network: NetworkOpt = None, as_json: JsonOption = False,
    db: DbOption = None, quiet: QuietOption = False,
) -> None:  # fmt: skip
    """What an incident touches: territories, population, establishments and jobs, services,
    officials to call; with a network, communes isolated (apart from those in the zone)."""
    from territoria.crisis.impact import impact

    with open_kb(db, quiet, read_only=True) as con:
        found = impact(con, incident_id, network_id=network)
    if as_json:
        print_json(found.to_dict())
    else:
        _print_impact(found)


@incidents_app.command("delete")
def delete_command(
    incident_id: IncidentArg, db: DbOption = None, quiet: QuietOption = False
) -> None:
    """Delete an incident (soft: kept, with who deleted it and when)."""
    from territoria.crisis.incidents import delete_incident

    with open_kb(db, quiet) as con:
        inc = delete_incident(con, incident_id)
    if not quiet:
        console.print(f"incident {inc.id} supprimé : {inc.title}")


try:
    from territoria.cli import _crisis
except ModuleNotFoundError:  # pragma: no cover - the report part is optional
    pass
else:
    _crisis.register(incidents_app)
