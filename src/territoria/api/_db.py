"""Compatibility alias: the knowledge base's one writer now lives in :mod:`territoria.kb`."""

from __future__ import annotations

from territoria.kb._database import Database

__all__ = ["Database"]
