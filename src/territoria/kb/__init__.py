"""Knowledge base: DuckDB connection, migrations, the one write path, audit and jobs."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Loaded when first used: a command that only talks to the serving process's socket
# (kb/_service.py) or prints --help needs neither DuckDB nor the profile lookups (NumPy).
_LAZY = {
    "SCHEMA_VERSION": "territoria.kb._connection",
    "connect": "territoria.kb._connection",
    "migrate": "territoria.kb._connection",
    "schema_version": "territoria.kb._connection",
    "Database": "territoria.kb._database",
    "generation": "territoria.kb._transaction",
    "transaction": "territoria.kb._transaction",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'territoria.kb' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
