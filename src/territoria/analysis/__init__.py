"""Analyses of territories: profiles (and later specialisation, benchmarking, poles)."""

from __future__ import annotations

from territoria.analysis.profile import profile, render_profile, resolve_territory

__all__ = ["profile", "render_profile", "resolve_territory"]
