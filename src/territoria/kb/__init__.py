"""Knowledge base: DuckDB connection, migrations, the one write path, audit and jobs."""

from __future__ import annotations

from territoria.kb._connection import SCHEMA_VERSION, connect, migrate, schema_version
from territoria.kb._database import Database
from territoria.kb._transaction import generation, transaction

__all__ = [
    "SCHEMA_VERSION",
    "Database",
    "connect",
    "generation",
    "migrate",
    "schema_version",
    "transaction",
]
