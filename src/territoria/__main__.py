"""``python -m territoria`` runs the command-line interface."""

from __future__ import annotations

from territoria.cli import main

main()
