"""Locate the DuckDB extensions shipped by the pinned ``duckdb-extension-*`` packages."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

from territoria.errors import ConfigurationError

EXTENSIONS = ("spatial", "fts")


def extension_path(name: str) -> Path:
    """Return the path of the ``.duckdb_extension`` file for ``name``.

    The file comes from the ``duckdb-extension-<name>`` distribution, built for the installed
    DuckDB version, so the extension loads without network access.
    """
    package = f"duckdb_extension_{name}"
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        msg = (
            f"DuckDB extension package {package!r} is not installed: "
            f"run 'pip install duckdb-extension-{name}=={duckdb.__version__}' (or 'make install')"
        )
        raise ConfigurationError(msg)
    root = Path(next(iter(spec.submodule_search_locations)))
    candidate = root / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if candidate.exists():
        return candidate
    found = sorted(root.glob(f"extensions/*/{name}.duckdb_extension"))
    if not found:
        msg = f"no {name}.duckdb_extension file under {root}: reinstall duckdb-extension-{name}"
        raise ConfigurationError(msg)
    msg = (
        f"duckdb-extension-{name} ships {found[0].parent.name} but DuckDB is "
        f"{duckdb.__version__}: install duckdb-extension-{name}=={duckdb.__version__}"
    )
    raise ConfigurationError(msg)


def load_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """Install (from the local file) and load the spatial and full-text-search extensions."""
    loaded = {
        row[0]
        for row in con.execute(
            "SELECT extension_name FROM duckdb_extensions() WHERE loaded"
        ).fetchall()
    }
    for name in EXTENSIONS:
        if name in loaded:
            continue
        path = extension_path(name)
        con.execute(f"INSTALL '{path.as_posix()}'")
        con.execute(f"LOAD {name}")
