"""Knowledge base: DuckDB connection, migrations and typed access to tables."""

from __future__ import annotations

from territoria.kb._connection import SCHEMA_VERSION, connect, migrate, schema_version

__all__ = ["SCHEMA_VERSION", "connect", "migrate", "schema_version"]
