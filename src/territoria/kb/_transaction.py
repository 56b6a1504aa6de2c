"""The one way the library writes: a transaction that bumps the knowledge base's generation.

Every write of Territoria goes through :func:`transaction`. Besides ``BEGIN``/``COMMIT`` it
increments ``kb_state.generation`` inside the same transaction: the counter is what lets
:mod:`territoria.kb._recovery` tell, after a kill during a checkpoint, whether the write-ahead
log was already folded into the file (DuckDB 1.5 would otherwise replay it a second time and
duplicate or tear the last import).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import duckdb

from territoria.errors import ReadOnlyDatabase

__all__ = ["BEFORE_COMMIT", "generation", "transaction"]

#: Called just before each ``COMMIT`` (tests/kill_sweep.py aims its kills at the commit
#: window with it); empty in normal use.
BEFORE_COMMIT: list[Callable[[], None]] = []


def _bump(con: duckdb.DuckDBPyConnection) -> None:
    # The table exists from migration 0005 on; migrations themselves run before it exists.
    with contextlib.suppress(duckdb.CatalogException):
        con.execute(
            "UPDATE kb_state SET generation = generation + 1, written_at = current_timestamp"
        )


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run the block in one transaction: everything is written, or nothing.

    A failed ``COMMIT`` has already rolled back in DuckDB: its error is kept, not the
    ``ROLLBACK``'s. Permission errors become :class:`ReadOnlyDatabase` with a hint.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        _bump(con)
        yield con
        for hook in BEFORE_COMMIT:
            hook()
        con.execute("COMMIT")
    except BaseException as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        text = str(exc)
        if isinstance(exc, duckdb.Error) and (
            "Permission denied" in text or "Operation not permitted" in text
        ):
            msg = (
                f"cannot write the knowledge base: {text.strip().splitlines()[-1]}; its folder "
                "is read-only: choose another path with --db or TERRITORIA_DB"
            )
            raise ReadOnlyDatabase(msg) from exc
        raise


def generation(con: duckdb.DuckDBPyConnection) -> int:
    """Return the number of write transactions committed so far (0 before migration 0005)."""
    try:
        row = con.execute("SELECT generation FROM kb_state").fetchone()
    except duckdb.CatalogException:
        return 0
    return int(row[0]) if row else 0
