"""Territoria command-line interface (Typer): a thin adapter over the library."""

from __future__ import annotations

import importlib
import os

# numba's parallel regions spin-wait by default, which costs milliseconds per region on a
# busy 2-core machine; passive waiting keeps short parallel sections cheap.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import typer

from territoria.cli import _import

app = typer.Typer(
    name="territoria",
    help="Territorial intelligence for French territories.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(_import.app, name="import")

# Command modules register themselves on `app` when imported; a module that is not there yet
# (a capability not installed) is simply skipped.
for _name in (
    "_explore",
    "_export",
    "_influence",
    "_web",
    "_economy",
    "_audit",
    "_people",
    "_indicators",
    "_delegations",
    "_state",
    "_dossiers",
    "_watch",
    "_peers",
    "_composite",
    "_marketing",
    "_portrait",
    "_networks",
    "_incidents",
):
    try:
        _module = importlib.import_module(f"territoria.cli.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"territoria.cli.{_name}":
            raise
        continue
    _module.register(app)


def main() -> None:
    """Entry point of the ``territoria`` command.

    While a process serves the knowledge base (``territoria serve``), the command runs there
    (see cli/_remote.py): same output and exit code, and its writes are seen at once.
    """
    import getpass
    import sys

    from territoria.cli._remote import forward_if_served
    from territoria.kb.audit import acting_as

    code = forward_if_served(app, sys.argv[1:])
    if code is not None:
        raise SystemExit(code)
    with acting_as(f"cli:{getpass.getuser()}"):
        app()


__all__ = ["app", "main"]
