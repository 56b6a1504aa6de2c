"""Kill -9 swept across whole imports, commit window included: the knowledge base must hold
either the complete previous state or the complete new state, never a mix.

A *zygote* process imports Territoria once and forks one child per import, so that a run
starts in milliseconds and the kill times can be spread evenly over the whole import (the
commit and the checkpoint that follows it are the last few per cent of a run; a denser series
of kills is aimed at them). After each kill the knowledge base is opened as every command
opens it (``territoria.kb.connect``, which recovers from a kill during a checkpoint) and
checked:

- the row counts of the importer's tables equal those before the import or those after it;
- every row of every table with a ``source_id`` has its ``source`` row;
- no duplicate keys.

Run as a script for a report (``python tests/kill_sweep.py --kills 150``); the test suite
runs it with at least 100 kills per importer (tests/test_kill_sweep.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
DATA = HERE / "data"

#: Tables counted per importer, and its duplicate-key checks (queries returning a count).
TABLES = {
    "france": [
        "territory",
        "person",
        "mandate",
        "membership",
        "adjacency",
        "organisation",
        "body_territory",
        "person_merge",
        "source",
    ],
    "indicators": ["indicator_value", "indicator_definition", "source"],
    "sirene": ["establishment", "legal_unit", "establishment_history", "source"],
    "relations": ["relation", "actor", "source"],
    "bulk": ["bulk_value", "source"],
    "populations": ["indicator_value", "indicator_definition", "source"],
    "officials": ["mandate", "person", "source"],
    "iris": ["indicator_value", "iris", "source"],
    "osm": ["network", "network_node", "network_edge", "source"],
}
DUPLICATES = {
    "france": [
        "SELECT count(*) - count(DISTINCT (level, code)) FROM territory",
        "SELECT count(*) - count(DISTINCT id) FROM person",
    ],
    "indicators": [
        "SELECT count(*) - count(DISTINCT (level, code, indicator, period)) FROM indicator_value"
    ],
    "sirene": ["SELECT count(*) - count(DISTINCT siret) FROM establishment"],
    "relations": [
        "SELECT count(*) - count(DISTINCT (source_actor, target_actor, type)) FROM relation",
        "SELECT count(*) - count(DISTINCT id) FROM actor",
    ],
    "bulk": ["SELECT count(*) - count(DISTINCT id) FROM bulk_value"],
    "populations": [
        "SELECT count(*) - count(DISTINCT (level, code, indicator, period)) FROM indicator_value"
    ],
    "officials": ["SELECT count(*) - count(DISTINCT id) FROM person"],
    "iris": [
        "SELECT count(*) - count(DISTINCT (level, code, indicator, period)) FROM indicator_value"
    ],
    "osm": [
        "SELECT count(*) - count(DISTINCT (network_id, edge)) FROM network_edge",
        "SELECT count(*) - count(DISTINCT (network_id, node)) FROM network_node",
        "SELECT count(*) - count(DISTINCT name) FROM network",
    ],
}


# ------------------------------------------------------------------------------ the child


def _run_import(importer: str, db: str, inputs: dict[str, Any]) -> None:
    from territoria.kb import connect

    con = connect(Path(db))
    if importer == "france":
        from territoria.sources.france import import_france

        import_france(con, origin=Path(inputs["origin"]))
    elif importer == "indicators":
        from territoria.sources.indicators import import_indicators

        import_indicators(
            con,
            Path(inputs["path"]),
            source_name="kill sweep",
            publisher="Territoria tests",
            licence="CC0",
            synthetic=True,
        )
    elif importer == "sirene":
        from territoria.sources.sirene import import_sirene

        folder = Path(inputs["folder"])
        import_sirene(
            con,
            establishments=folder / "StockEtablissement_utf8.csv",
            legal_units=folder / "StockUniteLegale_utf8.csv",
            geolocation=folder
            / "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv",
            history=folder / "StockEtablissementHistorique_utf8.csv",
        )
    elif importer == "relations":
        from territoria.influence.relations import import_relations

        import_relations(con, Path(inputs["path"]), source_name="kill sweep")
    elif importer == "bulk":
        _bulk_swap(con, int(inputs["rows"]))
    elif importer == "populations":
        from territoria.sources.populations import import_populations

        import_populations(con, origins=[Path(p) for p in inputs["origins"]])
    elif importer == "officials":
        from territoria.sources.officials import import_officials

        import_officials(con, Path(inputs["path"]), repair=True)
    elif importer == "iris":
        from territoria.sources.iris import import_iris

        import_iris(con, origin=Path(inputs["path"]))
    elif importer == "osm":
        from territoria.sources.osm import import_osm

        import_osm(con, Path(inputs["path"]), name="kill-sweep")
    con.close()


def _bulk_swap(con: Any, rows: int) -> None:
    """The swap every importer ends with, reduced to its core and made large: delete the
    previous source's rows and source row, insert the new ones, in one transaction (the
    shape that tears most often with DuckDB 1.5.5 alone: run with --baseline)."""
    from territoria.kb import transaction

    con.execute(
        "CREATE TABLE IF NOT EXISTS bulk_value (id BIGINT, value DOUBLE, source_id INTEGER)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE bulk_new AS SELECT range AS id, random() AS value "
        f"FROM range({rows})"
    )
    with transaction(con):
        old = con.execute("SELECT id FROM source WHERE name = 'kill sweep bulk'").fetchall()
        con.execute("DELETE FROM bulk_value")
        con.execute("DELETE FROM source WHERE name = 'kill sweep bulk'")
        sid = con.execute(
            "INSERT INTO source (name, dataset, publisher, licence, retrieved_at, synthetic) "
            "VALUES ('kill sweep bulk', ?, 'Territoria tests', 'CC0', now(), true) RETURNING id",
            [f"{rows} rows after {len(old)}"],
        ).fetchone()[0]
        con.execute(f"INSERT INTO bulk_value SELECT id, value, {int(sid)} FROM bulk_new")


def _without_recovery() -> None:
    """Baseline: DuckDB alone (no generation counter, no recovery of the log at open)."""
    import territoria.kb._connection as connection
    import territoria.kb._transaction as transaction

    connection.recover = lambda _path: None  # type: ignore[assignment]
    transaction._bump = lambda _con: None  # type: ignore[assignment]


def zygote() -> None:
    """Read one JSON command per line; fork a child per import; report pid and status."""
    if os.environ.get("TERRITORIA_SWEEP_BASELINE"):
        _without_recovery()
    import territoria.influence.relations
    import territoria.kb
    import territoria.sources.france
    import territoria.sources.indicators
    import territoria.sources.sirene  # noqa: F401

    for line in sys.stdin:
        command = json.loads(line)
        pid = os.fork()
        if pid == 0:
            from territoria.kb import _transaction

            # tell the sweep when the commit starts, so that it can aim kills at it
            _transaction.BEFORE_COMMIT.append(lambda: os.write(1, b'{"commit": true}\n'))
            code = 0
            try:
                _run_import(command["importer"], command["db"], command["inputs"])
            except BaseException as exc:  # reported, never silently ignored
                sys.stderr.write(f"import failed: {exc!r}\n")
                code = 1
            finally:
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"status": status}), flush=True)


# ------------------------------------------------------------------------------ the parent


@dataclass
class SweepReport:
    """What a sweep did and found."""

    importer: str
    kills: int = 0
    completed: int = 0
    previous_state: int = 0
    new_state: int = 0
    recovered_logs: int = 0
    torn_blocks: int = 0
    violations: list[str] = field(default_factory=list)
    run_seconds: float = 0.0
    commit_seconds: float = 0.0


class Zygote:
    """The forking helper process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "TERRITORIA_QUIET": "1"},
        )

    def run(
        self, command: dict[str, Any], kill_after: float | None, *, aim: int = 0
    ) -> tuple[int, int, float | None]:
        """Start one import; SIGKILL it ``kill_after`` s after its start (``aim`` > 0: after
        the start of its ``aim``-th commit); return its wait status, the number of commits it
        started and the seconds from the start of its last commit to its end."""
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        pid = json.loads(self.proc.stdout.readline())["pid"]
        commits, last = 0, None
        if kill_after is not None:
            while commits < aim:
                message = json.loads(self.proc.stdout.readline())
                if "status" in message:  # ended before that commit
                    return int(message["status"]), commits, None
                commits, last = commits + 1, time.perf_counter()
            time.sleep(kill_after)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        while True:
            message = json.loads(self.proc.stdout.readline())
            if "commit" in message:
                commits, last = commits + 1, time.perf_counter()
                continue
            window = time.perf_counter() - last if last is not None else None
            return int(message["status"]), commits, window

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def state(db: Path, importer: str) -> tuple[dict[str, int], list[str], bool, int]:
    """Open the knowledge base as a command would; return counts, violations, whether a log
    already checkpointed was set aside, and the number of torn metadata blocks repaired."""
    import duckdb

    from territoria.kb import connect

    wal = db.with_name(db.name + ".wal")
    had_log = wal.exists()
    con = connect(db)
    try:
        counts = {
            t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in TABLES[importer]
        }  # type: ignore[index]
        problems = []
        for query in DUPLICATES[importer]:
            n = int(con.execute(query).fetchone()[0])  # type: ignore[index]
            if n:
                problems.append(f"{n} duplicate key(s): {query}")
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.columns WHERE column_name = 'source_id' "
                "AND table_schema = 'main' AND table_name IN "
                "(SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE')"
            ).fetchall()
        ]
        for table in tables:
            n = int(
                con.execute(
                    f"SELECT count(*) FROM {table} WHERE source_id IS NOT NULL "
                    "AND source_id NOT IN (SELECT id FROM source)"
                ).fetchone()[0]  # type: ignore[index]
            )
            if n:
                problems.append(f"{n} row(s) of {table} without their source")
    except duckdb.Error as exc:
        return {}, [f"knowledge base unreadable: {exc}"], False, 0
    finally:
        con.close()
    recovered = had_log and any(db.parent.glob(db.name + ".wal.discarded-*"))
    for stale in db.parent.glob(db.name + ".wal.discarded-*"):
        stale.unlink()
    torn = 0
    for record in db.parent.glob(db.name + ".torn-*.json"):  # torn metadata blocks repaired
        torn += len(json.loads(record.read_text(encoding="utf-8")))
        record.unlink()
    return counts, problems, recovered, torn


