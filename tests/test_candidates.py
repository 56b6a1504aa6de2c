"""Who a plan may engage: one's own network, or the officials of a territory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from territoria.analysis.profile import profile
from territoria.errors import InvalidPlanRequest, UnknownTerritory
from territoria.influence.candidates import (
    candidates_for,
    network_candidates,
    official_candidates,
)
from territoria.influence.network import load_graph
from territoria.influence.planner import plan_project
from territoria.kb import connect


def test_officials_of_rennes_include_its_mayor(mini_kb: duckdb.DuckDBPyConnection) -> None:
    mayor = next(o for o in profile(mini_kb, "35238").officials if o.function_code == "MAI")
    found = official_candidates(mini_kb, "35238")
    assert mayor.person_id in found
    # the métropole's officials cover its communes: more than the city's alone
    assert set(found) < set(official_candidates(mini_kb, "243500139", "epci"))
    with pytest.raises(UnknownTerritory):
        official_candidates(mini_kb, "00000")


def test_empty_network_says_how_to_fill_it(mini_kb: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InvalidPlanRequest, match="territoria actions add"):
        network_candidates(mini_kb)


def test_network_is_the_actors_met(mini_db: duckdb.DuckDBPyConnection) -> None:
    columns = [r[0] for r in mini_db.execute("DESCRIBE relation").fetchall()]
    row = dict.fromkeys(columns)
    source = mini_db.execute("SELECT min(id) FROM source").fetchone()
    assert source is not None
    row.update(
        source_actor="self", target_actor="p-x", type="knows", strength=0.5, source_id=source[0]
    )
    row = {k: v for k, v in row.items() if v is not None}
    mini_db.execute(
        f"INSERT INTO relation ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
        list(row.values()),
    )
    assert network_candidates(mini_db) == ["p-x"]


# --------------------------------------------------------------------------- --candidates officials


def _officials_by_body(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, set[str]]:
    rows = con.execute(
        "SELECT organisation_id, person_id FROM mandate WHERE end_date IS NULL "
        "AND person_id IN (SELECT unnest(?::VARCHAR[]))",
        [ids],
    ).fetchall()
    out: dict[str, set[str]] = {}
    for org, pid in rows:
        out.setdefault(str(org), set()).add(str(pid))
    return out


def _serving(con: duckdb.DuckDBPyConnection, where: str, *args: str) -> set[str]:
    rows = con.execute(
        f"SELECT DISTINCT person_id FROM mandate WHERE end_date IS NULL AND {where}", list(args)
    ).fetchall()
    return {str(r[0]) for r in rows}


def test_officials_are_every_council_of_the_territory(mini_kb: duckdb.DuckDBPyConnection) -> None:
    found = set(official_candidates(mini_kb, "35238"))
    # every member, not only those with a function: Rennes's municipal council, the
    # métropole's council, the département's and the région's, deputies and senators
    for body in ("cm-35238", "cc-243500139", "cd-35", "cr-53"):
        members = _serving(mini_kb, "organisation_id = ?", body)
        assert members and members <= found, body
    deputies = _serving(
        mini_kb,
        "role = 'député' AND code IN (SELECT parent_code FROM membership "
        "WHERE level = 'commune' AND code = '35238' AND parent_level = 'circonscription')",
    )
    senators = _serving(mini_kb, "role = 'sénateur' AND level = 'departement' AND code = '35'")
    assert deputies <= found and senators <= found
    # not the councils of another commune of the métropole
    assert (
        not _serving(
            mini_kb,
            "organisation_id = 'cm-35047' AND role = 'conseiller municipal'"
            " AND person_id NOT IN (SELECT person_id FROM mandate WHERE "
            "organisation_id IN ('cc-243500139', 'cd-35', 'cr-53'))",
        )
        & found
    )


@pytest.mark.parametrize("theme", ["roads", "water", "housing"])
def test_rennes_plans_with_its_officials(mini_db: duckdb.DuckDBPyConnection, theme: str) -> None:
    allowed = candidates_for(mini_db, "officials", code="35238")
    assert allowed is not None and allowed.mode == "officials"
    plan = plan_project(
        mini_db,
        code="35238",
        theme=theme,
        k=3,
        seed=4,
        candidates=allowed,
        mc_samples=1_000,
        with_robustness=False,
        with_coalition=False,
    )
    seeds = {s["id"] for s in plan["seeds"]}
    targets = {t["id"] for t in plan["targets"]}
    assert seeds and seeds <= set(allowed) and not seeds & targets
    assert plan["estimate"] > 0


def test_every_official_a_target_is_said_plainly(mini_db: duckdb.DuckDBPyConnection) -> None:
    allowed = candidates_for(mini_db, "officials", code="35001")
    assert allowed is not None and len(allowed) > 0
    graph_ids = set(load_graph(mini_db).graph.ids)
    targets = {pid: 1.0 for pid in allowed if pid in graph_ids}
    with pytest.raises(InvalidPlanRequest, match="tous les élus du territoire sont des décideurs"):
        plan_project(mini_db, code="35001", targets=targets, k=2, candidates=allowed, seed=1)


def test_candidate_modes_are_checked(mini_kb: duckdb.DuckDBPyConnection) -> None:
    assert candidates_for(mini_kb, "all") is None
    with pytest.raises(InvalidPlanRequest, match="needs --territory"):
        candidates_for(mini_kb, "officials")
    with pytest.raises(InvalidPlanRequest, match="use all, network, officials or pole:ID"):
        candidates_for(mini_kb, "friends")


@pytest.mark.slow
def test_officials_follow_statut_particulier_bodies(full_db: duckdb.DuckDBPyConnection) -> None:
    # Lyon: the Métropole de Lyon holds the departmental competences, not the Rhône's council
    lyon = set(official_candidates(full_db, "69123"))
    rhone = _serving(full_db, "organisation_id = 'cd-69'")
    assert _serving(full_db, "organisation_id = 'cm-69123'") <= lyon
    # only the Rhône councillors who hold another mandate there (in 2026 two of 26: a
    # senator of the Rhône and a regional councillor)
    assert len(rhone & lyon) <= len(rhone) // 4
    villefranche = set(official_candidates(full_db, "69264"))
    assert rhone and rhone <= villefranche
    # Paris: the Conseil de Paris is both commune and département
    paris = _officials_by_body(full_db, official_candidates(full_db, "75056"))
    assert _serving(full_db, "organisation_id = 'cm-75056'") <= paris["cm-75056"]


def test_cli_plan_with_officials_and_min_rr_sets(mini_db_path: Path, tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    db.write_bytes(mini_db_path.read_bytes())
    command = [sys.executable, "-m", "territoria", "influence", "plan", "--territory", "35238"]
    command += ["--theme", "water", "--k", "2", "--seed", "3", "--candidates", "officials"]
    command += ["--min-rr-sets", "20000", "--no-robustness", "--no-coalition", "--json"]
    done = subprocess.run([*command, "--db", str(db)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["selection_rr_sets"] >= 20_000
    con = connect(db, read_only=True)
    try:
        officials = set(official_candidates(con, "35238"))
    finally:
        con.close()
    assert plan["seeds"] and {s["id"] for s in plan["seeds"]} <= officials
