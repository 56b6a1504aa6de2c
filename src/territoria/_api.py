"""The Python entry point: open a knowledge base, find territories, read their profiles.

>>> import territoria
>>> with territoria.open("territoria.duckdb") as kb:  # doctest: +SKIP
...     rennes = kb.territory("35238")
...     rennes.profile().officials[0].name
...     epci = kb.territories(level="epci")  # a GeoDataFrame
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import TYPE_CHECKING, Any

import duckdb

from territoria.analysis.profile import Profile, profile, resolve_territory
from territoria.kb import connect
from territoria.kb.search import SearchHit, resolve_level, search
from territoria.kb.territories import geometry_wkb, territories_of_level

if TYPE_CHECKING:
    import geopandas
    from shapely.geometry.base import BaseGeometry

__all__ = ["KnowledgeBase", "Territory", "open"]


class Territory:
    """One territory of a knowledge base: its identity, and its profile and geometry on demand."""

    def __init__(self, kb: KnowledgeBase, row: dict[str, Any]) -> None:
        self._kb = kb
        self._row = row
        self._geometry: BaseGeometry | None = None

    @property
    def code(self) -> str:
        """Official code (INSEE code, SIREN of an EPCI, ``"35-08"`` for a circonscription)."""
        return str(self._row["code"])

    @property
    def level(self) -> str:
        """Level key: ``commune``, ``epci``, ``departement``, ``region``, ``canton`` ..."""
        return str(self._row["level"])

    @property
    def name(self) -> str:
        """Official name."""
        return str(self._row["name"])

    @property
    def population(self) -> int | None:
        """Municipal population (sum over its communes for EPCI, départements, régions)."""
        value = self._row.get("population")
        return None if value is None else int(value)

    @property
    def geometry(self) -> BaseGeometry | None:
        """Polygon in WGS84 longitude/latitude (Shapely), or ``None`` when the source has none."""
        if self._geometry is None:
            import shapely

            wkb = geometry_wkb(self._kb.connection, self.level, self.code)
            if wkb is None:
                return None
            self._geometry = shapely.from_wkb(wkb)
        return self._geometry

    def profile(self) -> Profile:
        """Return the territory's profile (see :func:`territoria.analysis.profile`)."""
        return profile(self._kb.connection, self.code, level=self.level)

    def __repr__(self) -> str:
        return f"Territory(level={self.level!r}, code={self.code!r}, name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Territory):
            return NotImplemented
        return (self.level, self.code) == (other.level, other.code)

    def __hash__(self) -> int:
        return hash((self.level, self.code))


class KnowledgeBase:
    """An open knowledge base; close it (or use it as a context manager) when done."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: str) -> None:
        self._connection: duckdb.DuckDBPyConnection | None = connection
        self.path = path

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, for SQL of one's own."""
        if self._connection is None:
            msg = f"the knowledge base {self.path!r} is closed"
            raise ValueError(msg)
        return self._connection

    def territory(self, code: str, level: str | None = None) -> Territory:
        """Return the territory with this code.

        Parameters
        ----------
        code
            Official code: ``"35238"`` (commune), ``"243500139"`` (EPCI), ``"35"``
            (département), ``"53"`` (région, with ``level="region"``: the département comes
            first), ``"3518"`` (canton), ``"35-08"`` (circonscription).
        level
            Level, for codes shared by several levels.

        Raises
        ------
        UnknownTerritory
            When no territory has this code (at this level).
        """
        return Territory(self, resolve_territory(self.connection, code, level=level))

    def territories(self, level: str = "epci") -> geopandas.GeoDataFrame:
        """Return every territory of one level with its figures and geometry.

        Parameters
        ----------
        level
            ``commune``, ``epci``, ``departement``, ``region``, ``canton``,
            ``circonscription`` ...

        Returns
        -------
        geopandas.GeoDataFrame
            Columns ``code``, ``name``, ``population``, ``area_km2``, ``density`` and
            ``geometry`` (WGS84, EPSG:4326), one row per territory, sorted by code.

        Raises
        ------
        UnknownLevel
            When ``level`` is not a level of the knowledge base.
        """
        import geopandas
        import shapely

        key = resolve_level(self.connection, level)
        frame = territories_of_level(
            self.connection,
            key,
            columns=("code", "name", "population", "area_km2", "density", "geometry"),
        ).df()
        # Missing geometries come back as pandas' NA; Shapely wants None.
        wkb = [
            bytes(b) if isinstance(b, bytes | bytearray) else None for b in frame.pop("geometry")
        ]
        return geopandas.GeoDataFrame(frame, geometry=shapely.from_wkb(wkb), crs="EPSG:4326")

    def search(self, text: str, *, level: str | None = None, limit: int = 20) -> list[SearchHit]:
        """Find territories by name or code (see :func:`territoria.kb.search.search`)."""
        return search(self.connection, text, level=level, limit=limit)

    def profile(self, code: str, *, level: str | None = None) -> Profile:
        """Return the profile of a territory (see :func:`territoria.analysis.profile`)."""
        return profile(self.connection, code, level=level)

    def close(self) -> None:
        """Close the connection; closing twice is harmless."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._connection is None else "open"
        return f"KnowledgeBase({self.path!r}, {state})"


def open(
    path: str | os.PathLike[str] = "territoria.duckdb", *, read_only: bool = True
) -> KnowledgeBase:
    """Open the knowledge base at ``path``.

    Parameters
    ----------
    path
        DuckDB file built by ``territoria import france`` (``":memory:"`` for an empty one).
    read_only
        Open without the write lock, so that other processes can read it too; the schema
        must be current. With ``read_only=False`` the schema is migrated if needed.

    Returns
    -------
    KnowledgeBase
        Usable as a context manager.

    Raises
    ------
    DatabaseError
        When the file does not exist, is locked by a writer or has an older schema.
    """
    return KnowledgeBase(connect(path, read_only=read_only), os.fspath(path))