def sweep(
    importer: str,
    db: Path,
    inputs: list[dict[str, Any]],
    *,
    kills: int,
    zygote_proc: Zygote,
    seed: int = 0,
) -> SweepReport:
    """Alternate imports of ``inputs`` into ``db``, killing ``kills`` of them."""
    report = SweepReport(importer)
    rng = random.Random(seed)
    expected: list[dict[str, int]] = []
    # calibrate: the duration of a complete run, and the counts each input gives
    durations, windows, commits = [], [], []
    for item in inputs:
        start = time.perf_counter()
        status, n_commits, window = zygote_proc.run(
            {"importer": importer, "db": str(db), "inputs": item}, None
        )
        durations.append(time.perf_counter() - start)
        windows.append(window or 0.05)
        commits.append(n_commits)
        if status != 0:
            raise RuntimeError(f"calibration import of {importer} failed (status {status})")
        counts, problems, _, _ = state(db, importer)
        assert not problems, problems
        expected.append(counts)
    report.run_seconds = max(durations)
    report.commit_seconds = max(windows)
    current = len(inputs) - 1
    for k in range(kills):
        target = (current + 1) % len(inputs)
        # one kill in two spread over the whole run, the other aimed at the window from the
        # start of the last commit to the end of the run (commit, checkpoint, close)
        aim = commits[target] if k % 2 == 0 else 0
        span = report.commit_seconds if aim else report.run_seconds
        delay = rng.uniform(0, 1.2 * span)
        status, _, _ = zygote_proc.run(
            {"importer": importer, "db": str(db), "inputs": inputs[target]}, delay, aim=aim
        )
        report.kills += 1
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            report.completed += 1
        counts, problems, recovered, torn = state(db, importer)
        report.recovered_logs += int(recovered)
        report.torn_blocks += torn
        for problem in problems:
            report.violations.append(f"kill {k} after {delay:.3f} s: {problem}")
        if counts == expected[target]:
            report.new_state += 1
            current = target
        elif counts == expected[current]:
            report.previous_state += 1
        else:
            report.violations.append(
                f"kill {k} after {delay:.3f} s: counts {counts} are neither the previous "
                f"{expected[current]} nor the new {expected[target]}"
            )
            current = target  # go on from whatever is there
            expected[target] = counts
    return report


