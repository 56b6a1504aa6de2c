"""Importers, one module per source."""

from __future__ import annotations
