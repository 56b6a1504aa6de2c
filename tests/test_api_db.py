"""The web application's database and cache: profile lookups in memory, kept up to date."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import numpy as np
import pytest

from territoria.analysis.profile import profile
from territoria.api import Database
from territoria.api._cache import KBCache
from territoria.kb.jobs import to_jsonable
from test_api_helpers import make_kb

RENNES = "35238"
TOWN_COUNCIL = "Conseil municipal de Rennes"


@pytest.fixture
def kb(mini_db_path: Path, tmp_path: Path) -> Path:
    return make_kb(mini_db_path, tmp_path)


def _wait_for_lookups(db: Database) -> None:
    deadline = time.monotonic() + 60
    while not db.profile_lookups_ready:
        assert time.monotonic() < deadline, "profile lookups never loaded"
        time.sleep(0.02)


def _town_council(db: Database) -> list[str]:
    with db.reader() as cur:
        return [o.name for o in profile(cur, RENNES).officials if o.body == TOWN_COUNCIL]


def test_profiles_from_lookups_then_reloaded_after_a_write(kb: Path) -> None:
    db = Database.open(kb)
    try:
        _wait_for_lookups(db)
        with db.reader() as cur:
            from_lookups = profile(cur, RENNES)
        with db.writer():  # a write that leaves the profiles' tables alone keeps the lookups
            pass
        assert db.profile_lookups_ready
        council = _town_council(db)
        assert council
        with db.writer() as cur:
            cur.execute("DELETE FROM mandate WHERE organisation_id = ?", [f"cm-{RENNES}"])
        # the write changed what profiles show: never the old rows, and lookups come back
        assert _town_council(db) == []
        _wait_for_lookups(db)
        assert _town_council(db) == []
        with db.reader() as cur:
            assert profile(cur, RENNES).parents == from_lookups.parents
    finally:
        db.close()


def test_without_lookups_profiles_come_from_queries(kb: Path) -> None:
    db = Database.open(kb, profile_lookups=False)
    try:
        assert _town_council(db)
        assert not db.profile_lookups_ready
    finally:
        db.close()


def test_closing_while_the_lookups_load(kb: Path) -> None:
    for _ in range(5):
        Database.open(kb).close()  # interrupts or waits for the loading thread, never hangs
    db = Database.open(kb)  # each close released the file
    try:
        assert _town_council(db)
    finally:
        db.close()


def test_cache_hands_out_copies_of_json_values(kb: Path) -> None:
    db = Database.open(kb, profile_lookups=False)
    try:
        cache = KBCache(db)
        with db.reader() as cur:
            first = cache.get(("profile", RENNES), lambda: to_jsonable(profile(cur, RENNES)))
        again = cache.get(("profile", RENNES), dict)
        assert again == first and again is not first
        again["officials"].clear()  # a careless caller cannot change what others get
        assert cache.get(("profile", RENNES), dict) == first
        odd = {"value": np.float64(1.5), "when": dt.date(2024, 6, 30)}
        cache.get("odd", lambda: odd)
        assert cache.get("odd", dict) is odd  # kept as it is: marshal would not copy it exactly
        assert type(cache.get("odd", dict)["value"]) is np.float64
    finally:
        db.close()