# ------------------------------------------------------------------------------ inputs


def prepare(folder: Path, mini_db: Path) -> dict[str, tuple[Path, list[dict[str, Any]]]]:
    """Build the knowledge base copies and the two inputs of each importer."""
    from territoria.kb import connect
    from territoria.synth import synth_sirene

    folder.mkdir(parents=True, exist_ok=True)
    plans: dict[str, tuple[Path, list[dict[str, Any]]]] = {}
    france_db = folder / "france.duckdb"
    plans["france"] = (france_db, [{"origin": str(DATA / "data_france_mini")}])
    base = {}
    for name in ("indicators", "sirene", "relations"):
        base[name] = folder / f"{name}.duckdb"
        shutil.copyfile(mini_db, base[name])
    con = connect(base["indicators"], read_only=True)
    communes = [
        r[0] for r in con.execute("SELECT code FROM territory WHERE level = 'commune'").fetchall()
    ]
    persons = [r[0] for r in con.execute("SELECT id FROM person ORDER BY id").fetchall()]
    con.close()
    ind = []
    for label, n_ind in (("a", 120), ("b", 90)):
        path = folder / f"indicators_{label}.csv"
        with path.open("w", encoding="utf-8") as out:
            out.write("territory_code,indicator,period,value,unit\n")
            for i in range(n_ind):
                for code in communes:
                    for year in range(1960, 2020):
                        out.write(f"{code},IND_{i:03d},{year},{(i * 7 + year) % 997}.5,u\n")
        ind.append({"path": str(path)})
    plans["indicators"] = (base["indicators"], ind)
    rng = random.Random(3)
    rel = []
    for label, n_rel in (("a", 60_000), ("b", 40_000)):
        path = folder / f"relations_{label}.csv"
        pairs = set()
        while len(pairs) < n_rel:
            a, b = rng.sample(persons, 2)
            pairs.add((a, b))
        with path.open("w", encoding="utf-8") as out:
            out.write("source_actor,target_actor,type,strength\n")
            for a, b in sorted(pairs):
                out.write(f"{a},{b},works_with,0.4\n")
        rel.append({"path": str(path)})
    plans["relations"] = (base["relations"], rel)
    sir = []
    con = connect(base["sirene"])
    for seed, rows in ((1, 40_000), (2, 25_000)):
        out_dir = folder / f"sirene_{seed}"
        synth_sirene(con, out_dir, seed=seed, rows=rows, planted=3)
        sir.append({"folder": str(out_dir)})
    con.close()
    plans["sirene"] = (base["sirene"], sir)
    bulk = folder / "bulk.duckdb"
    shutil.copyfile(mini_db, bulk)
    plans["bulk"] = (bulk, [{"rows": 2_000_000}, {"rows": 1_500_000}])
    populations = folder / "populations.duckdb"
    shutil.copyfile(mini_db, populations)
    editions = sorted((DATA / "decoupage_mini").glob("*.tgz"))
    plans["populations"] = (
        populations,
        [{"origins": [str(e) for e in editions]}, {"origins": [str(editions[-1])]}],
    )
    officials = folder / "officials.duckdb"
    shutil.copyfile(mini_db, officials)
    plans["officials"] = (
        officials,
        [{"path": str(DATA / "rne" / "elus-conseillers-departementaux-cd.csv")}],
    )
    iris = folder / "iris.duckdb"
    shutil.copyfile(mini_db, iris)
    plans["iris"] = (iris, [{"path": str(DATA / "iris" / "iris_2021_mini.parquet")}])
    from territoria.synth.roads import synth_roads

    osm = folder / "osm.duckdb"
    shutil.copyfile(mini_db, osm)
    con = connect(osm, read_only=True)
    pbfs = []
    for seed, streets in ((1, 3), (2, 0)):  # two synthetic networks of different sizes
        pbf = folder / f"roads_{seed}.osm.pbf"
        synth_roads(con, "35", pbf, seed=seed, streets=streets)
        pbfs.append({"path": str(pbf)})
    con.close()
    plans["osm"] = (osm, pbfs)
    return plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zygote", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kills", type=int, default=120, help="kills per importer")
    parser.add_argument("--importers", default="bulk,france,indicators,sirene,relations")
    parser.add_argument("--folder", type=Path, default=Path("/tmp/territoria-kill-sweep"))
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="open the knowledge base as DuckDB alone does, without Territoria's recovery "
        "(shows what the recovery prevents)",
    )
    args = parser.parse_args()
    if args.zygote:
        zygote()
        return
    sys.path.insert(0, str(HERE.parent / "src"))
    from territoria.kb import connect
    from territoria.sources.france import import_france

    args.folder.mkdir(parents=True, exist_ok=True)
    mini = args.folder / "mini.duckdb"
    if not mini.exists():
        con = connect(mini)
        import_france(con, origin=DATA / "data_france_mini")
        con.close()
    plans = prepare(args.folder, mini)
    if args.baseline:
        os.environ["TERRITORIA_SWEEP_BASELINE"] = "1"
        _without_recovery()
    z = Zygote()
    print(
        f"{'importer':<11} {'kills':>5} {'done':>5} {'previous':>8} {'new':>5} "
        f"{'recovered':>9} {'torn':>4} {'run s':>6} {'commit s':>8}  violations"
    )
    failed = False
    try:
        for importer in args.importers.split(","):
            db, inputs = plans[importer]
            r = sweep(importer, db, inputs, kills=args.kills, zygote_proc=z)
            failed |= bool(r.violations)
            print(
                f"{r.importer:<11} {r.kills:>5} {r.completed:>5} {r.previous_state:>8} "
                f"{r.new_state:>5} {r.recovered_logs:>9} {r.torn_blocks:>4} {r.run_seconds:>6.2f} "
                f"{r.commit_seconds:>8.3f}  {len(r.violations)}",
                flush=True,
            )
            for v in r.violations[:10]:
                print("   ", v)
    finally:
        z.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
