"""kill -9 aimed at the commit of a 2-million-row swap: DuckDB alone vs Territoria's write path.

Each run replaces the rows of one source by 2,000,000 new ones in one transaction (the shape of
every importer's swap) and is killed 0-90 ms after its COMMIT starts (the commit, the
checkpoint it triggers and the close take about that long). After each kill the file is
opened -- by DuckDB alone, or by ``territoria.kb.connect`` with the generation counter that
``kb.transaction`` keeps -- and checked: 2,000,000 rows, no duplicate id, every row's source
present. A torn file is counted and rebuilt; a file that no longer opens is counted too.

    python benchmarks/bench_kill_commit.py --kills 100
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import sys
import duckdb
path, mode = sys.argv[1], sys.argv[2]
if mode == "territoria":
    from territoria.kb import _transaction, connect
    con = connect(path)
else:
    con = duckdb.connect(path)
con.execute("CREATE TABLE IF NOT EXISTS bsource (id INTEGER PRIMARY KEY)")
con.execute("CREATE TABLE IF NOT EXISTS bvalue (id BIGINT, src INTEGER, v DOUBLE)")
new = (con.execute("SELECT max(id) FROM bsource").fetchone()[0] or 0) + 1
con.execute("CREATE TEMP TABLE n AS SELECT range AS id, random() AS v FROM range(2000000)")
def body():
    con.execute("DELETE FROM bvalue")
    con.execute("DELETE FROM bsource")
    con.execute(f"INSERT INTO bsource VALUES ({new})")
    con.execute(f"INSERT INTO bvalue SELECT id, {new}, v FROM n")
if mode == "territoria":
    _transaction.BEFORE_COMMIT.append(lambda: print("COMMIT", flush=True))
    with _transaction.transaction(con):
        body()
else:
    con.execute("BEGIN TRANSACTION")
    body()
    print("COMMIT", flush=True)
    con.execute("COMMIT")
con.close()
"""

CHECK = (
    "SELECT count(*), count(DISTINCT id), (SELECT count(*) FROM bsource), "
    "count(*) FILTER (WHERE src NOT IN (SELECT id FROM bsource)) FROM bvalue"
)


def _open(path: Path, mode: str):  # type: ignore[no-untyped-def]
    import duckdb

    if mode == "territoria":
        from territoria.kb import connect

        return connect(path)
    return duckdb.connect(str(path))


def sweep(mode: str, kills: int, folder: Path, seed: int) -> dict[str, float]:
    import duckdb

    path = folder / f"{mode}.duckdb"
    for stale in folder.glob(f"{mode}.duckdb*"):
        stale.unlink()
    subprocess.run([sys.executable, "-c", CHILD, str(path), mode], check=True, capture_output=True)
    rng = random.Random(seed)
    torn = unopenable = completed = 0
    start = time.perf_counter()
    for _ in range(kills):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), mode], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        child.stdout.readline()  # COMMIT starts
        time.sleep(rng.uniform(0, 0.09))
        child.kill()
        completed += int(child.wait() == 0)
        try:
            con = _open(path, mode)
            rows, ids, sources, orphans = con.execute(CHECK).fetchone()
            con.close()
            if not (rows == ids == 2_000_000 and sources == 1 and orphans == 0):
                torn += 1
                raise duckdb.Error("torn")
        except duckdb.Error as exc:
            unopenable += int("torn" not in str(exc))
            for stale in folder.glob(f"{mode}.duckdb*"):
                stale.unlink()  # start again from a sound file
            subprocess.run(
                [sys.executable, "-c", CHILD, str(path), mode], check=True, capture_output=True
            )
    return {
        "kills": kills,
        "completed": completed,
        "torn": torn,
        "unopenable": unopenable,
        "seconds": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="territoria-kill-commit-") as tmp:
        rows = [(m, sweep(m, args.kills, Path(tmp), 1)) for m in ("duckdb", "territoria")]
    print(
        f"{'write path':<12} {'kills':>5} {'completed':>9} {'torn':>5} {'unopenable':>10} {'s':>6}"
    )
    for mode, r in rows:
        print(
            f"{mode:<12} {r['kills']:>5} {r['completed']:>9} {r['torn']:>5} "
            f"{r['unopenable']:>10} {r['seconds']:>6.0f}"
        )


if __name__ == "__main__":
    main()
