"""``territoria watch``: the strategic watch (veille) — sources, fetching, items, topics,
signals, alerts.

Each part of the group lives in its own module (``_watch_sources``, ``_watch_items``,
``_watch_topics``, ``_watch_alerts``), which adds its commands to :data:`watch`.
"""

from __future__ import annotations

import importlib

import typer

watch = typer.Typer(
    help="Strategic watch (veille): sources, fetching, items linked to the knowledge base, "
    "topics, signals, alerts and digests.",
    no_args_is_help=True,
)

for _name in ("_watch_sources", "_watch_items", "_watch_topics", "_watch_alerts", "_watch_demo"):
    try:
        _module = importlib.import_module(f"territoria.cli.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"territoria.cli.{_name}":
            raise
        continue
    _module.register(watch)


def register(app: typer.Typer) -> None:
    """Add ``watch`` to the command-line application."""
    app.add_typer(watch, name="watch")
