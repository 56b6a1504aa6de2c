"""A cache of data derived from the knowledge base (profiles, territories, indicator values).

While the application runs, it is the knowledge base's only writer (DuckDB lets one process
write a file), so derived data can only change through the application's own writes: the
cache empties itself whenever the database's write generation moves.

JSON-like values (dictionaries and lists: profiles, territories) are kept serialised with
:mod:`marshal` and rebuilt at each hit (some 40 µs for a profile). Thousands of cached
profiles would otherwise be a million containers that every full collection of Python's
garbage collector walks through, pausing every request for 150 ms and more.
"""

from __future__ import annotations

import marshal
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Final, TypeVar

from territoria.kb._database import Database

__all__ = ["KBCache"]

T = TypeVar("T")

#: Serialised values larger than this stay as they are: rebuilding them would cost more.
PACK_LIMIT: Final = 64 * 1024


class _Packed(bytes):
    """A value kept serialised by :func:`marshal.dumps`."""


def _pack(value: Any) -> Any:
    if not isinstance(value, dict | list):
        return value
    try:
        data = marshal.dumps(value)
        # marshal writes objects with a buffer (NumPy numbers) as bytes: keep only exact copies
        same = len(data) <= PACK_LIMIT and bool(marshal.loads(data) == value)
    except (ValueError, TypeError):  # dates, objects, arrays: kept as they are
        return value
    return _Packed(data) if same else value


def _unpack(stored: Any) -> Any:
    return marshal.loads(stored) if isinstance(stored, _Packed) else stored


class KBCache:
    """Least-recently-used cache of values computed from the knowledge base.

    Parameters
    ----------
    db
        The application's database; its write generation invalidates the cache.
    size
        Entries kept.
    """

    def __init__(self, db: Database, *, size: int = 20_000) -> None:
        self._db = db
        self._size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._generation = db.generation
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """Return the cached value of ``key``, computing it with ``compute()`` when missing.

        Values must not be modified by callers (objects other than dictionaries and lists
        are shared). Exceptions from ``compute`` are not cached. Concurrent requests for the
        same missing key compute it once.
        """
        hit, value = self._lookup(key)
        if hit:
            return value  # type: ignore[no-any-return]
        with self._lock:
            computing = self._computing.setdefault(key, threading.Lock())
        with computing:
            hit, value = self._lookup(key)
            if hit:
                return value  # type: ignore[no-any-return]
            generation = self._db.generation
            try:
                value = compute()
                stored = _pack(value)
                with self._lock:
                    if generation == self._db.generation == self._generation:
                        self._items[key] = stored
                        while len(self._items) > self._size:
                            self._items.popitem(last=False)
            finally:
                with self._lock:
                    self._computing.pop(key, None)
        return value  # type: ignore[no-any-return]

    def _lookup(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            if self._generation != self._db.generation:
                self._items.clear()
                self._generation = self._db.generation
            if key in self._items:
                self._items.move_to_end(key)
                stored = self._items[key]
            else:
                return False, None
        return True, _unpack(stored)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()
