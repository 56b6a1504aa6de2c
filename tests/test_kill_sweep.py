"""kill -9 at any moment of an import leaves the previous or the new state (see kill_sweep.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kill_sweep import Zygote, prepare, sweep

#: Kills per importer (the issue asks for at least 100 in the full suite).
KILLS = int(os.environ.get("TERRITORIA_KILLS", "110"))


@pytest.fixture(scope="module")
def plans(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    return prepare(tmp_path_factory.mktemp("kill-sweep"), mini_db_path)


@pytest.fixture(scope="module")
def zygote() -> Zygote:
    z = Zygote()
    yield z
    z.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "importer",
    [
        "bulk",
        "france",
        "indicators",
        "sirene",
        "relations",
        "populations",
        "officials",
        "iris",
        "osm",
    ],
)
def test_kill_sweep_leaves_previous_or_new_state(
    importer: str, plans: dict[str, tuple], zygote: Zygote
) -> None:
    db, inputs = plans[importer]
    report = sweep(importer, db, inputs, kills=KILLS, zygote_proc=zygote, seed=len(importer))
    print(
        f"\n{importer}: {report.kills} kills, {report.previous_state} left the previous state, "
        f"{report.new_state} the new one, {report.recovered_logs} logs already checkpointed "
        f"set aside, {report.torn_blocks} torn metadata blocks repaired; "
        f"run {report.run_seconds:.2f} s"
    )
    assert report.kills == KILLS
    assert report.violations == []
    # the sweep covered both sides of the commit
    assert report.completed < report.kills  # most kills interrupted the import
    if len(inputs) > 1:  # two inputs of different sizes: both states were seen
        assert report.previous_state > 0 and report.new_state > 0
